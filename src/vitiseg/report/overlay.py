"""Photos blended with their class colours (the fixed palette), and side-by-side panels."""

from __future__ import annotations

import numpy as np
from PIL import Image

from vitiseg.data.masks import IGNORE_INDEX
from vitiseg.data.palette import palette


def overlay(
    image: np.ndarray, mask: np.ndarray, num_classes: int, alpha: float = 0.5
) -> np.ndarray:
    """Blend class colours over the photo; class 0 (background) and ignored pixels stay as is."""
    colours = palette(max(num_classes, int(mask[mask != IGNORE_INDEX].max(initial=0)) + 1))
    coloured = colours[np.where(mask == IGNORE_INDEX, 0, mask)]
    blend = image.astype(np.float32) * (1 - alpha) + coloured.astype(np.float32) * alpha
    keep = (mask == 0) | (mask == IGNORE_INDEX)
    blend[keep] = image[keep]
    return blend.astype(np.uint8)


def side_by_side(
    image: np.ndarray, truth: np.ndarray, prediction: np.ndarray, num_classes: int
) -> np.ndarray:
    """Photo | ground truth | prediction, left to right."""
    return np.concatenate(
        [image, overlay(image, truth, num_classes), overlay(image, prediction, num_classes)], axis=1
    )


def palette_png(mask: np.ndarray, num_classes: int) -> Image.Image:
    """A palette PNG image: pixel values are class indices, shown in the fixed colours."""
    picture = Image.fromarray(mask.astype(np.uint8), mode="P")
    colours = palette(max(num_classes, 256))
    picture.putpalette(colours.ravel().tolist())
    return picture
