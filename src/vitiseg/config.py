"""One dataclass per job, saved as YAML in the run folder."""

from __future__ import annotations

import os
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path

import yaml

from vitiseg.errors import ConfigError
from vitiseg.rules import (
    AT_LEAST_0,
    AT_LEAST_1,
    COUNT,
    NAMES,
    OPEN_SHARE,
    OVERLAP,
    POSITIVE,
    RANDOM_SEED,
    RUN_NAME,
    SCALE,
    SIDE,
    Range,
    check,
)
from vitiseg.util.atomic import write_text

AUGMENTATIONS = ("seed", "standard")
CLASS_WEIGHTS = ("auto", "sqrt", "none")
LOSSES = ("ce", "dice", "ce+dice", "focal", "lovasz")
PRECISIONS = ("auto", "32", "bf16-mixed", "16-mixed")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
LOGGERS = ("none", "csv", "tensorboard", "mlflow")
MONITORS = ("val_mIoU", "val_mAccuracy")
BACKENDS = ("auto", "torch", "onnxruntime")


def default_workers() -> int:
    """Background loader processes: half the cores, 1 to 4."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def parse_max_time(text: str | None) -> timedelta | str | None:
    """``--max-time``: minutes (``"90"``) or Lightning's ``DD:HH:MM:SS``, as text.

    Example:
        >>> parse_max_time("90")
        datetime.timedelta(seconds=5400)
        >>> parse_max_time(90)
        Traceback (most recent call last):
        vitiseg.errors.ConfigError: max_time=90: give text: minutes ('90') or DD:HH:MM:SS ('00:12:00:00')
    """
    if text is None:
        return None
    valid = "give text: minutes ('90') or DD:HH:MM:SS ('00:12:00:00')"
    if not isinstance(text, str):
        raise ConfigError(f"max_time={text!r}: {valid}")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        try:
            return timedelta(minutes=float(text))
        except OverflowError:
            raise ConfigError(f"max_time={text!r}: at most {timedelta.max.days} days") from None
    if re.fullmatch(r"\d{2}:\d{2}:\d{2}:\d{2}", text):
        return text
    raise ConfigError(f"max_time={text!r}: {valid}")


def option(
    default,
    flags: str,
    help: str,
    group: str = "data",
    kind: str = "text",
    rule=None,
    choices: tuple[str, ...] | None = None,
    metavar: str | None = None,
    negative: tuple[str, str] | None = None,
    shown: bool = True,
):
    """A :class:`TrainConfig` field with its command-line option: ``flags`` (``"-e --epochs"``), ``help``, the
    ``--help`` ``group``, how a value is read (``kind``: text, int, float, switch, or a
    checked kind of ``vitiseg.cli.options``), the ``rule`` or ``choices`` its values obey
    (checked by the dataclass and by the parser), and an optional ``negative`` flag with
    its help (``--no-ema``: the field set back to None/False). ``shown``: ``--help`` prints
    the default."""
    metadata = {
        "flags": tuple(flags.split()), "help": help, "group": group, "kind": kind, "rule": rule,
        "choices": choices, "metavar": metavar, "negative": negative, "shown": shown,
    }  # fmt: skip
    return field(default=default, metadata=metadata)


SEED, NETWORK, DATA, RUN = "seed", "network", "data", "run"
"""``--help`` groups: the seed's options, network, data, hardware and run."""


