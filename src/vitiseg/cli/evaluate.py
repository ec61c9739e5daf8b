"""`vitiseg evaluate`: score a model on photos with true masks."""

from __future__ import annotations

import argparse

from vitiseg.canopy.roles import roles_note
from vitiseg.cli import model_options as m
from vitiseg.cli import options as o
from vitiseg.cli.inference import (
    add_backend_option,
    add_canopy_options,
    add_inference_options,
    inference_options,
    role_classes,
)
from vitiseg.errors import VitisegError


def print_summary(summary: dict) -> None:
    """Print an evaluation summary: photos, IoU per class, mean IoU, leaf cover MAE, traits."""
    print(f"Test images: {summary['images']}")
    for name, figures in summary["per_class"].items():
        iou = figures["IoU"]
        print(f"  {name:<16} IoU {'n/a' if iou is None else f'{iou:.3f}'}")
    cover_mae = summary["leaf_cover_mae"]
    cover = "" if cover_mae is None else f"; leaf cover MAE {cover_mae:.3f}"
    print(f"  mean IoU {summary['mean']['IoU']:.3f}{cover}")
    if summary.get("traits"):
        from vitiseg.canopy.trait_accuracy import summary_lines  # pandas: not at --help time

        print("Traits, predicted against true masks:", *summary_lines(summary["traits"]), sep="\n")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``vitiseg evaluate`` and its options to the sub-commands."""
    p = sub.add_parser(
        "evaluate",
        help="score a trained model on its test split or a folder of photos with masks",
        description="Predict at full resolution and write Test_NAME.csv, summary.json, "
        "confusion.png and overlays in Predictions/NAME/.",
    )
    p.add_argument(
        "run",
        nargs="?",
        type=o.existing_folder,
        help="run folder of `vitiseg train` (its test split)",
    )
    p.add_argument(
        "--model",
        type=m.model,
        help="exported model (model.safetensors or its folder, a FILE.onnx, or vineyard: the "
        "bundled one) instead of a run",
    )
    add_backend_option(p)
    p.add_argument(
        "-d",
        "--directory",
        type=o.existing_folder,
        help="score every NAME.jpg + NAME_bin.png pair of this folder",
    )
    p.add_argument(
        "--mask-suffix", default=None, help="mask name = photo name + suffix (default: detected)"
    )
    p.add_argument(
        "--mask-dir",
        type=o.existing_folder,
        help="folder of the masks, if not beside the photos (same names are found by themselves)",
    )
    p.add_argument(
        "-o", "--output", type=o.output_folder, help="where to write (default: the run folder)"
    )
    p.add_argument(
        "-n", "--name", type=o.run_name, help="name used in Test_NAME.csv (default: the run's)"
    )
    p.add_argument(
        "--class-map",
        type=o.class_map,
        help="raw mask value i becomes class MAP[i] (default: the run's)",
    )
    add_canopy_options(p)
    p.add_argument(
        "--side-by-side", action="store_true", help="overlays show photo | truth | prediction"
    )
    p.add_argument("--no-overlays", action="store_true", help="write no pictures")
    add_inference_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``vitiseg evaluate``, print its summary and write the report; returns the exit code."""
    from vitiseg.data.layout import find_pairs  # torch (the model, the job): not at --help time
    from vitiseg.data.masks import parse_class_map
    from vitiseg.engine.loaded import Model
    from vitiseg.evaluate import EvaluateOptions, evaluate
    from vitiseg.run import Run

    if not args.run and not args.model:
        raise VitisegError("give a run folder, or --model with --directory")
    run = Run(args.run) if args.run and Run(args.run).config_file.is_file() else None
    model = Model(
        args.model or args.run, inference_options(args), args.leaf_class, args.k,
        role_classes(args), args.backend,
    )  # fmt: skip
    if note := roles_note(model.roles, model.class_names):
        print(f"note: {note}")
    print(f"backend: {model.engine.name} ({model.engine.reason})")
    class_map_text = args.class_map or (run.config.class_map if run else None)
    class_map = parse_class_map(class_map_text, model.classes)
    if args.directory:
        pairs = find_pairs(args.directory, args.mask_suffix, args.mask_dir)
    elif run is not None:
        pairs = run.pairs("test")
    else:
        raise VitisegError("--model needs -d/--directory (photos with masks to score)")
    output = args.output or (run.root if run else None)
    if output is None:
        raise VitisegError("give -o/--output for the results")
    name = args.name or (run.config.name if run else model.directory.name)
    options = EvaluateOptions(side_by_side=args.side_by_side, overlays=not args.no_overlays)
    summary = evaluate(model, pairs, output, name, class_map, options)
    print_summary(summary)
    from vitiseg.report.html import report_after  # pandas, matplotlib: not at --help time

    report_after(output, "evaluate", {"model": str(model.directory), "photos": {p.name: [str(p.image), str(p.mask)] for p in pairs}})  # fmt: skip
    print(f"Results in {output}")
    return 0
