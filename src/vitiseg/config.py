"""One dataclass per job, saved as YAML in the run folder."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from pathlib import Path

import yaml

from vitiseg.errors import ConfigError
from vitiseg.rules import (
    AT_LEAST_0,
    AT_LEAST_1,
    OPEN_SHARE,
    OVERLAP,
    POSITIVE,
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
BACKENDS = ("auto", "torch", "onnxruntime")


def default_workers() -> int:
    """Background loader processes: half the cores, 1 to 4."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def parse_max_time(text: str | None) -> timedelta | str | None:
    """``--max-time``: minutes (``90``) or Lightning's ``DD:HH:MM:SS``."""
    if text is None:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(minutes=float(text))
    if re.fullmatch(r"\d{2}:\d{2}:\d{2}:\d{2}", text):
        return text
    raise ConfigError(f"max_time={text!r}: give minutes (90) or DD:HH:MM:SS (00:12:00:00)")


@dataclass
class TrainConfig:
    """Everything a training run depends on; the seed's options first, with its defaults."""

    name: str
    directory: str
    output: str = f"Training_{date.today()}"
    epochs: int = 10
    batch_size: int = 8
    preload: bool = False
    classes: int = 2
    learning_rate: float = 1e-4
    weight_decay: float = 1e-4
    warmup: float = 0.3
    save_every: int | None = None
    arch: str = "Unet"
    encoder: str = "resnet50"
    encoder_weights: str = "imagenet"
    decoder_channels: list[int] | None = None
    crop_size: int = 512
    crops_per_image: int = 1
    augment: str = "seed"
    scale: float = 1.0
    workers: int = default_workers()
    seed: int = 19
    class_map: str | None = None
    class_names: list[str] | None = None
    class_weights: str = "auto"
    loss: str = "ce"
    mask_suffix: str | None = None
    mask_dir: str | None = None
    group_by: str | None = None
    split: str | None = None
    precision: str = "auto"
    accelerator: str = "auto"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"
    sync_batchnorm: bool = False
    max_time: str | None = None
    monitor: str = "val_mIoU"
    patience: int | None = None
    ema: float | None = None
    unlabeled: str | None = None
    pseudo_threshold: float = 0.9
    unlabeled_share: float = 0.3
    teacher: str | None = None
    compile: bool = False
    logger: str = "none"

    def __post_init__(self) -> None:
        for option, value, rule in (
            ("classes", self.classes, Range(low=2)),
            ("epochs", self.epochs, AT_LEAST_1),
            ("batch_size", self.batch_size, AT_LEAST_1),
            ("learning_rate", self.learning_rate, POSITIVE),
            ("weight_decay", self.weight_decay, AT_LEAST_0),
            ("save_every", self.save_every, AT_LEAST_1),
            ("crop_size", self.crop_size, SIDE),
            ("crops_per_image", self.crops_per_image, AT_LEAST_1),
            ("scale", self.scale, SCALE),
            ("workers", self.workers, AT_LEAST_0),
            ("seed", self.seed, AT_LEAST_0),
            ("devices", self.devices, AT_LEAST_1),
            ("num_nodes", self.num_nodes, AT_LEAST_1),
            ("patience", self.patience, AT_LEAST_1),
            ("warmup", self.warmup, OPEN_SHARE),
            ("ema", self.ema, OPEN_SHARE),
            ("pseudo_threshold", self.pseudo_threshold, OPEN_SHARE),
            ("unlabeled_share", self.unlabeled_share, OPEN_SHARE),
        ):
            check(option, value, rule)
        if self.augment not in AUGMENTATIONS:
            raise ConfigError(f"augment={self.augment!r}: choose from {', '.join(AUGMENTATIONS)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss={self.loss!r}: choose from {', '.join(LOSSES)}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision={self.precision!r}: choose from {', '.join(PRECISIONS)}")
        if self.class_weights not in CLASS_WEIGHTS:
            raise ConfigError(
                f"class_weights={self.class_weights!r}: choose {', '.join(CLASS_WEIGHTS)}"
            )
        if self.logger not in LOGGERS:
            raise ConfigError(f"logger={self.logger!r}: choose from {', '.join(LOGGERS)}")
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
