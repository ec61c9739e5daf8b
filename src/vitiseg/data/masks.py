"""Class masks: remapping class indices and turning colour annotations into indices."""

from __future__ import annotations

import numpy as np

from vitiseg.errors import ConfigError

IGNORE_INDEX = 255
"""Mask value for pixels that count nowhere (padding added around a photo)."""


def parse_class_map(text: str | None, num_classes: int) -> tuple[int, ...] | None:
    """Parse ``--class-map`` (``"0,1,0,0,2"``: raw value i becomes class map[i]).

    Raises:
        ConfigError: not integers, or a target outside ``0..num_classes-1``.
    """
    if not text:
        return None
    try:
        mapping = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(
            f"--class-map {text!r}: expected comma-separated integers, e.g. 0,1,0,0,2"
        ) from None
    bad = sorted({v for v in mapping if not 0 <= v < num_classes})
    if bad:
        raise ConfigError(
            f"--class-map {text!r}: targets {bad} are not classes 0..{num_classes - 1} "
            f"(-c/--classes is {num_classes})"
        )
    return mapping


def remap(mask: np.ndarray, class_map: tuple[int, ...] | None) -> np.ndarray:
    """Apply a class map to a mask of raw values (all assumed below ``len(class_map)``)."""
    if class_map is None:
        return mask.astype(np.uint8, copy=False)
    lut = np.asarray(class_map, dtype=np.uint8)
    return lut[mask]
