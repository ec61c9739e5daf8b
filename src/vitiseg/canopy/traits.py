"""Canopy traits of one photo from its class mask (and the photo, for colours).

Every function is plain maths over numpy arrays. A trait that cannot be measured on a
photo (no leaf pixels, no inter-row class) is ``nan``, never 0, so that it stays empty in
tables and out of means and medians.

The traits, as columns of ``canopy.csv`` (:func:`photo_traits`):

- ``cover_NAME``: share of the photo's pixels in each class; ``leaf_cover``, the leaf's.
- ``lai_estimate``: Beer-Lambert estimate ``-ln(1 - leaf_cover) / k`` (:mod:`vitiseg.canopy.cover`).
- ``canopy_height``, ``canopy_height_px``: median over the columns with leaves of the
  vertical extent of the leaves, as a share of the photo's height and in pixels.
- ``porosity``, ``porosity_rule``: share of gaps inside the canopy band.
- ``leaf_hue``, ``inter_row_hue``: circular mean hue (degrees) of those pixels.
- ``leaf_gcc``, ``leaf_gcc_p90``: mean and 90th percentile of G / (R + G + B) over leaves.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage

from vitiseg.canopy import cover
from vitiseg.canopy.circular import circular_mean
from vitiseg.canopy.roles import Roles
from vitiseg.data.masks import IGNORE_INDEX, values_outside
from vitiseg.errors import DataError

MIN_PATCH = 1e-4
"""Leaf patches smaller than this share of the photo are ignored by height and porosity."""


def leaf_columns(leaf: np.ndarray, min_patch: float = MIN_PATCH) -> tuple[np.ndarray, ...]:
    """Top and bottom leaf row of each column with leaves, stray patches removed first.

    Connected leaf patches (4-connected) smaller than ``min_patch`` of the photo's pixels
    are dropped, so a few stray pixels neither make a column leafy nor stretch one.

    Returns:
        ``(columns, top, bottom)``: the indices of the leafy columns and, for each, the
        first and last row holding a leaf pixel.
    """
    if leaf.ndim != 2:
        raise ValueError(f"leaf must be a 2-D boolean mask, got shape {leaf.shape}")
    smallest = min_patch * leaf.size
    if smallest > 1 and leaf.any():
        labels, count = ndimage.label(leaf)
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        keep = sizes >= smallest
        keep[0] = False
        leaf = keep[labels]
    columns = np.flatnonzero(leaf.any(axis=0))
    rows = leaf[:, columns]
    top = rows.argmax(axis=0)
    bottom = leaf.shape[0] - 1 - rows[::-1].argmax(axis=0)
    return columns, top, bottom


def canopy_height(
    leaf: np.ndarray, min_patch: float = MIN_PATCH, columns: tuple[np.ndarray, ...] | None = None
) -> tuple[float, float]:
    """Canopy height as a share of the photo's height and in pixels.

    ``height_px = median over leafy columns c of (bottom_c - top_c + 1)`` where ``top_c``
    and ``bottom_c`` are the first and last leaf rows of column c (see
    :func:`leaf_columns`); ``height = height_px / H``. The median over columns (not the
    first and last leaf rows of the whole photo) keeps a few stray pixels from moving it.

    Example:
        >>> leaf = np.zeros((10, 4), bool); leaf[2:6, 1:3] = True
        >>> canopy_height(leaf)
        (0.4, 4.0)
    """
    columns, top, bottom = columns or leaf_columns(leaf, min_patch)
    if not len(columns):
        return math.nan, math.nan
    pixels = float(np.median(bottom - top + 1))
    return pixels / leaf.shape[0], pixels


def base_line(mask: np.ndarray, roles: Roles) -> tuple[np.ndarray | None, str]:
    """Row of the canopy's base line in every column, and the rule that found it.

    - ``pipe``: the top pipe row of each column holding pipe pixels, fitted by a straight
      line ``row = a * column + b`` (least squares) over those columns; at least two
      columns of pipe are needed.
    - ``trunk``: else, a level line at the median over trunk columns of the top trunk
      row (where the trunk disappears into the canopy).
    - ``leaf-bottom``: else (no such class, or none in this photo), None: the band ends at
      each column's bottom leaf row.
    """
    height, width = mask.shape
    if roles.pipe is not None:
        pipe = mask == roles.pipe
        columns = np.flatnonzero(pipe.any(axis=0))
        if len(columns) >= 2:
            top = pipe[:, columns].argmax(axis=0)
            a, b = np.polyfit(columns, top, 1)
            return a * np.arange(width) + b, "pipe"
    if roles.trunk is not None:
        trunk = mask == roles.trunk
        columns = np.flatnonzero(trunk.any(axis=0))
        if len(columns):
            level = float(np.median(trunk[:, columns].argmax(axis=0)))
            return np.full(width, level), "trunk"
    return None, "leaf-bottom"


def porosity(
    mask: np.ndarray, roles: Roles, min_patch: float = MIN_PATCH,
    columns: tuple[np.ndarray, ...] | None = None,
) -> tuple[float, str]:  # fmt: skip
    """Share of gaps (non-leaf pixels) inside the canopy band, and the base rule used.

    The band of a leafy column c runs from its top leaf row ``top_c`` down to its base
    ``base_c``: the base line of :func:`base_line` (pipe, else trunk) rounded to a row and
    kept inside the photo, else the column's bottom leaf row ``bottom_c``.
    ``porosity = 1 - (leaf pixels in the bands) / (pixels in the bands)``; ignored
    pixels count in neither. Columns whose base line lies above their top leaf are left
    out; nan where no band remains.

    Example:
        >>> mask = np.zeros((6, 2), int); mask[1:4, :] = 1; mask[2, 0] = 0
        >>> porosity(mask, Roles(leaf=1))
        (0.16666666666666663, 'leaf-bottom')
    """
    columns, top, bottom = columns or leaf_columns(mask == roles.leaf, min_patch)
    line, rule = base_line(mask, roles)
    if line is None:
        base = bottom
    else:
        base = np.clip(np.rint(line[columns]).astype(int), 0, mask.shape[0] - 1)
    keep = base >= top
    columns, top, base = columns[keep], top[keep], base[keep]
    if not len(columns):
        return math.nan, rule
    rows = np.arange(mask.shape[0])[:, None]
    band = (rows >= top) & (rows <= base)
    sub = mask[:, columns]
    valid = band & (sub != IGNORE_INDEX)
    total = int(valid.sum())
    if not total:
        return math.nan, rule
    return 1.0 - int((valid & (sub == roles.leaf)).sum()) / total, rule


def hue_degrees(pixels: np.ndarray) -> np.ndarray:
    """HSV hue in degrees [0, 360) of RGB uint8 pixels (``N x 3``); nan for greys.

    Greys (R = G = B) have no hue and are left out of hue means.
    """
    pixels = np.asarray(pixels, np.uint8).reshape(-1, 1, 3)
    if not len(pixels):
        return np.zeros(0)
    hsv = cv2.cvtColor(pixels.astype(np.float32) / 255, cv2.COLOR_RGB2HSV).reshape(-1, 3)
    hue = hsv[:, 0].astype(np.float64)
    hue[hsv[:, 1] == 0] = math.nan  # saturation 0: max = min, a grey (or black)
    return hue


def class_hue(
    image: np.ndarray, mask: np.ndarray, index: int | None, hues: np.ndarray | None = None
) -> float:
    """Circular mean hue in degrees of the pixels of class ``index`` (nan if none);
    ``hues``: the image's :func:`hue_degrees` as (H, W), if already computed."""
    if index is None:
        return math.nan
    inside = mask == index
    return circular_mean(hue_degrees(image[inside]) if hues is None else hues[inside])


