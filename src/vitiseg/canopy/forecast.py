"""A camera's traits over the next days, with prediction intervals, and the rolling-origin
backtest that chose how.

The history of a forecast is the camera's daily values of its last run of photos (days
with a photo at most ``max_gap`` apart, as the season's curves: a longer gap restarts it),
on a daily grid; days without a photo are interpolated for the filter and never scored.
Each trait is forecast on its own scale, so values and bands stay inside its bounds
(:attr:`vitiseg.canopy.trait_table.Trait.bounds`): logit for a share (0-1), log for a
positive value; a hue is unwrapped around the run's circular mean
(:func:`~vitiseg.canopy.circular.around`), forecast, then wrapped.

The method is exponential smoothing (statsmodels'
:class:`~statsmodels.tsa.holtwinters.ExponentialSmoothing`), with a damped additive trend
for the traits that grow, with its smoothing parameters fixed per trait (:data:`CHOSEN`) by
the backtest of the two real seasons in ``../shared/data/agrocam-vine``
(``python benchmarks/forecast.py --choose``), not fitted per series: fitted by maximum
likelihood, which scores one-day-ahead errors, the same model forecast 7 and 15 days
ahead worse than the last value did. The filter runs once over the history; its state on
each day is the forecast made that day (``level + trend * (phi + ... + phi^h)``, what
``forecast`` of its results gives at the end), so the series' own earlier forecasts cost
nothing.

The prediction interval is split-conformal: at horizon ``h``, the forecast plus or minus
the ``ci`` quantile of the absolute errors of the same series' ``h``-day forecasts from its
last :data:`WINDOW` origins whose ``h``-th day is already seen; with fewer than
:data:`MIN_ERRORS` of those, the errors of the longest shorter horizon that has them,
scaled by ``h / k``. The quantile of ``n`` errors is taken at the ``(n + 1) ci``-th place,
interpolated: a new error exchangeable with ``n`` others falls below the ``k``-th smallest
with probability ``k / (n + 1)``, so the band holds about ``ci`` on average, where conformal's
usual ``ceil((n + 1) ci)``-th smallest holds at least ``ci`` (13 / 16 = 81 % with 15 errors). The band is
clipped to the trait's bounds (a hue's is wrapped).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from vitiseg.canopy.circular import angle_difference, around, circular_mean, wrapped
from vitiseg.canopy.trait_table import BY_NAME
from vitiseg.canopy.transitions import MAX_GAP, runs

HORIZON = 15
"""Days ahead, as the data's author forecasts (15 days from the last 15 photos)."""
CI = 0.8
MIN_DAYS = 15
"""Fewest days with a value in the last run of photos for a forecast."""
WINDOW = 15
"""Origins whose errors make an interval: the last 15, which follow the season's phase. In
the backtest of the two real seasons (12 traits, at 7 and 15 days) the 80 % bands covered
75-85 % in 19 of the 24 cases with 15 origins, 12 with 10, 16 with 20, 15 with 30, 12 with
60 (with conformal's ``ceil((n + 1) ci)``-th error instead of the interpolated quantile:
16 with 15 origins)."""
MIN_ERRORS = 10
TREND_DAYS = 15
"""Days the straight-line baseline is fitted on."""
EPS = 1e-3
"""Shares are clipped to [EPS, 1 - EPS] (positive values to EPS) before their logit (log)."""


