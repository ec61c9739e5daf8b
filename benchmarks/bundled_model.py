"""Build the vineyard model that ships with vitiseg (`make model`), or measure its recipe.

The model: `--recipe cpu`'s network (EfficientNet-Lite0 U-Net from its packaged ImageNet
weights) trained on the labelled photos of ../shared/data/agrocam-vine (5 classes) for a
fixed number of epochs with a fixed seed, so the same command on the same CPU kind gives
the same weights. Its final (EMA) weights are stored in half precision in
src/vitiseg/models/vineyard/ with model.json and card.json (checksum, training facts).

    python benchmarks/bundled_model.py                      # build it (all 25 photos)
    python benchmarks/bundled_model.py --date-split         # the card's validation figure:
        # the same training on benchmarks/quality.py's training dates only, scored on its
        # validation dates (prints the validation mIoU of every epoch)
    python benchmarks/bundled_model.py --date-split --seed 2025   # another seed, beside it
    python benchmarks/bundled_model.py --date-split --learning-rate 5e-4   # another rate, beside it
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import AGROCAM, ROOT, machine, require
from quality import CLASSES, date_split

from vitiseg.config import TrainConfig
from vitiseg.run import Run
from vitiseg.training.recipes import recipe_settings

EPOCHS = 80
SEED = 2024
OUT = ROOT / "runs" / "bundled_model"


def config(
    name: str, split: Path, epochs: int, seed: int, learning_rate: float | None = None
) -> TrainConfig:
    """The CPU recipe, on a fixed number of epochs instead of a time budget (and another
    peak learning rate if given)."""
    settings = recipe_settings("cpu") | {"max_time": None, "epochs": epochs}
    if learning_rate is not None:
        settings["learning_rate"] = learning_rate
    return TrainConfig(
        name=name, directory=str(AGROCAM / "labeled"), output=str(OUT), classes=5,
        class_names=CLASSES.split(","), split=str(split), seed=seed, **settings,
    )  # fmt: skip


def all_photos_split(out: Path) -> Path:
    """Every labelled photo trains; three of them (one per camera) are also 'validated',
    only so that training reports progress: the bundled weights are the last epoch's."""
    from vitiseg.data.layout import find_pairs
    from vitiseg.data.split import write_split

    pairs = find_pairs(AGROCAM / "labeled", None, None)
    shown = [next(p for p in pairs if p.name.startswith(cam)) for cam in ("4j7g", "79bt", "7s3a")]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "all_split.csv"
    write_split(path, {"train": pairs, "valid": shown, "test": []}, AGROCAM / "labeled")
    return path


def store(run: Run, facts: dict) -> Path:
    """Store the run's last (EMA) weights in half precision as the bundled model, with its
    card (checksum, classes, ``facts``) and the date-split model's validation summary (its
    measured trait errors) when ``--date-split`` ran before."""
    import torch
    from safetensors.torch import load_file, save_file

    from vitiseg.engine import bundled
    from vitiseg.engine.network import ModelInfo, build_model, export_model
    from vitiseg.training.fit import checkpoint_weights, model_spec

    config = run.config
    spec = model_spec(config)
    model = build_model(spec)
    model.load_state_dict(checkpoint_weights(run.last))
    info = ModelInfo(spec=spec, class_names=config.names_of_classes, scale=config.scale)
    folder = bundled.FOLDER
    export_model(model, info, folder)
    weights = folder / bundled.WEIGHTS
    half = {k: v.half() if v.is_floating_point() else v for k, v in load_file(weights).items()}
    save_file(half, weights, metadata={"format": "pt"})
    measured = OUT / "date_split" / "valid" / "summary.json"
    if measured.is_file():
        (folder / "summary.json").write_text(measured.read_text())
    else:
        print(f"warning: no {measured}: run --date-split first for the card's trait errors")
    card = {"name": bundled.NAME, "sha256": bundled.sha256(weights), "bytes": weights.stat().st_size,
            "classes": config.names_of_classes, "dtype": str(torch.float16).removeprefix("torch."),
            "data": "agrocam-vine labelled photos (Nicolas Geffroy, MIT): 3 cameras, 2024-04-19 to 2024-07-25",
            "recipe": "cpu", **facts}  # fmt: skip
    (folder / bundled.CARD).write_text(json.dumps(card, indent=2) + "\n")
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="with --date-split: measure another peak rate than the recipe's")  # fmt: skip
    parser.add_argument("--date-split", action="store_true",
                        help="train on the training dates only and score the validation dates")  # fmt: skip
    args = parser.parse_args()
    if args.learning_rate is not None and not args.date_split:
        parser.error("--learning-rate measures a rate on the date split: add --date-split")
    require(AGROCAM / "labeled")
    from vitiseg.training.fit import train

    started = time.monotonic()
    if args.date_split:
        # another seed trains beside the card's run, not over it
        name = "date_split" if args.seed == SEED else f"date_split-seed{args.seed}"
        if args.learning_rate is not None:
            name += f"-lr{args.learning_rate:g}"
        settings = config(name, date_split(OUT), args.epochs, args.seed, args.learning_rate)
        run = train(settings, overwrite=True)
    else:
        run = train(config("all_photos", all_photos_split(OUT), args.epochs, args.seed),
                    overwrite=True)  # fmt: skip
    minutes = (time.monotonic() - started) / 60
    history = json.loads(Run(run.root).history.read_text())
    print(f"\n{machine()}\n{len(history)} epochs in {minutes:.1f} min; validation mIoU by epoch:")
    print(" ".join(f"{sum(row['val']['IoU']) / len(row['val']['IoU']):.3f}" for row in history))
    if args.date_split:
        from quality import score

        for tta in (False, True):
            summary = score(run.root, tta)
            per_class = {k: round(v["IoU"], 3) for k, v in summary["per_class"].items()}
            print(
                f"validation dates{' +TTA' if tta else ''}: mIoU {summary['mean']['IoU']:.3f} {per_class}"
            )
    else:
        facts = {"epochs": len(history), "seed": args.seed, "train_minutes": round(minutes, 1),
                 "cpu": machine(), "photos": len(run.pairs("train"))}  # fmt: skip
        path = store(run, facts)
        print(f"stored {path} ({path.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