def gcc(image: np.ndarray, mask: np.ndarray, index: int) -> tuple[float, float]:
    """Green chromatic coordinate ``G / (R + G + B)`` over a class: mean and 90th percentile.

    Pixels with ``R + G + B = 0`` are left out; nan where no pixel remains. The
    percentile is numpy's linear one.

    Example:
        >>> image = np.array([[[10, 20, 10], [0, 30, 30]]], np.uint8)
        >>> gcc(image, np.array([[1, 1]]), 1)
        (0.5, 0.5)
    """
    inside = mask == index
    red, green, blue = (image[..., channel][inside].astype(np.int32) for channel in range(3))
    total = red + green + blue
    lit = total > 0
    if not lit.any():
        return math.nan, math.nan
    values = green[lit] / total[lit]
    return float(values.mean()), float(np.percentile(values, 90))


def check_mask(mask: np.ndarray, classes: int) -> None:
    """Refuse a mask that is not a 2-D array of class indices ``0..classes-1`` (or
    :data:`vitiseg.data.masks.IGNORE_INDEX`, pixels that count nowhere).

    Raises:
        DataError: another shape, a dtype other than integers (float, bool), or values
            outside the classes (negative, or the class count and above), named.

    Example:
        >>> check_mask(np.array([[0, 3]]), 3)
        Traceback (most recent call last):
        ...
        vitiseg.errors.DataError: mask values [3] are not classes 0..2 (nor 255, ignored pixels)
    """
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        shape = getattr(mask, "shape", type(mask).__name__)
        raise DataError(f"mask of shape {shape}: give a 2-D array of class indices (H, W)")
    if not np.issubdtype(mask.dtype, np.integer):
        raise DataError(
            f"mask of dtype {mask.dtype}: give integer class indices 0..{classes - 1} "
            "(a predicted mask is uint8)"
        )
    outside = mask.size and (mask.min() < 0 or mask.max() >= classes)  # cheap, before unique
    if outside and (bad := values_outside(mask, classes, ignored=True)):
        shown = ", ".join(str(v) for v in bad[:10]) + (", ..." if len(bad) > 10 else "")
        raise DataError(
            f"mask values [{shown}] are not classes 0..{classes - 1} "
            f"(nor {IGNORE_INDEX}, ignored pixels)"
        )