@dataclass
class TrainConfig:
    """Everything a training run depends on; the seed's options first, with its defaults.

    Each field's metadata (:func:`option`) gives its flag, help, rule or choices: the
    command line's ``vitiseg train`` options are generated from it.
    """

    name: str = option(
        MISSING,
        "-n --name",
        kind="run_name",
        rule=RUN_NAME,
        group=SEED,
        help="model name; the run goes to OUTPUT/NAME",
    )
    directory: str = option(
        MISSING,
        "-d --directory",
        kind="folder",
        group=SEED,
        help="dataset folder: NAME.jpg + NAME_bin.png, or train/ valid/ test/",
    )
    output: str = option(
        f"Training_{date.today()}",
        "-o --output",
        kind="output_folder",
        group=SEED,
        help="output folder",
    )
    epochs: int = option(
        10, "-e --epochs", kind="int", rule=AT_LEAST_1, group=SEED, help="number of epochs"
    )
    batch_size: int = option(
        8,
        "-bs --batch_size",
        kind="int",
        rule=AT_LEAST_1,
        group=SEED,
        help="batch size per device",
    )
    preload: bool = option(
        False,
        "-p --pré-load --pre-load",
        kind="switch",
        group=SEED,
        shown=False,
        help="decode all train/valid images into memory once (uint8)",
        negative=(
            "--no-pre-load",
            "read the images from disk every epoch (to undo --recipe's -p, or on resume)",
        ),
    )
    classes: int = option(
        2,
        "-c --classes",
        kind="int",
        rule=Range(low=2, whole=True),
        group=SEED,
        help="number of classes",
    )
    learning_rate: float = option(
        1e-4,
        "-lr --learning_rate",
        kind="float",
        rule=POSITIVE,
        group=SEED,
        help="peak learning rate of the OneCycle schedule",
    )
    weight_decay: float = option(
        1e-4,
        "-wd --weight_decay",
        kind="float",
        rule=AT_LEAST_0,
        group=SEED,
        help="AdamW weight decay",
    )
    warmup: float = option(
        0.3,
        "--warmup",
        kind="float",
        rule=OPEN_SHARE,
        metavar="SHARE",
        group=NETWORK,
        help="share of the OneCycle schedule spent raising the learning rate",
    )
    save_every: int | None = option(
        None,
        "-s --save",
        kind="int",
        rule=AT_LEAST_1,
        group=SEED,
        help="also keep checkpoints/NAME_E.ckpt every S epochs",
    )
    arch: str = option("Unet", "--arch", kind="arch", group=NETWORK, help="smp architecture")
    encoder: str = option(
        "resnet50",
        "--encoder",
        kind="encoder",
        group=NETWORK,
        help="smp encoder, or tu-NAME for a timm model (tu-mobilenetv3_large_100)",
    )
    encoder_weights: str = option(
        "imagenet",
        "--encoder-weights",
        kind="encoder_weights",
        metavar="imagenet|none|PATH",
        group=NETWORK,
        help="encoder initialisation; PATH is a local weights file",
    )
    init: str | None = option(
        None,
        "--init",
        kind="model",
        metavar="vineyard|RUN",
        group=NETWORK,
        help="start encoder and decoder from this vitiseg model (fine-tuning): vineyard, the "
        "model that ships with vitiseg, or a run or model folder; its network replaces "
        "--encoder and --decoder-channels, and its classes must be yours (--class-names; "
        "--class-map maps your mask values onto them)",
    )
    decoder_channels: list[int] | None = option(
        None,
        "--decoder-channels",
        kind="int_list",
        metavar="256,128,64,32,16",
        group=NETWORK,
        help="U-Net decoder widths, deepest first (default: the seed's 256,128,64,32,16); "
        "128,64,32,16,16 trains about 1.4x faster on a CPU",
    )
    crop_size: int = option(512, "--crop-size", kind="int", rule=SIDE, help="training crop side")
    crops_per_image: int = option(
        1,
        "--crops-per-image",
        kind="int",
        rule=AT_LEAST_1,
        metavar="K",
        help="random crops drawn from each training photo per epoch: more steps per "
        "validation when photos are few and large",
    )
    augment: str = option(
        "seed",
        "--augment",
        choices=AUGMENTATIONS,
        help="seed: the seed's augmentation; standard: scale jitter, flip, mild colour "
        "(the segmentation toolboxes' recipe)",
    )
    scale: float = option(
        1.0,
        "--scale",
        kind="float",
        rule=SCALE,
        help="resize photos by this factor before cropping",
    )
    workers: int = option(
        default_workers(), "--workers", kind="int", rule=COUNT, help="data loading processes"
    )
    seed: int = option(
        19, "--seed", kind="int", rule=RANDOM_SEED, help="random seed for split and training"
    )
    class_map: str | None = option(
        None,
        "--class-map",
        kind="class_map",
        metavar="0,1,0,0,2",
        help="raw mask value i becomes class MAP[i]",
    )
    class_names: list[str] | None = option(
        None,
        "--class-names",
        kind="names",
        rule=NAMES,
        metavar="background,leaf,...",
        help="comma-separated class names",
    )
    class_weights: str = option(
        "auto",
        "--class-weights",
        choices=CLASS_WEIGHTS,
        group=NETWORK,
        shown=False,
        help="loss weights by class, when more than 2 classes: auto, inverse class frequency "
        "(the seed's rule); sqrt, its square root (milder); none",
    )
    loss: str = option("ce", "--loss", choices=LOSSES, group=NETWORK, help="training loss")
    mask_suffix: str | None = option(
        None,
        "--mask-suffix",
        help="mask name = photo name + suffix (default: the first of _bin, _mask, _label, _gt found)",
    )
    mask_dir: str | None = option(
        None, "--mask-dir", kind="folder", help="folder of the masks, if not beside the photos"
    )
    group_by: str | None = option(
        None,
        "--group-by",
        kind="regex",
        metavar="REGEX",
        help="split by groups of names (e.g. '^([^_]+)' for the camera id)",
    )
    split: str | None = option(
        None,
        "--split",
        kind="file",
        metavar="CSV",
        help="take train/valid/test from CSV instead (an earlier run's split.csv, to compare "
        "recipes on the same photos, or your own: name,split,image,mask rows, paths relative "
        "to -d; its test split may be empty)",
    )
    precision: str = option(
        "auto",
        "--precision",
        choices=PRECISIONS,
        group=RUN,
        shown=False,
        help="auto: bf16-mixed where the CPU/GPU supports it, else 32",
    )
    accelerator: str = option(
        "auto", "--accelerator", choices=ACCELERATORS, group=RUN, help="auto, cpu or gpu"
    )
    devices: int = option(
        1, "--devices", kind="int", rule=AT_LEAST_1, group=RUN, help="devices per machine"
    )
    num_nodes: int = option(
        1, "--num-nodes", kind="int", rule=AT_LEAST_1, group=RUN, help="machines"
    )
    strategy: str = option(
        "auto", "--strategy", kind="strategy", group=RUN, help="Lightning strategy, e.g. ddp"
    )
    sync_batchnorm: bool = option(
        False,
        "--sync-batchnorm",
        kind="switch",
        group=RUN,
        shown=False,
        help="synchronise BatchNorm statistics across devices",
    )
    max_time: str | None = option(
        None,
        "--max-time",
        kind="max_time",
        metavar="MINUTES|DD:HH:MM:SS",
        group=RUN,
        help="time budget: the learning-rate schedule is re-planned after each epoch to end "
        "within it (give a large -e), and training stops when it is spent",
    )
    monitor: str = option(
        "val_mIoU", "--monitor", choices=MONITORS, group=RUN, help="figure that picks best.ckpt"
    )
    patience: int | None = option(
        None,
        "--patience",
        kind="int",
        rule=AT_LEAST_1,
        group=RUN,
        help="stop after N epochs without progress",
    )
    ema: float | None = option(
        None,
        "--ema",
        kind="float",
        rule=OPEN_SHARE,
        metavar="DECAY",
        group=NETWORK,
        help="validate, keep and export an exponential moving average of the weights, "
        "updated every step (e.g. 0.99: about the last 100 steps)",
        negative=("--no-ema", "no moving average (to override --recipe)"),
    )
    unlabeled: str | None = option(
        None,
        "--unlabeled",
        kind="folder",
        metavar="DIR",
        help="photos nobody labelled (sub-folders too, at most 200 taken): the model labels "
        "them itself during training (pseudo-labels, unsure pixels left out) and learns from "
        "them too. Measured within a 20-minute CPU budget it lost 0.03 mIoU, and gained "
        "nothing with --teacher (docs/recipes.md): compare with and without on your "
        "validation photos",
    )
    pseudo_threshold: float = option(
        0.9,
        "--pseudo-threshold",
        kind="float",
        rule=OPEN_SHARE,
        metavar="P",
        help="with --unlabeled: a pixel is pseudo-labelled when the model gives its class "
        "at least this probability",
    )
    unlabeled_share: float = option(
        0.3,
        "--unlabeled-share",
        kind="float",
        rule=OPEN_SHARE,
        metavar="SHARE",
        help="with --unlabeled: share of the training crops taken from the pseudo-labelled "
        "photos once they exist",
    )
    teacher: str | None = option(
        None,
        "--teacher",
        kind="path",
        metavar="MODEL",
        help="with --unlabeled: a model with the same classes (a run folder or exported model, "
        "e.g. an earlier run or last season's) labels the photos once, before training, "
        "and its labels are used from the first epoch instead of the model's own",
    )
    compile: bool = option(
        False, "--compile", kind="switch", group=RUN, shown=False, help="torch.compile the network"
    )
    logger: str = option(
        "none", "--logger", choices=LOGGERS, group=RUN,
        help="also log to Lightning's CSV, TensorBoard or MLflow logger, in RUN/logs "
        "(the seed's Train_NAME.csv is always written)",
    )  # fmt: skip

    def __post_init__(self) -> None:
        for spec in fields(self):
            value, rule, choices = getattr(self, spec.name), spec.metadata["rule"], spec.metadata["choices"]  # fmt: skip
            if rule is not None:
                check(spec.name, value, rule)
            if choices is not None and value not in choices:
                raise ConfigError(f"{spec.name}={value!r}: choose from {', '.join(choices)}")
        parse_max_time(self.max_time)
        if self.teacher and not self.unlabeled:
            raise ConfigError(
                f"teacher={self.teacher} labels unlabeled photos: give unlabeled=DIR too"
            )
        if self.split and self.group_by:
            raise ConfigError(
                f"split={self.split} and group_by={self.group_by!r} exclude each other: the file decides"
            )
        if self.class_names is not None and len(self.class_names) != self.classes:
            raise ConfigError(
                f"class_names={','.join(self.class_names)}: {len(self.class_names)} names for "
                f"{self.classes} classes"
            )

    @property
    def names_of_classes(self) -> list[str]:
        """Class names, ``Class i`` where none were given."""
        return self.class_names or [f"Class {i}" for i in range(self.classes)]

    def save(self, path: str | Path) -> None:
        """Write the config as YAML, atomically."""
        write_text(path, yaml.safe_dump(asdict(self), sort_keys=False, allow_unicode=True))

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a config written by :meth:`save`; unknown keys are an error."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown settings {unknown}")
        return cls(**data)


@dataclass
class InferenceOptions:
    """How a model is run over photos (shared by evaluate and predict)."""

    device: str = "auto"
    tile: int = 2048
    overlap: float = 0.25
    batch_size: int = 2
    tta: bool = False
    precision: str = "auto"

    def __post_init__(self) -> None:
        check("tile", self.tile, SIDE)
        check("overlap", self.overlap, OVERLAP)
        check("batch_size", self.batch_size, AT_LEAST_1)
        if self.precision not in ("auto", "32", "bf16", "16"):
            raise ConfigError(f"precision={self.precision!r}: choose auto, 32, bf16 or 16")
