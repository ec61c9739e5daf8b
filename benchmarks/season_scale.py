"""Time and memory of `vitiseg season`'s summary on a large generated network.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=100)
    parser.add_argument("--per-day", type=int, default=10)
    parser.add_argument("--days", type=int, default=200)
    args = parser.parse_args()
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