def photo_traits(
    mask: np.ndarray,
    image: np.ndarray | None,
    roles: Roles,
    class_names: list[str],
    k: float = cover.DEFAULT_K,
) -> dict:
    """The trait columns of one photo's row: ``cover_NAME`` for each class, then
    :data:`vitiseg.canopy.trait_table.COLUMNS`. Without ``image`` the colour traits are nan.

    Raises:
        DataError: a mask that is not class indices (:func:`check_mask`), or a mask and
            photo that differ in size.
    """
    check_mask(mask, len(class_names))
    if image is not None and image.shape[:2] != mask.shape:
        raise DataError(
            f"mask {mask.shape[1]}x{mask.shape[0]} and photo {image.shape[1]}x{image.shape[0]} differ in size"
        )
    covers = cover.class_cover(mask, len(class_names))
    leaf_hue = inter_row_hue = leaf_gcc = leaf_gcc_p90 = math.nan
    if image is not None:
        hues = hue_degrees(image).reshape(mask.shape)  # once for both classes
        inter_row_hue = class_hue(image, mask, roles.inter_row, hues)
    if roles.leaf is None:  # no class is leaf: no leaf traits
        leaf_cover = height = height_px = gaps = math.nan
        rule = ""
    else:
        leaf_cover = float(covers[roles.leaf])
        leaf = mask == roles.leaf
        columns = leaf_columns(leaf)  # once for both
        height, height_px = canopy_height(leaf, columns=columns)
        gaps, rule = porosity(mask, roles, columns=columns)
        if image is not None:
            leaf_hue = class_hue(image, mask, roles.leaf, hues)
            leaf_gcc, leaf_gcc_p90 = gcc(image, mask, roles.leaf)
    row = {f"cover_{name}": _round(c, 6) for name, c in zip(class_names, covers, strict=True)}
    return row | {
        "leaf_cover": _round(leaf_cover, 6),
        "lai_estimate": math.nan
        if roles.leaf is None
        else _round(cover.lai_from_cover(leaf_cover, k), 4),
        "canopy_height": _round(height, 6),
        "canopy_height_px": height_px,
        "porosity": _round(gaps, 6),
        "porosity_rule": rule,
        "leaf_hue": _round(leaf_hue, 3),
        "inter_row_hue": _round(inter_row_hue, 3),
        "leaf_gcc": _round(leaf_gcc, 6),
        "leaf_gcc_p90": _round(leaf_gcc_p90, 6),
    }


def _round(value: float, digits: int) -> float:
    return value if math.isnan(value) else round(float(value), digits)
