"""`vitiseg evaluate`: score a model on photos with true masks."""

from __future__ import annotations

import argparse
from pathlib import Path

from vitiseg.cli.inference import add_canopy_options, add_inference_options, inference_options
from vitiseg.config import TrainConfig
from vitiseg.errors import VitisegError


def print_summary(summary: dict) -> None:
    print(f"Test images: {summary['images']}")
    for name, figures in summary["per_class"].items():
        iou = figures["IoU"]
        print(f"  {name:<16} IoU {'n/a' if iou is None else f'{iou:.3f}'}")
    print(
        f"  mean IoU {summary['mean']['IoU']:.3f}; leaf cover MAE {summary['leaf_cover_mae']:.3f}"
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a trained model on its test split or a folder of photos with masks",
        description="Predict at full resolution and write Test_NAME.csv, summary.json, "
        "confusion.png and overlays in Predictions/NAME/.",
    )
    p.add_argument("run", nargs="?", help="run folder of `vitiseg train` (its test split)")
    p.add_argument(
        "--model", help="exported model (model.safetensors or its folder) instead of a run"
    )
    p.add_argument(
        "-d", "--directory", help="score every NAME.jpg + NAME_bin.png pair of this folder"
    )
    p.add_argument(
        "--mask-suffix", default=None, help="mask name = photo name + suffix (default: detected)"
    )
    p.add_argument("-o", "--output", help="where to write (default: the run folder)")
    p.add_argument("-n", "--name", help="name used in Test_NAME.csv (default: the run's)")
    p.add_argument("--class-map", help="raw mask value i becomes class MAP[i] (default: the run's)")
    add_canopy_options(p)
    p.add_argument(
        "--side-by-side", action="store_true", help="overlays show photo | truth | prediction"
    )
    p.add_argument("--no-overlays", action="store_true", help="write no pictures")
    add_inference_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from vitiseg.data.layout import find_pairs
    from vitiseg.data.masks import parse_class_map
    from vitiseg.data.split import read_split
    from vitiseg.evaluate import EvaluateOptions, evaluate
    from vitiseg.model import ModelInfo, resolve_model_dir

    if not args.run and not args.model:
        raise VitisegError("give a run folder, or --model with --directory")
    model_dir = resolve_model_dir(args.model or args.run)
    run_dir = Path(args.run) if args.run else None
    config = (
        TrainConfig.load(run_dir / "config.yaml")
        if run_dir and (run_dir / "config.yaml").is_file()
        else None
    )
    info = ModelInfo.from_json(
        (model_dir / "model.json").read_text(encoding="utf-8"), model_dir / "model.json"
    )
    class_map_text = args.class_map or (config.class_map if config else None)
    class_map = parse_class_map(class_map_text, info.spec.classes)
    if args.directory:
        pairs = find_pairs(args.directory, args.mask_suffix)
    elif config is not None:
        pairs = read_split(run_dir / "split.csv", config.directory)["test"]
    else:
        raise VitisegError("--model needs -d/--directory (photos with masks to score)")
    output = args.output or (run_dir if run_dir else None)
    if output is None:
        raise VitisegError("give -o/--output for the results")
    name = args.name or (config.name if config else model_dir.name)
    options = EvaluateOptions(args.leaf_class, args.k, args.side_by_side, not args.no_overlays)
    summary = evaluate(model_dir, pairs, output, name, class_map, options, inference_options(args))
    print_summary(summary)
    from vitiseg.report.html import report_after

    report_after(output, "evaluate", {"model": str(model_dir), "photos": {p.name: [str(p.image), str(p.mask)] for p in pairs}})  # fmt: skip
    print(f"Results in {output}")
    return 0
