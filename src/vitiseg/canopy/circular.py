"""Angles in degrees (hues): circular mean, and values unwrapped around a centre."""

from __future__ import annotations

import numpy as np


def circular_mean(degrees: np.ndarray) -> float:
    """The circular mean in [0, 360) of the finite values (nan if none, or if they cancel).

    Example:
        >>> round(circular_mean(np.array([350.0, 10.0, 20.0])), 6)
        6.704953
    """
    radians = np.radians(degrees[np.isfinite(degrees)])
    s, c = np.sin(radians).sum(), np.cos(radians).sum()
    if not len(radians) or np.hypot(s, c) <= 1e-9 * len(radians):
        return float("nan")
    return float(np.degrees(np.arctan2(s, c)) % 360)


def around(degrees: np.ndarray, centre: float) -> np.ndarray:
    """The angles as values within ``centre`` +- 180 (continuous across 0/360 when the
    angles stay near ``centre``).

    Example:
        >>> around(np.array([350.0, 10.0, 200.0]), 0.0).tolist()
        [-10.0, 10.0, -160.0]
    """
    return centre + (np.asarray(degrees, float) - centre + 180.0) % 360.0 - 180.0
