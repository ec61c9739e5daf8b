"""Angles in degrees (hues): one canonical form, circular mean, values unwrapped around a centre."""

from __future__ import annotations

import numpy as np

DECIMALS = 6
"""Decimals an angle keeps: below a millionth of a degree the last bits are the CPU's
kernels' noise (a smoothed 0 came back as 359.9999999999639 on one CPU)."""


def wrapped(degrees: np.ndarray | float) -> np.ndarray | float:
    """Angles in their one written form: in [0, 360), rounded to :data:`DECIMALS` (nan
    stays nan), so 0 never comes back as 360 or 359.99999999996.

    Example:
        >>> wrapped(np.array([-1e-15, 359.9999999999639, 725.0, np.nan])).tolist()
        [0.0, 0.0, 5.0, nan]
    """
    result = np.round(np.mod(np.asarray(degrees, float), 360.0), DECIMALS) % 360.0
    return float(result) if np.ndim(result) == 0 else result


def circular_mean(degrees: np.ndarray) -> float:
    """The circular mean (:func:`wrapped`) of the finite values; nan if none, or if they cancel.

    Example:
        >>> circular_mean(np.array([350.0, 10.0, 20.0]))
        6.704953
        >>> circular_mean(np.array([0.0, 180.0]))
        nan
    """
    degrees = np.asarray(degrees, float)
    radians = np.radians(degrees[np.isfinite(degrees)])
    s, c = np.sin(radians).sum(), np.cos(radians).sum()
    if not len(radians) or np.hypot(s, c) <= 1e-9 * len(radians):
        return float("nan")
    return wrapped(np.degrees(np.arctan2(s, c)))


def around(degrees: np.ndarray, centre: float) -> np.ndarray:
    """The angles as values within ``centre`` +- 180 (continuous across 0/360 when the
    angles stay near ``centre``).

    Example:
        >>> around(np.array([350.0, 10.0, 200.0]), 0.0).tolist()
        [-10.0, 10.0, -160.0]
    """
    return centre + (np.asarray(degrees, float) - centre + 180.0) % 360.0 - 180.0


def angle_difference(a, b):
    """``a - b`` (arrays, Series or numbers) as the signed shortest turn, in (-180, 180].

    Example:
        >>> angle_difference(np.array([359.9, 10.0, 90.0]), np.array([0.1, 350.0, 270.0])).round(6).tolist()
        [-0.2, 20.0, 180.0]
    """
    return 180.0 - (180.0 - (a - b)) % 360.0