@dataclass(frozen=True)
class Method:
    """How a series is forecast: ``damped`` (exponential smoothing: ``alpha`` for the level,
    ``beta`` for a trend damped by ``phi`` per day; ``beta`` 0: a smoothed level, no
    trend), ``persistence`` (the last value) or ``trend`` (a straight line through the
    last :data:`TREND_DAYS` days, least squares)."""

    kind: str
    alpha: float = 1.0
    beta: float = 0.0
    phi: float = 1.0

    def describe(self, trait: str) -> str:
        """``damped trend (alpha 0.6, beta 0.05, phi 0.95; logit scale)``, as ``forecast.csv``
        names it.

        Example:
            >>> Method("damped", 0.2).describe("leaf_hue")
            'smoothed level (alpha 0.2; on the circle)'
        """
        if self.kind == "persistence":
            return "persistence (last value)"
        if self.kind == "trend":
            return f"straight line ({TREND_DAYS} days)"
        where = {"logit": "logit scale", "log": "log scale", "circle": "on the circle"}
        suffix = f"; {where[scale(trait)]}" if scale(trait) in where else ""
        if self.beta == 0:
            return f"smoothed level (alpha {self.alpha:g}{suffix})"
        return f"damped trend (alpha {self.alpha:g}, beta {self.beta:g}, phi {self.phi:g}{suffix})"


PERSISTENCE = Method("persistence")
TREND = Method("trend")
BASELINES = (PERSISTENCE, TREND)
DEFAULT = Method("damped", 0.6, 0.05, 0.95)
CHOSEN: dict[str, Method] = {
    "leaf_cover": Method("damped", 0.4, 0.1, 0.95),  # 0.80 (vitiseg)
    "lai_estimate": Method("damped", 0.8, 0.05, 0.95),  # 0.89 (vitiseg)
    "canopy_height": Method("damped", 0.6, 0.02, 0.95),  # 0.92 (vitiseg), 0.92 (author)
    "porosity": Method("damped", 0.2, 0.05, 0.95),  # 0.88, 0.88
    "leaf_hue": Method("damped", 0.4, 0.1, 0.95),  # 0.85, 0.89
    "inter_row_hue": Method("damped", 0.8, 0.02, 0.8),  # 1.00, 1.00: no better than persistence
    "leaf_gcc": Method("damped", 0.2, 0.05, 0.95),  # 0.95 (vitiseg)
    "leaf_gcc_p90": Method("damped", 0.2),  # 0.89 (vitiseg)
}
"""Each trait's method: the best of the grid of ``benchmarks/forecast.py --choose`` (alpha
0.2-1, beta 0-0.1, phi 0.8-0.95, 50 settings) by its mean absolute error over
persistence's (the mean of 7 and 15 days ahead; in the comments) on the worse of the two
real seasons that have the trait (vitiseg's own traits, and the data's author's). The
setting best on one season alone can do worse than persistence on the other (canopy
height: 1.11 and 1.13), so a setting must do on both. Chosen on the seasons they are
scored on: the backtest's figures are in-sample for these 3 numbers per trait."""


def scale(trait: str) -> str:
    """The scale ``trait`` is forecast on: ``logit`` (both bounds), ``log`` (a lower bound),
    ``circle`` (a hue) or ``linear``.

    Example:
        >>> scale("leaf_cover"), scale("lai_estimate"), scale("leaf_hue")
        ('logit', 'log', 'circle')
    """
    info = BY_NAME[trait]
    low, high = info.bounds
    if info.circular:
        return "circle"
    if low is not None and high is not None:
        return "logit"
    return "log" if low is not None else "linear"


def to_scale(values: np.ndarray, trait: str) -> np.ndarray:
    """Values on the scale :func:`scale` names (clipped :data:`EPS` inside the bounds)."""
    low, high = BY_NAME[trait].bounds
    kind = scale(trait)
    if kind == "logit":
        return logit(np.clip((values - low) / (high - low), EPS, 1 - EPS))
    if kind == "log":
        return np.log(np.maximum(values - low, EPS))
    return values


def from_scale(values: np.ndarray, trait: str) -> np.ndarray:
    """The inverse of :func:`to_scale`.

    Example:
        >>> float(from_scale(to_scale(np.array(0.3), "leaf_cover"), "leaf_cover"))
        0.3
    """
    low, high = BY_NAME[trait].bounds
    kind = scale(trait)
    if kind == "logit":
        return low + (high - low) * expit(values)
    if kind == "log":
        return low + np.exp(values)
    return values


