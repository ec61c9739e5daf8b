"""One dataclass per job, saved as YAML in the run folder."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path

import yaml

from vitiseg.atomic import write_text
from vitiseg.errors import ConfigError

AUGMENTATIONS = ("seed", "standard")
CLASS_WEIGHTS = ("auto", "sqrt", "none")
LOSSES = ("ce", "dice", "ce+dice", "focal", "lovasz")
PRECISIONS = ("auto", "32", "bf16-mixed", "16-mixed")


def default_workers() -> int:
    """Background loader processes: half the cores, 1 to 4."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


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
    compile: bool = False

    def __post_init__(self) -> None:
        if self.classes < 2:
            raise ConfigError(f"-c/--classes must be at least 2, got {self.classes}")
        for option, value in (
            ("-e/--epochs", self.epochs),
            ("-bs/--batch_size", self.batch_size),
            ("--crops-per-image", self.crops_per_image),
        ):
            if value < 1:
                raise ConfigError(f"{option} must be at least 1, got {value}")
        if self.crop_size < 32 or self.crop_size % 32:
            raise ConfigError(f"--crop-size must be a multiple of 32, got {self.crop_size}")
        if not 0 < self.scale <= 4:
            raise ConfigError(f"--scale must be in (0, 4], got {self.scale}")
        if self.augment not in AUGMENTATIONS:
            raise ConfigError(f"--augment {self.augment!r}: choose from {', '.join(AUGMENTATIONS)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"--loss {self.loss!r}: choose from {', '.join(LOSSES)}")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"--precision {self.precision!r}: choose from {', '.join(PRECISIONS)}"
            )
        if self.class_weights not in CLASS_WEIGHTS:
            raise ConfigError(
                f"--class-weights {self.class_weights!r}: choose {', '.join(CLASS_WEIGHTS)}"
            )
        if not 0 < self.warmup < 1:
            raise ConfigError(f"--warmup is a share of the schedule in (0, 1), got {self.warmup}")
        if self.ema is not None and not 0 < self.ema < 1:
            raise ConfigError(f"--ema is a decay between 0 and 1 (e.g. 0.99), got {self.ema}")
        if self.split and self.group_by:
            raise ConfigError("--split and --group-by exclude each other: the file decides")
        if self.class_names is not None and len(self.class_names) != self.classes:
            raise ConfigError(
                f"--class-names gives {len(self.class_names)} names for {self.classes} classes"
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
        if self.tile < 32 or self.tile % 32:
            raise ConfigError(f"--tile must be a multiple of 32, got {self.tile}")
        if not 0 <= self.overlap < 1:
            raise ConfigError(f"--overlap must be in [0, 1), got {self.overlap}")
        if self.precision not in ("auto", "32", "bf16", "16"):
            raise ConfigError(f"--precision {self.precision!r}: choose auto, 32, bf16 or 16")
