"""What fine-tuning from a vineyard model buys on a new vineyard, and what more labels buy.

    python benchmarks/finetune.py camera [--cameras ...] [--ks 1 2 4] [--seeds 0 1] [--minutes 5]
        For each camera of ../shared/data/agrocam-vine in turn: a starting model trained on
        the two other cameras (--base-minutes), then k labelled photos of the held-out
        camera, trained for --minutes from that model (`--init`) and from ImageNet
        (`--recipe cpu`), scored on the camera's other photos; beside them the model trained
        on all cameras (the two others and the same k photos, --base-minutes from ImageNet)
        for each k of --reference-ks (2 by default: the issue's target).
    python benchmarks/finetune.py curve [--counts 4 8 12 17] [--seeds 0 1] [--minutes 20]
        The learning curve: `--recipe cpu` on n of the 17 training photos of
        benchmarks/quality.py's date split, scored on its validation dates.

Runs already finished with the same settings and photos are reused (delete
runs/bench_finetune/NAME to train one again). Budgets are minutes of a real 2-core AVX2
laptop, turned into the number of epochs that laptop trains in them
(`common.laptop_epochs`): every run is the same on any CPU, and another job sharing the
CPU only makes it slower. Every figure is a validation mIoU at full resolution.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from common import AGROCAM, ROOT, laptop_epochs, machine, require
from quality import CLASSES, date_split

from vitiseg.config import TrainConfig
from vitiseg.data.layout import Pair, find_pairs
from vitiseg.data.split import read_split, write_split
from vitiseg.run import Run
from vitiseg.training.recipes import recipe_settings

OUT = ROOT / "runs" / "bench_finetune"
CAMERAS = ("4j7g2wk9", "79bt3wkh", "7s3a5abm")


def train(
    name: str, train_pairs: list[Pair], minutes: float, seed: int, init: str | None = None
) -> Path:
    """`--recipe cpu` (or fine-tuning from ``init``) on ``train_pairs`` for the epochs a laptop
    trains in ``minutes``; up to two of its own photos stand as validation (training needs one),
    so the exported model is the epoch best on photos it trains on: near the last one."""
    from vitiseg.training.fit import train as fit

    split = OUT / f"{name}.csv"
    OUT.mkdir(parents=True, exist_ok=True)
    shown = train_pairs[:2]
    write_split(split, {"train": train_pairs, "valid": shown, "test": []}, AGROCAM / "labeled")
    settings = recipe_settings("cpu")
    epochs = laptop_epochs(minutes, len(train_pairs), len(shown), settings)
    settings |= {"max_time": None, "epochs": epochs, "seed": seed, "init": init}
    if init:  # its weights replace ImageNet's, as the run's config.yaml records
        settings["encoder_weights"] = "none"
    config = TrainConfig(
        name=name, directory=str(AGROCAM / "labeled"), output=str(OUT), classes=5,
        class_names=CLASSES.split(","), split=str(split), **settings,
    )  # fmt: skip
    if finished(OUT / name, config, split):
        print(f"{name}: reusing the finished run of the same settings", flush=True)
        return OUT / name
    return fit(config, overwrite=True).root


def finished(root: Path, config: TrainConfig, split: Path) -> bool:
    """True if ``root`` holds a run of ``config`` on the photos of ``split`` that trained
    all its epochs (an interrupted table is picked up where it stopped)."""
    if not (root / "model.safetensors").exists():
        return False
    run = Run.open(root)
    return (
        run.config == config
        and run.split_file.read_text() == split.read_text()
        and len(json.loads(run.history.read_text())) == config.epochs
    )


def score(run: Path, pairs: list[Pair]) -> float:
    """Mean IoU of the run's exported model on ``pairs``."""
    from vitiseg.config import InferenceOptions
    from vitiseg.evaluate import EvaluateOptions, evaluate

    summary = evaluate(run, pairs, run / "scored", Run.open(run).config.name, None,
                       EvaluateOptions(overlays=False), InferenceOptions())  # fmt: skip
    return summary["mean"]["IoU"]


def camera_table(args: argparse.Namespace) -> None:
    pairs = find_pairs(AGROCAM / "labeled", None, None)
    rows = []
    for camera in args.cameras:
        others = [p for p in pairs if not p.name.startswith(camera)]
        own = [p for p in pairs if p.name.startswith(camera)]
        base = train(f"base-no-{camera}", others, args.base_minutes, 0)
        for seed in args.seeds:
            for k in args.ks:
                labelled = random.Random(seed).sample(own, k)
                scored = [p for p in own if p not in labelled]
                tuned = train(f"{camera}-k{k}-s{seed}-init", labelled, args.minutes, seed, str(base))  # fmt: skip
                scratch = train(f"{camera}-k{k}-s{seed}-imagenet", labelled, args.minutes, seed)  # fmt: skip
                every = None
                if k in args.reference_ks:
                    run = train(f"{camera}-k{k}-s{seed}-all", others + labelled, args.base_minutes, seed)  # fmt: skip
                    every = score(run, scored)
                rows.append((camera, k, seed, score(base, scored), score(tuned, scored),
                             score(scratch, scored), every))  # fmt: skip
                print(rows[-1], flush=True)
    print(f"\n{machine()}; fine-tuning {args.minutes:g}, base and all-camera models {args.base_minutes:g} laptop-minutes")  # fmt: skip
    print(
        f"{'camera':10}{'k':>3}{'seed':>5}{'base alone':>11}{'from base':>10}{'ImageNet':>9}{'all cameras':>12}{'ratio':>7}"
    )
    for camera, k, seed, base, tuned, scratch, every in rows:
        reference = (
            f"{every:12.3f}{tuned / every:7.2f}" if every is not None else f"{'-':>12}{'-':>7}"
        )
        print(f"{camera:10}{k:3d}{seed:5d}{base:11.3f}{tuned:10.3f}{scratch:9.3f}{reference}")


def learning_curve(args: argparse.Namespace) -> None:
    split = read_split(date_split(OUT), AGROCAM / "labeled")
    rows = []
    for count in args.counts:
        for seed in args.seeds:
            chosen = random.Random(seed).sample(split["train"], count)
            run = train(f"curve-n{count}-s{seed}", chosen, args.minutes, seed)
            epochs = len(json.loads(Run.open(run).history.read_text()))
            rows.append((count, seed, epochs, score(run, split["valid"])))
            print(rows[-1], flush=True)
    print(f"\n{machine()}; {args.minutes:g} laptop-minutes")
    print(f"{'photos':>6}{'seed':>5}{'epochs':>7}{'mIoU':>7}")
    for count, seed, epochs, miou in rows:
        print(f"{count:6d}{seed:5d}{epochs:7d}{miou:7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("table", choices=("camera", "curve"))
    parser.add_argument("--cameras", nargs="+", choices=CAMERAS, default=list(CAMERAS))
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--reference-ks", type=int, nargs="*", default=[2],
        help="the k for which the all-camera model is trained too (20 minutes each)",
    )  # fmt: skip
    parser.add_argument("--counts", type=int, nargs="+", default=[4, 8, 12, 17])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--minutes", type=float, default=None, help="fine-tuning (5) or curve (20) budget"
    )
    parser.add_argument("--base-minutes", type=float, default=20.0)
    args = parser.parse_args()
    require(AGROCAM / "labeled")
    if args.table == "camera":
        args.minutes = args.minutes or 5.0
        camera_table(args)
    else:
        args.minutes = args.minutes or 20.0
        learning_curve(args)


if __name__ == "__main__":
    main()
