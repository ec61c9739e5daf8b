"""Regions of a photo: the over-segmentation whose pieces one click of the labelling page paints.

SLIC superpixels (scikit-image) of about :data:`REGION_PIXELS` photo pixels each, small
enough to follow a vine trunk or an irrigation pipe (about 15 x 15 pixels; 8,600 regions on
a full-HD photo). They are computed on a copy of at most :data:`WORK_PIXELS` pixels and
scaled back with nearest neighbours: on 7 of the shared full-HD photos, 1.1 s instead of
4.0 s at full size, for regions as good (giving each region the majority class of the true
mask agrees with 97.0 % of the pixels either way; trunk IoU 0.58, pipe 0.57).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from skimage.segmentation import slic

REGION_PIXELS = 200
"""Photo pixels per region, on average."""
WORK_PIXELS = 600_000
"""Largest copy of the photo over-segmented (a full-HD photo at a little over half size)."""
COMPACTNESS = 20.0
"""SLIC's balance of colour against distance (higher: squarer regions)."""


def over_segment(image: np.ndarray, region_pixels: int = REGION_PIXELS) -> np.ndarray:
    """The region index of each pixel of ``image`` (an RGB uint8 array): an (H, W) int32
    array numbering its connected regions 0, 1, ... with no number left out.

    Example:
        >>> image = np.zeros((20, 40, 3), np.uint8); image[:, 20:] = 255
        >>> regions = over_segment(image, region_pixels=200)  # a black half, a white half
        >>> np.unique(regions[:, :20]).tolist(), np.unique(regions[:, 20:]).tolist()
        ([0], [1])
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an (H, W, 3) uint8 array, got {image.shape} {image.dtype}")
    if region_pixels < 1:
        raise ValueError(f"region_pixels must be at least 1, got {region_pixels}")
    height, width = image.shape[:2]
    factor = min(1.0, math.sqrt(WORK_PIXELS / (height * width)))
    work = image
    if factor < 1:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        work = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    count = max(1, round(height * width / region_pixels))
    labels = slic(work, n_segments=count, compactness=COMPACTNESS, start_label=0, channel_axis=-1)
    labels = labels.astype(np.int32)
    if factor < 1:
        labels = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
    return _renumbered(labels)


def _renumbered(labels: np.ndarray) -> np.ndarray:
    """``labels`` (from 0) numbered 0, 1, ... with no number left out, order kept."""
    present = np.bincount(labels.ravel()) > 0
    return (np.cumsum(present, dtype=np.int32) - 1)[labels]


def region_bytes(regions: np.ndarray) -> tuple[bytes, int]:
    """``regions`` as little-endian bytes for the page, and the bytes per pixel: 2 where
    fewer than 65,536 regions allow it, else 4.

    Example:
        >>> region_bytes(np.array([[0, 1], [1, 2]], np.int32))
        (b'\\x00\\x00\\x01\\x00\\x01\\x00\\x02\\x00', 2)
    """
    size = 2 if int(regions.max(initial=0)) < 1 << 16 else 4
    return np.ascontiguousarray(regions, dtype=f"<u{size}").tobytes(), size