@dataclass(frozen=True)
class Run:
    """One run of days without a long gap, on a daily grid: day ``start + i`` holds
    ``observed[i]`` (nan without a photo; a hue unwrapped around the run's circular mean)."""

    start: float
    observed: np.ndarray

    @property
    def seen(self) -> np.ndarray:
        """Which grid days have a value."""
        return np.isfinite(self.observed)

    @property
    def filled(self) -> np.ndarray:
        """The values with days between photos interpolated (each day's value depends only
        on the photos up to the next one, never later)."""
        grid = np.arange(len(self.observed), dtype=float)
        return np.interp(grid, grid[self.seen], self.observed[self.seen])


def history(
    days: np.ndarray, values: np.ndarray, circular: bool = False, max_gap: float = MAX_GAP
) -> list[Run]:
    """The runs of a series (whole day numbers, in any order; nan values left out), split
    where photos are more than ``max_gap`` days apart.

    Raises:
        ValueError: a day given twice, or days that are not whole numbers.

    Example:
        >>> [(r.start, len(r.observed)) for r in history(np.array([5.0, 0, 1, 3]), np.ones(4), max_gap=1.5)]
        [(0.0, 2), (3.0, 1), (5.0, 1)]
    """
    days, values = np.asarray(days, float), np.asarray(values, float)
    ok = np.isfinite(values) & np.isfinite(days)
    order = np.argsort(days[ok], kind="stable")
    x, y = days[ok][order], values[ok][order]
    if np.any(np.diff(x) == 0):
        raise ValueError("a day appears twice: give one value per day (the day's median)")
    if np.any(x != np.round(x)):
        raise ValueError("days must be whole day numbers")
    found = []
    for index in runs(x, max_gap):
        if not len(index):
            continue
        part_x, part_y = x[index], y[index]
        if circular:
            part_y = around(part_y, circular_mean(part_y))
        observed = np.full(int(part_x[-1] - part_x[0]) + 1, np.nan)
        observed[(part_x - part_x[0]).astype(int)] = part_y
        found.append(Run(float(part_x[0]), observed))
    return found


def rolling_forecasts(run: Run, trait: str, method: Method, horizon: int) -> np.ndarray:
    """The forecast made on each day of ``run`` for each of the next ``horizon`` days: an
    array (days, horizon), on the trait's units (a hue unwrapped as the run's values).

    Example:
        >>> run = Run(0.0, np.array([0.1, 0.2, 0.3, 0.4]))
        >>> rolling_forecasts(run, "leaf_cover", PERSISTENCE, 2)[-1].tolist()
        [0.4, 0.4]
    """
    filled = run.filled
    steps = np.arange(1, horizon + 1)
    if method.kind == "persistence":
        return np.repeat(filled[:, None], horizon, axis=1)
    if method.kind == "trend":
        return _straight_lines(run, steps, trait)
    z = to_scale(filled, trait)
    trended = method.beta > 0
    with warnings.catch_warnings():  # a constant or very short run: statsmodels' warnings
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(
            z, trend="add" if trended else None, damped_trend=trended,
            initialization_method="known", initial_level=z[0],
            initial_trend=0.0 if trended else None,
        )  # fmt: skip
        fitted = model.fit(
            smoothing_level=method.alpha,
            smoothing_trend=method.beta if trended else None,
            damping_trend=method.phi if trended else None,
            optimized=False,
        )
    level = np.asarray(fitted.level, float)
    slope = np.asarray(fitted.trend, float) if trended else np.zeros_like(level)
    ahead = np.cumsum(method.phi**steps) if trended else steps * 0.0
    return from_scale(level[:, None] + slope[:, None] * ahead[None, :], trait)


