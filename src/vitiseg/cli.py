"""Command line: ``vitiseg train|evaluate|predict|masks|synth``.

Only parses arguments and calls library functions. User mistakes (VitisegError) print one
message and exit with code 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from vitiseg import __version__
from vitiseg.config import LOSSES, PRECISIONS, TrainConfig
from vitiseg.errors import TrainingFault, VitisegError
from vitiseg.quiet import quiet_libraries

S = argparse.SUPPRESS
RESUMABLE = {
    "epochs",
    "max_time",
    "workers",
    "devices",
    "num_nodes",
    "strategy",
    "accelerator",
    "precision",
    "patience",
}
DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}


def _d(name: str) -> str:
    return f" (default: {DEFAULTS[name]})"


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on photos with masks, then evaluate it on the test split",
        description="Train a segmentation model on NAME.jpg + NAME_bin.png pairs (the seed's "
        "train.py options keep their spelling), then score it on the test split.",
    )
    seed = p.add_argument_group("the seed's options")
    seed.add_argument("-n", "--name", default=S, help="model name; the run goes to OUTPUT/NAME")
    seed.add_argument("-e", "--epochs", type=int, default=S, help="number of epochs" + _d("epochs"))
    seed.add_argument(
        "-bs", "--batch_size", type=int, default=S, help="batch size per device" + _d("batch_size")
    )
    seed.add_argument(
        "-p",
        "--pré-load",
        "--pre-load",
        dest="preload",
        action="store_true",
        default=S,
        help="decode all train/valid images into memory once (uint8)",
    )
    seed.add_argument(
        "-d",
        "--directory",
        default=S,
        help="dataset folder: NAME.jpg + NAME_bin.png, or train/ valid/ test/",
    )
    seed.add_argument("-o", "--output", default=S, help="output folder" + _d("output"))
    seed.add_argument(
        "-c", "--classes", type=int, default=S, help="number of classes" + _d("classes")
    )
    seed.add_argument(
        "-lr",
        "--learning_rate",
        type=float,
        default=S,
        help="peak learning rate of the OneCycle schedule" + _d("learning_rate"),
    )
    seed.add_argument(
        "-wd",
        "--weight_decay",
        type=float,
        default=S,
        help="AdamW weight decay" + _d("weight_decay"),
    )
    seed.add_argument(
        "-r",
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="RUN",
        help="resume a run: with -m CHECKPOINT, a run folder, or OUTPUT/NAME",
    )
    seed.add_argument("-m", "--model", default=None, help="checkpoint to resume from (with -r)")
    seed.add_argument(
        "-s",
        "--save",
        dest="save_every",
        type=int,
        default=S,
        help="also keep checkpoints/NAME_E.ckpt every S epochs",
    )
    net = p.add_argument_group("network")
    net.add_argument("--arch", default=S, help="smp architecture" + _d("arch"))
    net.add_argument("--encoder", default=S, help="smp encoder" + _d("encoder"))
    net.add_argument(
        "--encoder-weights",
        default=S,
        metavar="imagenet|none|PATH",
        help="encoder initialisation; PATH is a local weights file" + _d("encoder_weights"),
    )
    net.add_argument("--loss", choices=LOSSES, default=S, help="training loss" + _d("loss"))
    net.add_argument(
        "--class-weights",
        choices=("auto", "none"),
        default=S,
        help="auto: inverse class frequency when more than 2 classes (the seed's rule)",
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--crop-size", type=int, default=S, help="training crop side" + _d("crop_size")
    )
    data.add_argument(
        "--scale",
        type=float,
        default=S,
        help="resize photos by this factor before cropping" + _d("scale"),
    )
    data.add_argument(
        "--class-map", default=S, metavar="0,1,0,0,2", help="raw mask value i becomes class MAP[i]"
    )
    data.add_argument(
        "--class-names",
        default=S,
        type=lambda s: s.split(","),
        metavar="background,leaf,...",
        help="comma-separated class names",
    )
    data.add_argument(
        "--mask-suffix",
        default=S,
        help="mask name = photo name + suffix (default: the first of _bin, _mask, _label, _gt found)",
    )
    data.add_argument("--mask-dir", default=S, help="folder of the masks, if not beside the photos")
    data.add_argument(
        "--group-by",
        default=S,
        metavar="REGEX",
        help="split by groups of names (e.g. '^([^_]+)' for the camera id)",
    )
    data.add_argument(
        "--workers", type=int, default=S, help="data loading processes" + _d("workers")
    )
    data.add_argument(
        "--seed", type=int, default=S, help="random seed for split and training" + _d("seed")
    )
    run = p.add_argument_group("hardware and run")
    run.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=S,
        help="auto: bf16-mixed where the CPU/GPU supports it, else 32",
    )
    run.add_argument("--accelerator", default=S, help="auto, cpu or gpu" + _d("accelerator"))
    run.add_argument("--devices", type=int, default=S, help="devices per machine" + _d("devices"))
    run.add_argument("--num-nodes", type=int, default=S, help="machines" + _d("num_nodes"))
    run.add_argument("--strategy", default=S, help="Lightning strategy, e.g. ddp" + _d("strategy"))
    run.add_argument(
        "--sync-batchnorm",
        action="store_true",
        default=S,
        help="synchronise BatchNorm statistics across devices",
    )
    run.add_argument(
        "--max-time", default=S, metavar="MINUTES|DD:HH:MM:SS", help="stop after this time"
    )
    run.add_argument(
        "--monitor",
        choices=("val_mIoU", "val_mAccuracy"),
        default=S,
        help="figure that picks best.ckpt" + _d("monitor"),
    )
    run.add_argument("--patience", type=int, default=S, help="stop after N epochs without progress")
    run.add_argument("--compile", action="store_true", default=S, help="torch.compile the network")
    run.add_argument(
        "--overwrite", action="store_true", help="replace an earlier run of the same name"
    )
    run.add_argument(
        "--no-test", action="store_true", help="skip the test-split evaluation after training"
    )
    p.set_defaults(handler=_train)


def _train_config(args: argparse.Namespace) -> tuple[TrainConfig, Path | None]:
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    if args.model and not args.resume:
        raise VitisegError(
            "-m/--model is for resuming: add -r, or use --encoder-weights PATH to start from weights"
        )
    if args.resume:
        from vitiseg.training.run import RunPaths, run_of_checkpoint

        if args.model:
            checkpoint = Path(args.model)
        elif args.resume is True:
            if "name" not in given:
                raise VitisegError("-r needs -m CHECKPOINT, a run folder (-r RUN), or -n NAME")
            checkpoint = RunPaths(
                Path(given.get("output", DEFAULTS["output"])) / given["name"]
            ).last
        else:
            checkpoint = (
                RunPaths(Path(args.resume)).last
                if Path(args.resume).is_dir()
                else Path(args.resume)
            )
        paths = run_of_checkpoint(checkpoint)
        if not paths.config.is_file():
            raise VitisegError(f"{paths.root}: not a vitiseg run folder (no config.yaml)")
        saved = TrainConfig.load(paths.config)
        ignored = sorted(
            k for k, v in given.items() if k not in RESUMABLE and v != getattr(saved, k)
        )
        if ignored:
            print(f"Resuming: keeping the run's saved {', '.join(ignored)} (from {paths.config})")
        updates = {k: v for k, v in given.items() if k in RESUMABLE}
        return TrainConfig(**{**saved.__dict__, **updates}), checkpoint
    missing = [
        flag
        for key, flag in (("name", "-n/--name"), ("directory", "-d/--directory"))
        if key not in given
    ]
    if missing:
        raise VitisegError(f"train: {' and '.join(missing)} required")
    given["directory"] = str(Path(given["directory"]).resolve())
    return TrainConfig(**given), None


def _train(args: argparse.Namespace) -> int:
    from vitiseg.data.masks import parse_class_map
    from vitiseg.data.split import read_split
    from vitiseg.evaluate import evaluate
    from vitiseg.hardware import is_rank_zero
    from vitiseg.training.run import train

    config, checkpoint = _train_config(args)
    paths = train(config, resume_from=checkpoint, overwrite=args.overwrite)
    if not is_rank_zero():
        return 0
    if not args.no_test:
        test = read_split(paths.split, config.directory)["test"]
        summary = evaluate(
            paths.root,
            test,
            paths.root,
            config.name,
            parse_class_map(config.class_map, config.classes),
        )
        _print_summary(summary)
    print(f"Run folder: {paths.root}")
    return 0


def _print_summary(summary: dict) -> None:
    print(f"Test images: {summary['images']}")
    for name, figures in summary["per_class"].items():
        iou = figures["IoU"]
        print(f"  {name:<16} IoU {'n/a' if iou is None else f'{iou:.3f}'}")
    print(
        f"  mean IoU {summary['mean']['IoU']:.3f}; leaf cover MAE {summary['leaf_cover_mae']:.3f}"
    )


def _add_inference(p: argparse.ArgumentParser) -> None:
    from vitiseg.config import InferenceOptions

    d = InferenceOptions()
    g = p.add_argument_group("inference")
    g.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:1... (default: auto)")
    g.add_argument(
        "--tile",
        type=int,
        default=d.tile,
        help=f"photos up to this side go through whole, larger ones in overlapping tiles (default: {d.tile})",
    )
    g.add_argument(
        "--overlap",
        type=float,
        default=d.overlap,
        help=f"least tile overlap (default: {d.overlap})",
    )
    g.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help=f"tiles per forward pass (default: {d.batch_size})",
    )
    g.add_argument(
        "--tta", action="store_true", help="average with the mirrored photo's prediction"
    )
    g.add_argument(
        "--precision",
        default=d.precision,
        choices=("auto", "32", "bf16", "16"),
        help="auto: bf16 where the hardware has it (default: auto)",
    )


def _inference_options(args: argparse.Namespace):
    from vitiseg.config import InferenceOptions

    return InferenceOptions(
        args.device, args.tile, args.overlap, args.batch_size, args.tta, args.precision
    )


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument(
        "--leaf-class",
        type=int,
        help="class counted as leaf (default: the class named leaf, else 1)",
    )
    p.add_argument(
        "--k",
        type=float,
        default=0.7,
        help="extinction coefficient of the LAI estimate (default: 0.7)",
    )
    p.add_argument(
        "--side-by-side", action="store_true", help="overlays show photo | truth | prediction"
    )
    p.add_argument("--no-overlays", action="store_true", help="write no pictures")
    _add_inference(p)
    p.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from vitiseg.data.layout import find_pairs
    from vitiseg.data.masks import parse_class_map
    from vitiseg.data.split import read_split
    from vitiseg.evaluate import EvaluateOptions, evaluate
    from vitiseg.model import ModelInfo, resolve_model_dir

    if not args.run and not args.model:
        raise VitisegError("evaluate: give a run folder, or --model with --directory")
    model_dir = resolve_model_dir(args.model or args.run)
    run = Path(args.run) if args.run else None
    config = (
        TrainConfig.load(run / "config.yaml") if run and (run / "config.yaml").is_file() else None
    )
    info = ModelInfo.from_json(
        (model_dir / "model.json").read_text(encoding="utf-8"), model_dir / "model.json"
    )
    class_map_text = args.class_map or (config.class_map if config else None)
    class_map = parse_class_map(class_map_text, info.spec.classes)
    if args.directory:
        pairs = find_pairs(args.directory, args.mask_suffix)
    elif config is not None:
        pairs = read_split(run / "split.csv", config.directory)["test"]
    else:
        raise VitisegError("evaluate: --model needs -d/--directory (photos with masks to score)")
    output = args.output or (run if run else None)
    if output is None:
        raise VitisegError("evaluate: give -o/--output for the results")
    name = args.name or (config.name if config else model_dir.name)
    options = EvaluateOptions(args.leaf_class, args.k, args.side_by_side, not args.no_overlays)
    summary = evaluate(model_dir, pairs, output, name, class_map, options, _inference_options(args))
    _print_summary(summary)
    print(f"Results in {output}")
    return 0


def _add_masks(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("masks", help="convert colour annotations; class statistics of masks")
    masks = p.add_subparsers(dest="masks_command", required=True, metavar="ACTION")
    c = masks.add_parser(
        "convert",
        help="RGB annotation images -> NAME_bin.png class masks",
        description="Turn colour annotations into class-index masks. --preset seed is the seed's "
        "binarisation255 (near-white background 0, blue leaves 1, red/green wood 2).",
    )
    c.add_argument("source", help="folder of colour annotations")
    c.add_argument("target", help="folder for the class masks")
    how = c.add_mutually_exclusive_group(required=True)
    how.add_argument("--preset", choices=("seed",), help="built-in colour convention")
    how.add_argument("--palette", help="YAML file mapping colours to classes (with a tolerance)")
    c.add_argument("--suffix", default="_bin", help="mask name suffix (default: _bin)")
    c.add_argument("--strip", default="", help="remove this from the end of annotation names first")
    c.add_argument("--overwrite", action="store_true", help="replace existing masks")
    c.set_defaults(handler=_masks_convert)
    st = masks.add_parser("stats", help="pixel count and share of each class, per mask and overall")
    st.add_argument("directory")
    st.add_argument("--mask-suffix", default=None, help="(default: detected)")
    st.add_argument("--csv", help="also write the table to this CSV file")
    st.set_defaults(handler=_masks_stats)


def _masks_convert(args: argparse.Namespace) -> int:
    from vitiseg.data.convert import convert_folder
    from vitiseg.data.masks import ColourPalette, seed_preset

    if args.preset:
        converter = lambda rgb: (seed_preset(rgb), 0)  # noqa: E731
    else:
        converter = ColourPalette.from_yaml(args.palette).convert
    results = convert_folder(
        args.source, args.target, converter, args.suffix, args.strip, args.overwrite
    )
    for item in results:
        if item.unmatched:
            print(
                f"{item.source.name}: {item.unmatched} pixels ({item.unmatched / item.pixels:.2%}) match no colour"
            )
    print(f"{len(results)} masks written to {args.target}")
    return 0


def _masks_stats(args: argparse.Namespace) -> int:
    import pandas as pd

    from vitiseg.data.convert import mask_stats

    names, counts = mask_stats(args.directory, args.mask_suffix)
    shares = counts / counts.sum(1, keepdims=True)
    table = pd.DataFrame(shares, index=pd.Index(names, name="mask"),
                         columns=[f"class {c}" for c in range(counts.shape[1])])  # fmt: skip
    table.loc["ALL"] = counts.sum(0) / counts.sum()
    table["pixels"] = [*counts.sum(1), counts.sum()]
    with pd.option_context("display.max_rows", 200, "display.width", 120):
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    single = [n for n, c in zip(names, counts, strict=True) if (c > 0).sum() == 1]
    if single:
        print(f"warning: {len(single)} mask(s) hold a single class, e.g. {single[0]}")
    if args.csv:
        table.to_csv(args.csv)
    return 0


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="apply a trained model to photos: masks, overlays, canopy.csv",
        description="Predict class masks for photos of any size (large ones in overlapping "
        "tiles). Writes OUT/masks/IMAGE.png, OUT/overlays/IMAGE.jpg and OUT/canopy.csv. "
        "Photos already done are skipped, so an interrupted run resumes.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="photos, folders or glob patterns ('photos/*.jpg')",
    )
    p.add_argument(
        "--model", required=True, help="run folder, or model.safetensors with its model.json"
    )
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--recursive", action="store_true", help="also look in sub-folders")
    p.add_argument("--no-overlays", action="store_true", help="do not write overlay pictures")
    p.add_argument(
        "--probabilities", action="store_true", help="also save the leaf probability map (0-255)"
    )
    p.add_argument(
        "--leaf-class",
        type=int,
        help="class counted as leaf (default: the class named leaf, else 1)",
    )
    p.add_argument(
        "--k",
        type=float,
        default=0.7,
        help="extinction coefficient of the LAI estimate (default: 0.7)",
    )
    p.add_argument("--overwrite", action="store_true", help="redo photos whose outputs exist")
    p.add_argument(
        "--workers", type=int, default=2, help="threads decoding photos ahead (default: 2)"
    )
    _add_inference(p)
    p.set_defaults(handler=_predict)


def _predict(args: argparse.Namespace) -> int:
    from vitiseg.predict import PhotoPredictor, collect_photos, predict_photos

    photos = collect_photos(args.inputs, args.recursive)
    worker = PhotoPredictor(
        args.model, Path(args.output), _inference_options(args), args.leaf_class, args.k,
        not args.no_overlays, args.probabilities,
    )  # fmt: skip
    print(f"{len(photos)} photo(s); model {worker.info.spec.arch}/{worker.info.spec.encoder}, "
          f"{worker.predictor.device}, precision {worker.precision}")  # fmt: skip
    report = predict_photos(photos, worker, args.overwrite, args.workers)
    rate = report.done / report.seconds if report.seconds else 0.0
    print(f"{report.done} predicted in {report.seconds:.1f} s ({rate:.2f} photos/s), "
          f"{report.skipped} skipped, {len(report.failed)} failed; table: {Path(args.output) / 'canopy.csv'}")  # fmt: skip
    if report.failed:
        print("These photos could not be read:", file=sys.stderr)
        for _, message in report.failed:
            print(f"  {message}", file=sys.stderr)
        return 1
    return 0


def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="draw synthetic vineyard photos with masks (demo and test data)",
        description="Write OUT/vineyard_XXX.jpg + _bin.png masks (0 background, 1 leaf, 2 wood) "
        "and OUT/annotations/ colour annotations in the seed's convention.",
    )
    p.add_argument("out", help="output folder")
    p.add_argument("--n", type=int, default=40, help="number of photos (default: 40)")
    p.add_argument("--size", default="512x384", help="WIDTHxHEIGHT (default: 512x384)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same photos (default: 0)")
    p.set_defaults(handler=_synth)


def _synth(args: argparse.Namespace) -> int:
    from vitiseg.data.synthetic import write_synthetic

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise VitisegError(f"--size {args.size!r}: expected WIDTHxHEIGHT, e.g. 512x384") from None
    if width < 64 or height < 64 or args.n < 1:
        raise VitisegError("--size must be at least 64x64 and --n at least 1")
    names = write_synthetic(args.out, args.n, (width, height), args.seed)
    print(
        f"{len(names)} photos with masks in {args.out}, colour annotations in {Path(args.out) / 'annotations'}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitiseg",
        description="Semantic segmentation of vineyard photographs (leaves, wood, ground...).",
    )
    parser.add_argument("--version", action="version", version=f"vitiseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    _add_evaluate(sub)
    _add_predict(sub)
    _add_masks(sub)
    _add_synth(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet_libraries()
    try:
        return args.handler(args)
    except VitisegError as exc:
        print(f"vitiseg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TrainingFault as exc:
        print(f"vitiseg {args.command}: training stopped: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
