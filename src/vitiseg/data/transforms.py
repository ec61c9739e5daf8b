"""Augmentations: the seed's for training, deterministic padding for validation and test.

Transforms work on uint8 RGB arrays; ImageNet normalisation happens on the device
(see :func:`vitiseg.model.normalize`), so batches travel as uint8.
"""

from __future__ import annotations

import albumentations as A
import cv2

from vitiseg.data.masks import IGNORE_INDEX

SIZE_DIVISOR = 32
"""U-Net with encoder depth 5 needs sides divisible by 2**5."""


def train_transform(crop_size: int = 512) -> A.Compose:
    """The seed's training augmentation, with padding (ignored in the loss) for small photos."""
    return A.Compose(
        [
            A.PadIfNeeded(
                crop_size,
                crop_size,
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=IGNORE_INDEX,
            ),
            A.RandomCrop(crop_size, crop_size),
            A.CLAHE(),
            A.RandomGamma(),
            A.HorizontalFlip(),
            A.GridDistortion(p=0.2),
            A.RandomBrightnessContrast((0, 0.5), (0, 0.5)),
        ]
    )


def eval_transform() -> A.Compose:
    """Deterministic: pad bottom/right to a multiple of 32, padded pixels ignored."""
    return A.Compose(
        [
            A.PadIfNeeded(
                min_height=None,
                min_width=None,
                pad_height_divisor=SIZE_DIVISOR,
                pad_width_divisor=SIZE_DIVISOR,
                position="top_left",
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=IGNORE_INDEX,
            )
        ]
    )