def _straight_lines(run: Run, steps: np.ndarray, trait: str) -> np.ndarray:
    """Least-squares lines through each day's last :data:`TREND_DAYS` days with a value,
    extended ``steps`` days (clipped to the trait's bounds; the last value with one day)."""
    out = np.full((len(run.observed), len(steps)), np.nan)
    grid = np.arange(len(run.observed), dtype=float)
    seen = run.seen
    for t in range(len(grid)):
        window = seen & (grid <= t) & (grid > t - TREND_DAYS)
        x, y = grid[window], run.observed[window]
        if len(x) >= 2:
            slope, intercept = np.polyfit(x, y, 1)
            out[t] = intercept + slope * (t + steps)
        elif len(x):
            out[t] = y[-1]
    return BY_NAME[trait].inside(out)


def forecast_errors(run: Run, forecasts: np.ndarray, circular: bool = False) -> np.ndarray:
    """``forecast - value`` for each day with a photo (row) and horizon (column), nan where
    either is missing (hues: the shortest turn)."""
    n, horizon = forecasts.shape
    errors = np.full((n, horizon), np.nan)
    for h in range(1, min(horizon, n - 1) + 1):
        seen = run.observed[h:]
        diff = angle_difference(forecasts[: n - h, h - 1], seen) if circular else forecasts[: n - h, h - 1] - seen  # fmt: skip
        errors[: n - h, h - 1] = diff
    errors[~run.seen] = np.nan  # a forecast is made on a day with a photo
    return errors


def half_widths(
    errors: np.ndarray, origin: int, ci: float = CI, window: int | None = None
) -> np.ndarray:
    """Each horizon's interval half-width at ``origin`` (a row of ``errors``), from the
    errors already seen there (module docstring); nan where too few.

    Example:
        >>> errors = np.tile(np.arange(1.0, 21.0)[:, None], (1, 2))  # |error| 1...20
        >>> half_widths(errors, 20, ci=0.8).tolist()  # the last 15 seen: 6...20 (5...19)
        [17.8, 16.8]
        >>> half_widths(errors, 20, ci=0.8, window=30).tolist()  # all 20 (19): 16.8th (16th)
        [16.8, 16.0]
    """
    horizon = errors.shape[1]
    window = WINDOW if window is None else window
    seen = [_seen_errors(errors, origin, h, window) for h in range(1, horizon + 1)]
    out = np.full(horizon, np.nan)
    for h in range(1, horizon + 1):
        usable = [k for k in range(h, 0, -1) if len(seen[k - 1]) >= MIN_ERRORS]
        if not usable:
            continue
        k = usable[0]
        out[h - 1] = _conformal_quantile(seen[k - 1], ci) * h / k
    return out


def _seen_errors(errors: np.ndarray, origin: int, h: int, window: int) -> np.ndarray:
    """Absolute ``h``-day errors of the last ``window`` origins whose ``h``-th day is at
    most ``origin``."""
    last = origin - h
    if last < 0:
        return np.empty(0)
    column = errors[max(0, last - window + 1) : last + 1, h - 1]
    return np.abs(column[np.isfinite(column)])


def _conformal_quantile(absolute: np.ndarray, ci: float) -> float:
    """The ``ci`` quantile of ``n`` absolute errors at the ``(n + 1) ci``-th place,
    interpolated (numpy's ``weibull`` method; the largest beyond ``n``).

    Example:
        >>> _conformal_quantile(np.arange(1.0, 16.0), 0.8)  # 15 errors: the 12.8th
        12.8
    """
    return float(np.quantile(absolute, ci, method="weibull"))


@dataclass(frozen=True)
class Forecast:
    """A series' forecast: ``ahead`` days after its last photo, the values and their band;
    ``reason`` instead when there is none."""

    ahead: np.ndarray
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    method: str
    reason: str = ""
    since: float = np.nan
    """The first day of the history used."""


