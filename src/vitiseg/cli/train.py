"""`vitiseg train`: the seed's options, then fit, export and the test stage."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from vitiseg.cli import options as o
from vitiseg.cli.evaluate import print_summary
from vitiseg.config import (
    ACCELERATORS,
    AUGMENTATIONS,
    CLASS_WEIGHTS,
    LOGGERS,
    LOSSES,
    PRECISIONS,
    TrainConfig,
)
from vitiseg.errors import VitisegError
from vitiseg.rules import AT_LEAST_0, AT_LEAST_1, OPEN_SHARE, POSITIVE, SCALE, SIDE, Range
from vitiseg.training.recipes import RECIPES, fit_recipe, recipe_settings

S = argparse.SUPPRESS
DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}


def _d(name: str) -> str:
    return f" (default: {DEFAULTS[name]})"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on photos with masks, then evaluate it on the test split",
        description="Train a segmentation model on NAME.jpg + NAME_bin.png pairs (the seed's "
        "train.py options keep their spelling), then score it on the test split.",
    )
    seed = p.add_argument_group("the seed's options")
    seed.add_argument(
        "-n", "--name", type=o.run_name, default=S, help="model name; the run goes to OUTPUT/NAME"
    )
    seed.add_argument(
        "-e",
        "--epochs",
        type=o.number(int, AT_LEAST_1),
        default=S,
        help="number of epochs" + _d("epochs"),
    )
    seed.add_argument(
        "-bs",
        "--batch_size",
        type=o.number(int, AT_LEAST_1),
        default=S,
        help="batch size per device" + _d("batch_size"),
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
        "--no-pre-load",
        dest="preload",
        action="store_false",
        default=S,
        help="read the images from disk every epoch (to undo --recipe's -p, or on resume)",
    )
    seed.add_argument(
        "-d",
        "--directory",
        type=o.existing_folder,
        default=S,
        help="dataset folder: NAME.jpg + NAME_bin.png, or train/ valid/ test/",
    )
    seed.add_argument(
        "-o", "--output", type=o.output_folder, default=S, help="output folder" + _d("output")
    )
    seed.add_argument(
        "-c",
        "--classes",
        type=o.number(int, Range(low=2)),
        default=S,
        help="number of classes" + _d("classes"),
    )
    seed.add_argument(
        "-lr",
        "--learning_rate",
        type=o.number(float, POSITIVE),
        default=S,
        help="peak learning rate of the OneCycle schedule" + _d("learning_rate"),
    )
    seed.add_argument(
        "-wd",
        "--weight_decay",
        type=o.number(float, AT_LEAST_0),
        default=S,
        help="AdamW weight decay" + _d("weight_decay"),
    )
    seed.add_argument(
        "-r",
        "--resume",
        nargs="?",
        const=True,
        default=None,
        type=o.existing_path,
        metavar="RUN",
        help="resume a run: with -m CHECKPOINT, a run folder, or OUTPUT/NAME",
    )
    seed.add_argument(
        "-m",
        "--model",
        type=o.existing_file,
        default=None,
        help="checkpoint to resume from (with -r)",
    )
    seed.add_argument(
        "-s",
        "--save",
        dest="save_every",
        type=o.number(int, AT_LEAST_1),
        default=S,
        help="also keep checkpoints/NAME_E.ckpt every S epochs",
    )
    p.add_argument(
        "--recipe",
        choices=RECIPES,
        help="cpu: the settings measured best within 20 minutes of a 2-core CPU "
        "(--accelerator cpu, encoder and weights, scale, crops, loss, -bs 2, schedule, --ema "
        "0.99, --max-time 20, -p), picked by the precision training runs in: ResNet-18 from "
        "scratch at scale 0.4 in bf16 (--precision auto on a CPU with bf16), EfficientNet-Lite0 "
        "from its packaged ImageNet weights at scale 0.4 in fp32 (a CPU without bf16, or "
        "--precision 32); scale and crop fitted to photos other than full HD; options given "
        "beside it win (--max-time 60, --no-ema, --no-pre-load; README, docs/recipes.md)",
    )
    net = p.add_argument_group("network")
    net.add_argument("--arch", type=o.architecture, default=S, help="smp architecture" + _d("arch"))
    net.add_argument(
        "--encoder",
        type=o.encoder,
        default=S,
        help="smp encoder, or tu-NAME for a timm model (tu-mobilenetv3_large_100)" + _d("encoder"),
    )
    net.add_argument(
        "--encoder-weights",
        type=o.encoder_weights,
        default=S,
        metavar="imagenet|none|PATH",
        help="encoder initialisation; PATH is a local weights file" + _d("encoder_weights"),
    )
    net.add_argument(
        "--decoder-channels",
        type=o.integer_list(AT_LEAST_1),
        default=S,
        metavar="256,128,64,32,16",
        help="U-Net decoder widths, deepest first (default: the seed's 256,128,64,32,16); "
        "128,64,32,16,16 trains about 1.4x faster on a CPU",
    )
    net.add_argument("--loss", choices=LOSSES, default=S, help="training loss" + _d("loss"))
    net.add_argument(
        "--class-weights",
        choices=CLASS_WEIGHTS,
        default=S,
        help="loss weights by class, when more than 2 classes: auto, inverse class frequency "
        "(the seed's rule); sqrt, its square root (milder); none",
    )
    net.add_argument(
        "--ema",
        type=o.number(float, OPEN_SHARE),
        default=S,
        metavar="DECAY",
        help="validate, keep and export an exponential moving average of the weights, "
        "updated every step (e.g. 0.99: about the last 100 steps)",
    )
    net.add_argument(
        "--no-ema",
        dest="ema",
        action="store_const",
        const=None,
        default=S,
        help="no moving average (to override --recipe)",
    )
    net.add_argument(
        "--warmup",
        type=o.number(float, OPEN_SHARE),
        default=S,
        metavar="SHARE",
        help="share of the OneCycle schedule spent raising the learning rate" + _d("warmup"),
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--crop-size",
        type=o.number(int, SIDE),
        default=S,
        help="training crop side" + _d("crop_size"),
    )
    data.add_argument(
        "--crops-per-image",
        type=o.number(int, AT_LEAST_1),
        default=S,
        metavar="K",
        help="random crops drawn from each training photo per epoch: more steps per "
        "validation when photos are few and large" + _d("crops_per_image"),
    )
    data.add_argument(
        "--augment",
        choices=AUGMENTATIONS,
        default=S,
        help="seed: the seed's augmentation; standard: scale jitter, flip, mild colour "
        "(the segmentation toolboxes' recipe)" + _d("augment"),
    )
    data.add_argument(
        "--scale",
        type=o.number(float, SCALE),
        default=S,
        help="resize photos by this factor before cropping" + _d("scale"),
    )
    data.add_argument(
        "--class-map",
        type=o.class_map,
        default=S,
        metavar="0,1,0,0,2",
        help="raw mask value i becomes class MAP[i]",
    )
    data.add_argument(
        "--class-names",
        default=S,
        type=o.names,
        metavar="background,leaf,...",
        help="comma-separated class names",
    )
    data.add_argument(
        "--mask-suffix",
        default=S,
        help="mask name = photo name + suffix (default: the first of _bin, _mask, _label, _gt found)",
    )
    data.add_argument(
        "--mask-dir",
        type=o.existing_folder,
        default=S,
        help="folder of the masks, if not beside the photos",
    )
    data.add_argument(
        "--group-by",
        type=o.regex,
        default=S,
        metavar="REGEX",
        help="split by groups of names (e.g. '^([^_]+)' for the camera id)",
    )
    data.add_argument(
        "--split",
        type=o.existing_file,
        default=S,
        metavar="CSV",
        help="take train/valid/test from CSV instead (an earlier run's split.csv, to compare "
        "recipes on the same photos, or your own: name,split,image,mask rows, paths relative "
        "to -d; its test split may be empty)",
    )
    data.add_argument(
        "--unlabeled",
        type=o.existing_folder,
        default=S,
        metavar="DIR",
        help="photos nobody labelled (sub-folders too, at most 200 taken): the model labels "
        "them itself during training (pseudo-labels, unsure pixels left out) and learns from "
        "them too. Measured within a 20-minute CPU budget it lost 0.03 mIoU, and gained "
        "nothing with --teacher (docs/recipes.md): compare with and without on your "
        "validation photos",
    )
    data.add_argument(
        "--pseudo-threshold",
        type=o.number(float, OPEN_SHARE),
        default=S,
        metavar="P",
        help="with --unlabeled: a pixel is pseudo-labelled when the model gives its class "
        "at least this probability" + _d("pseudo_threshold"),
    )
    data.add_argument(
        "--unlabeled-share",
        type=o.number(float, OPEN_SHARE),
        default=S,
        metavar="SHARE",
        help="with --unlabeled: share of the training crops taken from the pseudo-labelled "
        "photos once they exist" + _d("unlabeled_share"),
    )
    data.add_argument(
        "--teacher",
        type=o.existing_path,
        default=S,
        metavar="MODEL",
        help="with --unlabeled: a model with the same classes (a run folder or exported model, "
        "e.g. an earlier run or last season's) labels the photos once, before training, "
        "and its labels are used from the first epoch instead of the model's own",
    )
    data.add_argument(
        "--workers",
        type=o.number(int, AT_LEAST_0),
        default=S,
        help="data loading processes" + _d("workers"),
    )
    data.add_argument(
        "--seed",
        type=o.number(int, AT_LEAST_0),
        default=S,
        help="random seed for split and training" + _d("seed"),
    )
    hardware = p.add_argument_group("hardware and run")
    hardware.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=S,
        help="auto: bf16-mixed where the CPU/GPU supports it, else 32",
    )
    hardware.add_argument(
        "--accelerator",
        choices=ACCELERATORS,
        default=S,
        help="auto, cpu or gpu" + _d("accelerator"),
    )
    hardware.add_argument(
        "--devices",
        type=o.number(int, AT_LEAST_1),
        default=S,
        help="devices per machine" + _d("devices"),
    )
    hardware.add_argument(
        "--num-nodes", type=o.number(int, AT_LEAST_1), default=S, help="machines" + _d("num_nodes")
    )
    hardware.add_argument(
        "--strategy",
        type=o.strategy,
        default=S,
        help="Lightning strategy, e.g. ddp" + _d("strategy"),
    )
    hardware.add_argument(
        "--sync-batchnorm",
        action="store_true",
        default=S,
        help="synchronise BatchNorm statistics across devices",
    )
    hardware.add_argument(
        "--max-time",
        type=o.max_time,
        default=S,
        metavar="MINUTES|DD:HH:MM:SS",
        help="time budget: the learning-rate schedule is re-planned after each epoch to end "
        "within it (give a large -e), and training stops when it is spent",
    )
    hardware.add_argument(
        "--monitor",
        choices=("val_mIoU", "val_mAccuracy"),
        default=S,
        help="figure that picks best.ckpt" + _d("monitor"),
    )
    hardware.add_argument(
        "--patience",
        type=o.number(int, AT_LEAST_1),
        default=S,
        help="stop after N epochs without progress",
    )
    hardware.add_argument(
        "--compile", action="store_true", default=S, help="torch.compile the network"
    )
    hardware.add_argument(
        "--logger",
        choices=LOGGERS,
        default=S,
        help="also log to Lightning's CSV, TensorBoard or MLflow logger, in RUN/logs "
        "(the seed's Train_NAME.csv is always written)" + _d("logger"),
    )
    hardware.add_argument(
        "--overwrite", action="store_true", help="replace an earlier run of the same name"
    )
    hardware.add_argument(
        "--no-test", action="store_true", help="skip the test-split evaluation after training"
    )
    p.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, Path | None]:
    """The run's settings from the options; when resuming, the saved ones with the changes
    a resume allows, and the checkpoint to resume from."""
    from vitiseg.run import Run

    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    if args.recipe and args.resume:
        raise VitisegError("--recipe starts a run; a resumed run keeps its settings")
    chosen = set(given)
    if args.recipe:
        precision = given.get("precision", DEFAULTS["precision"])
        accelerator = given.get("accelerator", "cpu")
        given = {**recipe_settings(args.recipe, precision, accelerator), **given}
    if args.model and not args.resume:
        raise VitisegError(
            "-m/--model is for resuming: add -r, or use --encoder-weights PATH to start from weights"
        )
    if args.resume:
        if args.model:
            checkpoint = Path(args.model)
        elif args.resume is True:
            if "name" not in given:
                raise VitisegError("-r needs -m CHECKPOINT, a run folder (-r RUN), or -n NAME")
            checkpoint = Run(Path(given.get("output", DEFAULTS["output"])) / given["name"]).last
        else:
            resume = Path(args.resume)
            checkpoint = Run(resume).last if resume.is_dir() else resume
        return Run.open(checkpoint).resume_config(given), checkpoint
    missing = [
        flag
        for key, flag in (("name", "-n/--name"), ("directory", "-d/--directory"))
        if key not in given
    ]
    if missing:
        raise VitisegError(f"{' and '.join(missing)} required")
    for key in ("directory", "split", "unlabeled", "teacher"):
        if key in given:
            given[key] = str(Path(given[key]).resolve())
    config = TrainConfig(**given)
    return (fit_recipe(config, chosen) if args.recipe else config), None


def run(args: argparse.Namespace) -> int:
    from vitiseg.evaluate import evaluate_run  # torch and Lightning: not at --help time
    from vitiseg.training.fit import train
    from vitiseg.util.hardware import is_rank_zero

    config, checkpoint = config_from_args(args)
    trained = train(config, resume_from=checkpoint, overwrite=args.overwrite)
    if not is_rank_zero():
        return 0
    test = [] if args.no_test else trained.pairs("test")
    if test:
        print_summary(evaluate_run(trained))
    elif not args.no_test:
        print(f"No test evaluation: {config.split} gives no test photos")
    from vitiseg.report.html import report_after

    report_after(trained.root, "train")
    print(f"Run folder: {trained.root}")
    return 0
