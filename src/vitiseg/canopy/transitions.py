"""Seasonal curves split at gaps, transition dates, and their bootstrap intervals.

A camera's daily values are smoothed by a smoothing spline
(:func:`scipy.interpolate.make_smoothing_spline`) within each run of days whose photos are
at most ``max_gap`` days apart (14 by default, as phenocamr fills gaps of up to 14 days):
a longer gap splits the curve, and nothing is drawn or dated inside it.

Transition dates are the days the curve first rises through 10, 25 and 50 % of its
seasonal amplitude (``min + level * (max - min)``, from the lowest point before the
maximum). Their interval comes from a residual bootstrap, as phenopix's ``uncert=TRUE``:
each replicate adds residuals drawn with replacement from the fit (within each run of
days) to the fitted values, refits the spline and dates the new curve. Smoothing rounds
the shoulders of a rise, so a spline's 10 % date comes days early; the replicates, fitted
to the already smoothed curve, come early by about as much again, so the date given is
the fit's day corrected by that shift (``2 d - median``) and the interval is the basic
bootstrap interval ``[2 d - q_hi, 2 d - q_lo]`` of the replicates' ``(1 - ci) / 2`` and
``(1 + ci) / 2`` quantiles (Davison & Hinkley 1997, eq. 5.6); when fewer than half of the
replicates find a date, the fit's own day is given without an interval. A date and its
interval stay inside the run of photos the crossing was seen in: they are cut at its
first and last photo, never reaching into a gap or before the photos began. Resampling
residuals keeps the days that have photos, so a gap stays a gap in every replicate; it
needs no second photo per day. A date is not given, and a reason is instead, when the
crossing falls in a gap (also the gap between a run too short for a curve and the
curve), when the curve is already rising at the first photo (the rise began before it),
when it is still rising at the last photo (the amplitude is unknown), or when the curve
does not rise.

The curve's pointwise band is the basic bootstrap band ``2 f - q_hi`` to ``2 f - q_lo``,
which, as the dates, corrects the smoothing's shift, widened to reach the curve ``f``
where that shift puts the curve outside it (near a rise's shoulders): it always holds
the curve it is drawn with, and still holds the true curve about as often as asked.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import make_smoothing_spline

MIN_DAYS = 5
"""Fewest days with a value for a smoothed curve (the spline needs five points)."""
MAX_GAP = 14.0
CI = 0.8
REPLICATES = 100
LEVELS = (0.10, 0.25, 0.50)
EDGE_SLOPE = 0.01
"""A curve rising faster than this share of its amplitude per day at its first (last)
photo is still rising there: its start (end) is not seen."""


@dataclass(frozen=True)
class Crossing:
    """When one level is crossed: ``day`` (nan when unknown), why it is unknown, and the
    ``threshold`` value the curve crosses (nan without an amplitude)."""

    day: float
    reason: str = ""
    gap: tuple[float, float] | None = None
    threshold: float = np.nan


@dataclass(frozen=True)
class Part:
    """One run of days without a long gap: its days, values and fitted spline (None:
    too few days to fit)."""

    x: np.ndarray
    y: np.ndarray
    fitted: Callable[[np.ndarray], np.ndarray] | None


def runs(days: np.ndarray, max_gap: float = MAX_GAP) -> list[np.ndarray]:
    """Indices of the runs of sorted ``days`` whose neighbours are at most ``max_gap`` apart.

    Example:
        >>> [r.tolist() for r in runs(np.array([0.0, 1, 2, 30, 31]), 14)]
        [[0, 1, 2], [3, 4]]
    """
    return np.split(np.arange(len(days)), np.flatnonzero(np.diff(days) > max_gap) + 1)


def spline(x: np.ndarray, y: np.ndarray, bandwidth: float | None) -> Callable | None:
    """The smoothing spline through (x, y), or None with fewer than :data:`MIN_DAYS` points;
    ``y`` may hold several series as columns (one fit, one ``lam``).

    ``lam = bandwidth^4 * density`` smooths over about ``bandwidth`` days however sparse
    the photos are (a smoothing spline acts like a kernel smoother of bandwidth
    ``(lam / density)^(1/4)``, Silverman 1984); ``bandwidth=None`` lets generalised
    cross-validation choose ``lam``.
    """
    if len(x) < MIN_DAYS:
        return None
    if np.ptp(y) == 0:  # also for several series at once, (n, k)
        return lambda days: np.full((len(days), *np.shape(y)[1:]), y[0], float)
    lam = None if bandwidth is None else bandwidth**4 * len(x) / max(np.ptp(x), 1.0)
    return make_smoothing_spline(x, y, lam=lam)


def fit(
    days: np.ndarray, values: np.ndarray, bandwidth: float | None, max_gap: float = MAX_GAP
) -> list[Part]:
    """A spline per run of days (nan values left out)."""
    ok = np.isfinite(values)
    x, y = days[ok].astype(float), values[ok].astype(float)
    return [Part(x[i], y[i], spline(x[i], y[i], bandwidth)) for i in runs(x, max_gap) if len(i)]


def evaluate(parts: list[Part], days: np.ndarray) -> np.ndarray:
    """The fitted curve at ``days``: nan outside the runs and on runs too short to fit."""
    out = np.full(len(days), np.nan)
    for part in parts:
        inside = (days >= part.x[0]) & (days <= part.x[-1])
        if part.fitted is not None and inside.any():
            out[inside] = part.fitted(days[inside])
    return out


def _replicates(
    parts: list[Part], grid: np.ndarray, bandwidth: float | None, count: int, rng
) -> np.ndarray:
    """``count`` residual-bootstrap refits of the curve on ``grid``, as columns: each run's
    fitted values plus its residuals drawn with replacement, all refitted in one call."""
    out = np.full((len(grid), count), np.nan)
    for part in parts:
        if part.fitted is None:
            continue
        smooth = part.fitted(part.x)
        residuals = part.y - smooth
        drawn = residuals[rng.integers(0, len(residuals), (len(residuals), count))]
        refitted = spline(part.x, smooth[:, None] + drawn, bandwidth)
        inside = (grid >= part.x[0]) & (grid <= part.x[-1])
        out[inside] = refitted(grid[inside])
    return out


BEFORE = "before the first photo"
IN_GAP = "in a gap"


def crossings(
    grid: np.ndarray,
    curve: np.ndarray,
    levels=LEVELS,
    base: float | None = None,
    seen: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[float, Crossing]:
    """When the curve on consecutive days ``grid`` (nan in gaps) first rises through each
    level of its amplitude, interpolated between the two days around it.

    The amplitude runs from ``base``, the trait's value on bare vines where it is known
    (leaf cover: 0, :attr:`vitiseg.canopy.trait_table.Trait.base`), else from the curve's
    lowest point before its maximum. With a known base, a curve already rising at its
    first photo is still dated at the levels it has not reached by then. ``seen`` (the
    photographed days and their values) tells a rise before the curve's first day from
    one in the gap after photos too few for a curve: with a known base, when those photos
    are all below a level, it was crossed in that gap.

    Example:
        >>> c = crossings(np.arange(7.0), np.array([0, 0, 0, 1, 2, 2, 2.0]), (0.25, 0.5))
        >>> c[0.25].day, c[0.5].day
        (2.5, 3.0)
        >>> rising = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.0])
        >>> [c.day if c.day == c.day else c.reason for c in crossings(np.arange(6.0), rising, (0.1, 0.5), 0.0).values()]
        ['before the first photo', 1.5]
    """
    valid = np.flatnonzero(np.isfinite(curve))
    if len(valid) < 2:
        return {level: Crossing(np.nan, "no smoothed curve") for level in levels}
    top = int(np.nanargmax(curve))
    first, last = valid[0], valid[-1]
    low = int(np.nanargmin(curve[: top + 1])) if base is None else first
    floor = curve[low] if base is None else base
    amplitude = curve[top] - floor
    if amplitude <= 0 or top == low:
        return {level: Crossing(np.nan, "the curve does not rise") for level in levels}
    thresholds = {level: floor + level * amplitude for level in levels}

    def before(level: float) -> Crossing:
        earlier = seen is not None and seen[0] < grid[first]
        if not np.any(earlier):
            return Crossing(np.nan, BEFORE, threshold=thresholds[level])
        days, values = seen[0][earlier], seen[1][earlier]
        if base is not None and values.max() < thresholds[level]:  # (a known floor only)
            return Crossing(np.nan, IN_GAP, (float(days.max()), float(grid[first])), thresholds[level])  # fmt: skip
        return Crossing(np.nan, "among the first photos, too few days for a curve", threshold=thresholds[level])  # fmt: skip

    rising_at_first = curve[first + 1] - curve[first] > EDGE_SLOPE * amplitude
    if base is None and low == first and rising_at_first:
        return {level: before(level) for level in levels}
    if top == last and curve[last] - curve[last - 1] > EDGE_SLOPE * amplitude:
        return {level: Crossing(np.nan, "after the last photo", threshold=thresholds[level]) for level in levels}  # fmt: skip
    found = {}
    for level, threshold in thresholds.items():
        if curve[low] >= threshold:  # a known base: the level was passed before the photos
            found[level] = before(level)
            continue
        j = low + int(np.argmax(curve[low : top + 1] >= threshold))
        before_j, after_j = curve[j - 1], curve[j]
        if not np.isfinite(before_j):
            start = valid[valid < j][-1]
            found[level] = Crossing(np.nan, IN_GAP, (float(grid[start]), float(grid[j])), threshold)
            continue
        share = (threshold - before_j) / (after_j - before_j) if after_j != before_j else 1.0
        found[level] = Crossing(float(grid[j - 1] + share * (grid[j] - grid[j - 1])), threshold=threshold)  # fmt: skip
    return found


@dataclass(frozen=True)
class Dated:
    """A transition level: its day, the interval's bounds (nan where unknown), the curve's
    value on that day, the ``threshold`` it crosses there (``base + level * amplitude``),
    the reason when there is no day, and the base its amplitude runs from (a known
    ``base``, else the curve's lowest point before its maximum; nan without a curve)."""

    level: float
    day: float
    lower: float
    upper: float
    value: float
    reason: str = ""
    gap: tuple[float, float] | None = None
    base: float = np.nan
    base_known: bool = False
    threshold: float = np.nan


def dated_transitions(
    days: np.ndarray,
    values: np.ndarray,
    bandwidth: float | None,
    max_gap: float = MAX_GAP,
    ci: float = CI,
    replicates: int = REPLICATES,
    seed: int = 0,
    levels=LEVELS,
    base: float | None = None,
) -> tuple[list[Dated], np.ndarray, np.ndarray]:
    """Transition days with bootstrap intervals, and the curve's pointwise band at ``days``
    (see :func:`_band`); levels of the
    amplitude above ``base`` where the trait's value on bare vines is known (see
    :func:`crossings`).

    Returns:
        One :class:`Dated` per level; the band's lower and upper values at ``days`` (nan
        where there is no curve).
    """
    parts = fit(days, values, bandwidth, max_gap)
    finite = np.isfinite(values)
    if not finite.any():
        nothing = np.full(len(days), np.nan)
        return [Dated(lv, np.nan, np.nan, np.nan, np.nan, "no values") for lv in levels], nothing, nothing  # fmt: skip
    grid = np.arange(days[finite].min(), days[finite].max() + 1)
    curve = evaluate(parts, grid)
    found = crossings(grid, curve, levels, base, seen=(days[finite], values[finite]))
    if base is None and np.isfinite(curve).any():
        floor = float(np.nanmin(curve[: int(np.nanargmax(curve)) + 1]))
    else:
        floor = np.nan if base is None else float(base)
    replicates_on_grid = _replicates(parts, grid, bandwidth, replicates, np.random.default_rng(seed))  # fmt: skip
    samples = np.array(
        [[c.day for c in crossings(grid, curve_b, levels, base).values()] for curve_b in replicates_on_grid.T]
    )  # fmt: skip
    quantiles = ((1 - ci) / 2, (1 + ci) / 2)
    rows = []
    for k, level in enumerate(levels):
        crossing = found[level]
        dates = samples[:, k][np.isfinite(samples[:, k])]
        day, lower, upper = crossing.day, np.nan, np.nan
        if np.isfinite(day) and len(dates) >= replicates / 2:
            # basic bootstrap: the replicates' shift from this fit's day estimates the
            # smoothing's shift from the true day (it rounds a rise's shoulders)
            high, low, middle = np.quantile(dates, (*quantiles[::-1], 0.5))
            run = next(p.x for p in parts if p.x[0] <= crossing.day <= p.x[-1])
            day, lower, upper = np.clip([2 * day - middle, 2 * day - high, 2 * day - low], run[0], run[-1])  # fmt: skip
        value = float(np.interp(day, grid, curve)) if np.isfinite(day) else np.nan
        rows.append(Dated(level, float(day), float(lower), float(upper), value, crossing.reason,
                          crossing.gap, floor, base is not None, crossing.threshold))  # fmt: skip
    return rows, *_band(parts, days, grid, replicates_on_grid, quantiles)


def _band(
    parts: list[Part], days: np.ndarray, grid: np.ndarray, on_grid: np.ndarray, quantiles
) -> tuple[np.ndarray, np.ndarray]:
    """The curve's band at ``days``: the basic bootstrap band of the replicates (columns of
    ``on_grid``), widened to hold the curve; nan without a curve."""
    offsets = (days - grid[0]).astype(int)  # days are whole days; some may lie off the grid
    inside = (offsets >= 0) & (offsets < len(grid))
    at_days = np.full((len(days), on_grid.shape[1]), np.nan)
    at_days[inside] = on_grid[offsets[inside]]
    with warnings.catch_warnings():  # days without a curve: all-nan rows give nan
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(at_days, quantiles, axis=1)
    fitted = evaluate(parts, days.astype(float))
    return np.fmin(2 * fitted - high, fitted), np.fmax(2 * fitted - low, fitted)
