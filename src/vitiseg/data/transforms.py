"""Augmentations: the seed's for training, deterministic padding for validation and test.

Transforms work on uint8 RGB arrays; ImageNet normalisation happens on the device
(see :func:`vitiseg.engine.network.normalize`), so batches travel as uint8.
"""

from __future__ import annotations

import albumentations as A
import cv2

from vitiseg.config import AUGMENTATIONS
from vitiseg.data.masks import IGNORE_INDEX

"""U-Net with encoder depth 5 needs sides divisible by 2**5."""


def _pad_and_crop(crop_size: int) -> list[A.BasicTransform]:
    """Pad photos smaller than the crop (padding ignored by the loss), then crop."""
    return [
        A.PadIfNeeded(
            crop_size, crop_size, border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=IGNORE_INDEX
        ),
        A.RandomCrop(crop_size, crop_size),
    ]


def train_transform(crop_size: int = 512, augment: str = "seed") -> A.Compose:
    """Training augmentation.

    ``seed``: the seed's (CLAHE, gamma, flip, grid distortion, brightening).
    ``standard``: the segmentation toolboxes' recipe (MMSegmentation, nnU-Net): scale
    jitter 0.75-1.33 before the crop, flip, mild symmetric photometric changes; no
    CLAHE, which evaluation never applies.
    """
    if augment == "seed":
        return A.Compose(
            [
                *_pad_and_crop(crop_size),
                A.CLAHE(),
                A.RandomGamma(),
                A.HorizontalFlip(),
                A.GridDistortion(p=0.2),
                A.RandomBrightnessContrast((0, 0.5), (0, 0.5)),
            ]
        )
    if augment == "standard":
        return A.Compose(
            [
                A.RandomScale((-0.25, 0.33), area_for_downscale="image", p=1),
                *_pad_and_crop(crop_size),
                A.HorizontalFlip(),
                A.RandomBrightnessContrast(0.2, 0.2),
                A.HueSaturationValue(5, 15, 10),
            ]
        )
    raise ValueError(f"unknown augmentation {augment!r}; choose from {', '.join(AUGMENTATIONS)}")


def eval_transform(divisor: int) -> A.Compose:
    """Deterministic: pad bottom/right to a multiple of ``divisor`` (the encoder's output
    stride), padded pixels ignored."""
    return A.Compose(
        [
            A.PadIfNeeded(
                min_height=None,
                min_width=None,
                pad_height_divisor=divisor,
                pad_width_divisor=divisor,
                position="top_left",
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=IGNORE_INDEX,
            )
        ]
    )
