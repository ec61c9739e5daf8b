"""Canopy figures from a class mask: cover of each class, leaf cover, and an LAI estimate.

The leaf area index (LAI) here is an *estimate from cover* by the Beer-Lambert law of
light extinction: the gap fraction ``P = 1 - cover`` is ``exp(-k LAI)``, so
``LAI = -ln(1 - cover) / k``. ``k`` is the canopy extinction coefficient: 0.5 for leaves
at random (spherical) angles; values reported for vine canopies lie around 0.6-0.8, and
vitiseg uses 0.7 by default. Calibrate ``k`` against direct LAI measurements (leaf
sampling or a canopy analyser) before using the figures as LAI rather than as an index.
The seed's "LAI" was the mean of the mask, which counted class 2 twice; that is gone.
"""

from __future__ import annotations

import math

import numpy as np

from vitiseg.data.masks import IGNORE_INDEX

DEFAULT_K = 0.7
MAX_COVER = 0.99
"""Covers above this are clipped before the logarithm (full cover has no finite LAI)."""


def class_cover(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """Share of the (non-ignored) pixels in each class.

    Example:
        >>> class_cover(np.array([[0, 1], [1, 1]]), 3).tolist()
        [0.25, 0.75, 0.0]
    """
    counts = np.bincount(mask.ravel(), minlength=max(num_classes, IGNORE_INDEX + 1))[:num_classes]
    total = counts.sum()
    return counts / total if total else np.zeros(num_classes)


def lai_from_cover(cover: float, k: float = DEFAULT_K) -> float:
    """Beer-Lambert LAI estimate ``-ln(1 - cover) / k`` (cover clipped to :data:`MAX_COVER`).

    Example:
        >>> round(lai_from_cover(0.5, 0.7), 4)
        0.9902
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    if not 0 <= cover <= 1:
        raise ValueError(f"cover must be in [0, 1], got {cover}")
    return -math.log(1 - min(cover, MAX_COVER)) / k
