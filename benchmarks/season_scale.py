"""Time and memory of `vitiseg season`: end to end on real photos, and its summary on a
large generated network.

With --photos (default: the shared field photos), `vitiseg season PHOTOS --model M` runs
end to end in a fresh output folder and prints photos/s, then each stage of it on the same
photos, one after another in this process: decode, resize to the model's scale,
inference, classes at the photo's size (logits resized along class edges), traits, mask PNG writes, overlay
JPEG writes (predict writes them; season does not), the photo checks (thumbnails read
again), the table and the season summary.

    python benchmarks/season_scale.py --photos [DIR ...] [--model vineyard] [--repeat 2]

100 cameras x 10 photos a day x 200 days = 200,000 photo rows (traits following a
logistic green-up with noise, quality measures with about 3 % bad photos) go through what
`vitiseg season` does after reading canopy.csv: cameras and days from the file names, the
quality decisions, daily medians, smoothing splines and transition dates. Reading the
photos' thumbnails for the quality measures is not part of it (it is per photo, about
as costly as decoding a JPEG at an eighth of its size).

    python benchmarks/season_scale.py [--cameras 100 --per-day 10 --days 200]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vitiseg import season
from vitiseg.canopy import season_curves


def generate(cameras: int, per_day: int, days: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = cameras * per_day * days
    camera = np.repeat(np.arange(cameras), per_day * days)
    day = np.tile(np.repeat(np.arange(days), per_day), cameras)
    hour = np.tile(np.arange(per_day), cameras * days) + 8
    start = pd.Timestamp("2024-03-15")
    when = start + pd.to_timedelta(day, unit="D") + pd.to_timedelta(hour, unit="h")
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S")
    files = [
        f"/photos/cam{c:03d}_{s[:10]}_{s[11:13]}0000.jpg"
        for c, s in zip(camera, stamp, strict=True)
    ]
    middle = rng.uniform(50, 90, cameras)[camera]
    green = 1 / (1 + np.exp(-(day - middle) / 10))
    table = pd.DataFrame({"file": files, "datetime": stamp})
    noise = lambda scale: rng.normal(0, scale, n)  # noqa: E731
    table["leaf_cover"] = np.clip(0.05 + 0.5 * green + noise(0.02), 0, 1)
    table["lai_estimate"] = -np.log(1 - table["leaf_cover"]) / 0.7
    table["canopy_height"] = 0.1 + 0.4 * green + noise(0.02)
    table["porosity"] = 0.5 - 0.4 * green + noise(0.02)
    table["leaf_hue"] = (70 + 40 * green + noise(3)) % 360
    table["inter_row_hue"] = (30 + noise(20)) % 360
    table["leaf_gcc"] = 0.38 + 0.06 * green + noise(0.005)
    table["leaf_gcc_p90"] = table["leaf_gcc"] + 0.05
    table["porosity_rule"] = "pipe"
    table["brightness"] = np.where(rng.random(n) < 0.01, 20.0, 120.0)
    table["overexposed"] = np.where(rng.random(n) < 0.01, 0.5, 0.01)
    table["sharpness"] = np.where(rng.random(n) < 0.01, 10.0, 400.0)
    table["shift"] = np.where(rng.random(n) < 0.005, 0.3, 0.0)
    return table


def end_to_end(photos: list[str], model: str, repeat: int) -> None:
    """`vitiseg season PHOTOS --model M` in a fresh folder (photos linked ``repeat`` times
    under other dates, for a longer run), then a profile of its stages."""
    import shutil
    import tempfile

    from common import machine

    from vitiseg.cli import main as vitiseg

    work = Path(tempfile.mkdtemp(prefix="season_scale."))
    files = []
    for folder in photos:
        files += sorted(p for p in Path(folder).glob("*.jpg"))
    for copy in range(repeat):
        for path in files:
            name = path.name if not copy else path.name.replace("_2024-", f"_{2024 + copy}-", 1)
            (work / "photos").mkdir(exist_ok=True)
            (work / "photos" / name).symlink_to(path.resolve())
    n = len(files) * repeat
    started = time.perf_counter()
    code = vitiseg(["season", str(work / "photos"), "--model", model, "-o", str(work / "S")])
    seconds = time.perf_counter() - started
    print(f"\n{machine()}")
    print(f"end to end: `vitiseg season` on {n} full-HD photos: {seconds:.1f} s, "
          f"{n / seconds:.2f} photos/s (exit {code})")  # fmt: skip
    profile(files, model, work)
    shutil.rmtree(work, ignore_errors=True)


def profile(files: list, model_path: str, work) -> None:
    """Each stage of predict + season on ``files``, timed on its own."""
    import torch
    from PIL import Image

    from vitiseg.canopy.row import canopy_row
    from vitiseg.data.dataset import rescale
    from vitiseg.data.imageio import decode_image
    from vitiseg.data.photo_quality import measure_quality
    from vitiseg.engine.loaded import Model
    from vitiseg.engine.tiling import upsampled_classes
    from vitiseg.predict import _save
    from vitiseg.report.overlay import overlay, palette_png

    model = Model(model_path)
    stages: dict[str, float] = {}

    def timed(name, function, items):
        started = time.perf_counter()
        out = [function(item) for item in items]
        stages[name] = time.perf_counter() - started
        return out

    images = timed("decode JPEG", lambda f: decode_image(f)[0], files)
    scaled = timed(
        "resize to the model's scale", lambda i: rescale(i, None, model.info.scale)[0], images
    )
    predictor = model.predictor
    with torch.inference_mode():
        bands = timed(
            "inference (network)", lambda s: list(predictor.predict_logits_rows(s)), scaled
        )

    def to_photo_size(item):
        (image, small), rows = item
        mask = np.empty(image.shape[:2], np.uint8)
        for top, classes in upsampled_classes(iter(rows), small.shape[:2], image.shape[:2]):
            mask[top : top + classes.shape[0]] = classes.numpy()
        return mask

    masks = timed("classes at the photo's size", to_photo_size, list(zip(zip(images, scaled, strict=True), bands, strict=True)))  # fmt: skip
    del bands
    pairs = list(zip(files, masks, images, strict=True))
    timed("traits (canopy row)", lambda p: canopy_row(p[0], p[1], p[2], model.roles, model.class_names, model.k), pairs)  # fmt: skip
    out = work / "profile"
    out.mkdir(exist_ok=True)
    timed("mask PNG write", lambda p: _save(palette_png(p[1], model.classes), out / f"{p[0].stem}.png", "PNG"), pairs)  # fmt: skip
    timed("overlay JPEG write (predict only)", lambda p: _save(Image.fromarray(overlay(p[2], p[1], model.classes)), out / f"{p[0].stem}.jpg", "JPEG"), pairs)  # fmt: skip
    series = pd.Series([str(f) for f in files])
    started = time.perf_counter()
    measure_quality(series, pd.Series(["c"] * len(files)), pd.Series(range(len(files))))
    stages["photo checks (thumbnails read again)"] = time.perf_counter() - started
    n = len(files)
    total = sum(stages.values())
    print(f"profile, one stage after another on {n} photos (s per photo, share of the sum):")
    for name, seconds in stages.items():
        print(f"  {name:<40}{seconds / n:8.3f}{seconds / total:8.0%}")
    print(f"  {'sum':<40}{total / n:8.3f}  ({n / total:.2f} photos/s one stage at a time)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cameras", type=int, default=100)
    parser.add_argument("--per-day", type=int, default=10)
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--photos", nargs="*", help="end to end on these folders' photos (default: the shared field photos)")  # fmt: skip
    parser.add_argument("--model", default="vineyard", help="model for --photos (default: the bundled one)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1, help="with --photos: each photo this many times, under other years")  # fmt: skip
    args = parser.parse_args()
    if args.photos is not None:
        from common import AGROCAM, require

        folders = args.photos or [str(AGROCAM / "labeled"), str(AGROCAM / "unlabeled")]
        require(*map(Path, folders))
        end_to_end(folders, args.model, args.repeat)
        return
    table = generate(args.cameras, args.per_day, args.days)
    print(
        f"{len(table):,} photo rows, {args.cameras} cameras x {args.per_day} a day x {args.days} days"
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    photos, _ = season.prepare(table, quality_checks=False)
    prepared = time.perf_counter()
    result = season_curves.summarise(photos)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dropped = int((photos["dropped"] != "").sum())
    print(f"prepare (cameras, days, quality decisions): {prepared - started:.2f} s")
    print(f"summarise (daily medians, splines, transitions): {done - prepared:.2f} s")
    print(
        f"total {done - started:.2f} s; peak memory (RSS) {peak:.0f} MiB, {peak - before:.0f} MiB above the {before:.0f} MiB held before"
    )
    print(f"{dropped:,} photos dropped; season.csv {len(result.season):,} rows; "
          f"{len(result.transitions)} transition dates")  # fmt: skip


if __name__ == "__main__":
    main()