def forecast_series(
    days: np.ndarray,
    values: np.ndarray,
    trait: str,
    horizon: int = HORIZON,
    ci: float = CI,
    max_gap: float = MAX_GAP,
    method: Method | None = None,
    lead: int = 0,
) -> Forecast:
    """Forecast one camera's daily ``trait`` for the ``horizon`` days after ``lead`` days
    past its last photo (``lead`` > 0: the forecast's origin is later than that photo).

    Args:
        days: whole day numbers, in any order, one value each (nan: none that day).
        method: None for the trait's :data:`CHOSEN` method.
    """
    method = method or CHOSEN.get(trait, DEFAULT)
    circular = BY_NAME[trait].circular
    runs_ = history(days, values, circular, max_gap)
    nothing = np.empty(0)
    if not runs_:
        return Forecast(nothing, nothing, nothing, nothing, "", "no values")
    run = runs_[-1]
    count = int(run.seen.sum())
    if count < MIN_DAYS:
        reason = (f"{count} day(s) with a value in its last run of photos, fewer than the "
                  f"{MIN_DAYS} a forecast needs")  # fmt: skip
        return Forecast(nothing, nothing, nothing, nothing, "", reason, since=run.start)
    reach = lead + horizon
    forecasts = rolling_forecasts(run, trait, method, reach)
    origin = len(run.observed) - 1
    widths = half_widths(forecast_errors(run, forecasts, circular), origin, ci)[lead:]
    value = forecasts[origin, lead:]
    lower, upper = value - widths, value + widths
    if circular:
        value, lower, upper = wrapped(value), wrapped(lower), wrapped(upper)
    else:
        lower, upper = BY_NAME[trait].inside(lower), BY_NAME[trait].inside(upper)
    ahead = np.arange(lead + 1, reach + 1)
    return Forecast(ahead, value, lower, upper, method.describe(trait), since=run.start)


def backtest_series(
    days: np.ndarray,
    values: np.ndarray,
    trait: str,
    methods: tuple[Method, ...] | None = None,
    horizon: int = HORIZON,
    ci: float = CI,
    max_gap: float = MAX_GAP,
) -> pd.DataFrame:
    """Rolling-origin backtest: from every day with a photo that has at least
    :data:`MIN_DAYS` days with a value in its run, each method's forecast for each of the
    next ``horizon`` days with a photo, its interval (from the errors seen by then) and the
    value then.

    Returns:
        One row per method, origin and horizon: ``method`` (its :meth:`Method.describe`),
        ``origin`` (day number), ``horizon``, ``value``, ``actual``, ``error`` (value -
        actual; hues the shortest turn), ``half_width``, ``inside`` (the band holds the
        actual value).
    """
    methods = methods or (CHOSEN.get(trait, DEFAULT), *BASELINES)
    circular = BY_NAME[trait].circular
    frames = []
    for run in history(days, values, circular, max_gap):
        origins = np.flatnonzero(run.seen & (np.cumsum(run.seen) >= MIN_DAYS))
        if not len(origins):
            continue
        for method in methods:
            forecasts = rolling_forecasts(run, trait, method, horizon)
            errors = forecast_errors(run, forecasts, circular)
            widths = np.array([half_widths(errors, t, ci) for t in origins])
            rows = errors[origins]
            t, h = np.nonzero(np.isfinite(rows))
            error = rows[t, h]
            actual = run.observed[origins[t] + h + 1]
            width = widths[t, h]
            inside = np.abs(error) <= width
            if not circular:  # the band is clipped to the bounds: a value on a bound is in
                low, high = BY_NAME[trait].bounds
                value = forecasts[origins[t], h]
                lower = np.maximum(value - width, -np.inf if low is None else low)
                upper = np.minimum(value + width, np.inf if high is None else high)
                inside = (lower <= actual) & (actual <= upper)
            frames.append(
                pd.DataFrame(
                    {
                        "method": method.describe(trait),
                        "origin": run.start + origins[t],
                        "horizon": h + 1,
                        "value": forecasts[origins[t], h],
                        "actual": actual,
                        "error": error,
                        "half_width": width,
                        "inside": np.where(np.isfinite(width), inside, np.nan),
                    }
                )  # fmt: skip
            )
    columns = ["method", "origin", "horizon", "value", "actual", "error", "half_width", "inside"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
