"""The measured training recipe (``vitiseg train --recipe cpu``; figures in docs/recipes.md).

It is the set of settings that learnt most within 20 minutes of a 2-core CPU on 17
labelled full-HD field photos: an EfficientNet-Lite0 U-Net from the ImageNet weights its
pip package ships, at scale 0.4, on both kinds of CPU. Measured side by side on the
validation dates: with bf16 (20 minutes here) 0.753 mIoU against 0.720 for the ResNet-18
U-Net from scratch that was the recipe before; without bf16 (fp32, 20 minutes of an AVX2
laptop, emulated) 0.722 against 0.62 for a MobileNetV4 one from scratch. Other photo sizes
get a scale and crop fitted to them (:func:`fit_recipe`).
"""

from __future__ import annotations

import copy
import dataclasses

from vitiseg.config import TrainConfig
from vitiseg.errors import ConfigError

_COMMON = {
    "accelerator": "cpu",
    "encoder_weights": "none",
    "decoder_channels": [128, 64, 32, 16, 16],
    "loss": "ce+dice",
    "class_weights": "sqrt",
    "augment": "standard",
    "crops_per_image": 4,
    "learning_rate": 1e-3,
    "weight_decay": 1e-2,
    "ema": 0.99,
    "batch_size": 2,
    "epochs": 500,
    "max_time": "20",
    "preload": True,
}

CPU = {
    **_COMMON,
    "encoder": "timm-tf_efficientnet_lite0",
    "encoder_weights": "imagenet",  # from its pip package: no network
    "scale": 0.4,
    "crop_size": 416,
}
"""For a CPU, with or without bf16 (the precision training runs in is ``--precision``'s)."""

RECIPES = ("cpu",)
MEASURED_WIDTH = 1920
"""Width of the photos the recipes were measured on (the shared field photos)."""


def fitted_scale(scale: float, width: int) -> float:
    """The scale that gives a crop the share of a photo ``width`` pixels long (its long
    side) it had on the measured full-HD photos at ``scale``, never enlarging (at most 1).

    Example:
        >>> fitted_scale(0.3, 1920), fitted_scale(0.3, 3840), fitted_scale(0.3, 224)
        (0.3, 0.15, 1.0)
    """
    return min(1.0, round(scale * MEASURED_WIDTH / width, 3))


def fitted_crop(crop: int, width: int, height: int, scale: float) -> int:
    """``crop``, or the scaled photo's short side if smaller (multiples of 32, at least 64).

    Example:
        >>> fitted_crop(320, 224, 224, 1.0), fitted_crop(320, 1920, 1080, 0.3)
        (224, 320)
    """
    return max(64, min(crop, int(min(width, height) * scale) // 32 * 32))


def fit_recipe(config: TrainConfig, chosen: set[str]) -> TrainConfig:
    """``config`` (a recipe's) with scale and crop fitted to its training photos' typical
    size (:func:`fitted_scale`, :func:`fitted_crop`), except those in ``chosen`` (given by
    the user). Full-HD photos keep the recipe as measured."""
    from vitiseg.data.layout import typical_photo_size  # reads photos: not at --help time
    from vitiseg.data.prepare import split_pairs

    width, height = typical_photo_size(split_pairs(config)["train"])
    scale = config.scale if "scale" in chosen else fitted_scale(config.scale, max(width, height))
    crop = config.crop_size
    if "crop_size" not in chosen:
        crop = fitted_crop(crop, width, height, scale)
    return dataclasses.replace(config, scale=scale, crop_size=crop)


def recipe_settings(name: str) -> dict:
    """The :class:`~vitiseg.config.TrainConfig` settings of recipe ``name``, as measured on
    full-HD photos (:func:`fit_recipe` fits them to others)."""
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; choose from {', '.join(RECIPES)}")
    return copy.deepcopy(CPU)
