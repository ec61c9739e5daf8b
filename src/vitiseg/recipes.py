"""Measured training recipes (``vitiseg train --recipe cpu``; figures in docs/recipes.md).

Each is the set of settings that learnt most within 20 minutes of a 2-core CPU, from
scratch, on 17 labelled field photos: on a CPU with native bf16 a ResNet-18 U-Net at
scale 0.4 (validation mIoU 0.72), on one without (fp32, most laptops) a MobileNetV4 U-Net
at scale 0.3, whose steps cost 2.4 times less (0.65 and 0.67 in two sessions).
"""

from __future__ import annotations

import copy

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

CPU_BF16 = {**_COMMON, "encoder": "resnet18", "scale": 0.4, "crop_size": 416}
"""For a CPU with AVX512-BF16 or AMX (trains in bf16 mixed precision)."""

CPU_FP32 = {**_COMMON, "encoder": "tu-mobilenetv4_conv_small", "scale": 0.3, "crop_size": 320}
"""For a CPU without bf16 (AVX2 laptops: trains in fp32)."""

RECIPES = ("cpu",)


def recipe_settings(name: str, precision: str = "auto", accelerator: str = "auto") -> dict:
    """The :class:`~vitiseg.config.TrainConfig` settings of recipe ``name`` for training at
    ``precision`` on ``accelerator`` (``auto``: what this machine computes fast): the fp32
    recipe where that resolves to 32-bit, the bf16 one otherwise."""
    from vitiseg.hardware import resolve_precision  # imports torch: not at --help time

    if name != "cpu":
        raise ConfigError(f"unknown recipe {name!r}; choose from {', '.join(RECIPES)}")
    fp32 = resolve_precision(precision, accelerator) == "32"
    return copy.deepcopy(CPU_FP32 if fp32 else CPU_BF16)
