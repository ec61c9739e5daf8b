"""A camera's season from its photos' traits: daily values, smoothed curves, transition dates.

Photos are grouped by camera and day; each trait gets one value per camera and day (the
median of the day's kept photos; hues: their circular mean), then a smoothing spline over
the season (:func:`scipy.interpolate.make_smoothing_spline`, with a smoothing of about
:data:`SMOOTH_DAYS` days, or chosen by generalised cross-validation) and, for leaf cover
and leaf gcc, the transition dates: the days the smoothed curve first rises through 10,
25 and 50 % of its seasonal amplitude (``min + level * (max - min)``, from the lowest point
before the maximum, or from the trait's known value on bare vines: leaf cover 0), as
phenocam tools report them, with bootstrap intervals (:mod:`vitiseg.canopy.transitions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vitiseg.canopy.circular import around, circular_mean, wrapped
from vitiseg.canopy.trait_table import BY_NAME, CIRCULAR, DAILY, TRANSITIONS
from vitiseg.canopy.transitions import (
    CI,
    LEVELS,
    MAX_GAP,
    MIN_DAYS,
    REPLICATES,
    Dated,
    dated_transitions,
    evaluate,
    fit,
    runs,
)
from vitiseg.rules import AT_LEAST_1, GAP_DAYS, OPEN_SHARE, SMOOTHING_DAYS, check

BASE_KNOWN = "bare vines"
"""``transitions.csv``'s ``base_from`` where the amplitude runs from the trait's known value
on bare vines (:attr:`vitiseg.canopy.trait_table.Trait.base`: leaf cover 0)."""
BASE_CURVE = "lowest point"
"""... where it runs from the curve's lowest point before its maximum (base not known)."""
TRANSITION_COLUMNS = ["camera", "trait", "level", "date", "lower", "upper", "value", "threshold",
                      "reason", "base", "base_from"]  # fmt: skip
"""``transitions.csv``: ``value`` is the smoothed curve on ``date``, ``threshold`` the
level it crosses there (``base + level * amplitude``)."""
SMOOTH_DAYS = 10.0
"""Default bandwidth of the smoothing spline, in days (see :func:`vitiseg.canopy.transitions.spline`)."""


@dataclass
class Season:
    """What :func:`summarise` found."""

    season: pd.DataFrame
    """Tidy: camera, date, trait, value, smoothed, photos, dropped."""
    transitions: pd.DataFrame
    """:data:`TRANSITION_COLUMNS`: a row per camera, transition trait and level, with a
    reason where there is no date."""
    photos: pd.DataFrame
    """Every photo: camera, date, quality measures, ``dropped`` reason ('' when kept)."""
    notes: list[str] = field(default_factory=list)


def daily(photos: pd.DataFrame) -> pd.DataFrame:
    """One row per camera and day: each trait's median over the day's kept photos (hues:
    circular mean), ``photos`` kept and ``dropped``."""
    kept = photos[photos["dropped"] == ""]
    keys = ["camera", "date"]
    linear = [t for t in DAILY if t not in CIRCULAR]
    table = kept.groupby(keys)[linear].median()
    radians = np.radians(kept[list(CIRCULAR)].astype(float))
    parts = pd.concat(
        [np.sin(radians).add_suffix("_sin"), np.cos(radians).add_suffix("_cos")], axis=1
    )
    parts[keys] = kept[keys]
    means = parts.groupby(keys).mean()
    for trait in CIRCULAR:
        s, c = means[f"{trait}_sin"], means[f"{trait}_cos"]
        mean = wrapped(np.degrees(np.arctan2(s, c)))
        table[trait] = np.where(np.hypot(s, c) > 1e-9, mean, np.nan)
    counts = photos.assign(kept=photos["dropped"] == "").groupby(keys)["kept"].agg(["sum", "size"])
    table = table.reindex(counts.index)
    table["photos"] = counts["sum"].astype(int)
    table["dropped"] = (counts["size"] - counts["sum"]).astype(int)
    return table.reset_index()


def smooth(
    days: np.ndarray,
    values: np.ndarray,
    circular: bool = False,
    bandwidth: float | None = SMOOTH_DAYS,
    max_gap: float = MAX_GAP,
) -> np.ndarray:
    """The smoothed values at ``days``: a smoothing spline per run of days without a gap
    longer than ``max_gap`` (:mod:`vitiseg.canopy.transitions`); nan in runs of fewer than
    :data:`~vitiseg.canopy.transitions.MIN_DAYS` days. Hues are smoothed unwrapped around the
    camera's circular mean (so a series crossing 0/360 stays continuous), then wrapped
    back to [0, 360).
    """
    days = days.astype(float)
    if not circular:
        return evaluate(fit(days, values, bandwidth, max_gap), days)
    centre = circular_mean(values)
    if np.isnan(centre):
        return np.full(len(days), np.nan)
    unwrapped = around(values, centre)
    return wrapped(evaluate(fit(days, unwrapped, bandwidth, max_gap), days))


def summarise(
    photos: pd.DataFrame,
    bandwidth: float | None = SMOOTH_DAYS,
    max_gap: float = MAX_GAP,
    ci: float = CI,
    replicates: int = REPLICATES,
) -> Season:
    """Daily values, smoothed curves and transition dates (with intervals) of every camera.

    Args:
        photos: one row per photo with ``camera``, ``date`` (day), the daily traits (:data:`vitiseg.canopy.trait_table.DAILY`) and a
            ``dropped`` reason ('' to keep it).
        bandwidth: smoothing in days (see :func:`smooth`); None for cross-validation.
        max_gap: days without a usable photo that split the curves (``inf``: never split).
        ci: the intervals' coverage (0.8: from the 10 % to the 90 % quantile).
        replicates: bootstrap replicates per curve (seeded: the same input gives the same
            intervals).

    Raises:
        ConfigError: a setting out of its range (names it and says what is valid).
    """
    check("bandwidth", bandwidth, SMOOTHING_DAYS)
    check("max_gap", max_gap, GAP_DAYS)
    check("ci", ci, OPEN_SHARE)
    check("replicates", replicates, AT_LEAST_1)
    notes = []
    table = daily(photos)
    rows, transitions = [], []
    for number, (camera, group) in enumerate(table.groupby("camera", sort=True)):
        group = group.sort_values("date")
        start = group["date"].iloc[0]
        days = ((group["date"] - start).dt.days).to_numpy(float)
        with_values = int(group["leaf_cover"].notna().sum())
        if with_values < MIN_DAYS:
            notes.append(
                f"camera {camera}: {with_values} day(s) with kept photos, no smoothed curve or "
                f"transition dates (they need at least {MIN_DAYS} days)"
            )
        kept = days[group["leaf_cover"].notna().to_numpy()]
        for gap_start, gap_end in zip(kept[:-1], kept[1:], strict=True):
            if gap_end - gap_start > max_gap:
                notes.append(
                    f"camera {camera}: no usable photo from {start + pd.Timedelta(days=gap_start):%Y-%m-%d} "
                    f"to {start + pd.Timedelta(days=gap_end):%Y-%m-%d} ({gap_end - gap_start:.0f} days "
                    f"> {max_gap:g}): the curves stop there"
                )
        for trait in DAILY:
            values = group[trait].to_numpy(float)
            frame = {
                "camera": camera, "date": group["date"].to_numpy(), "trait": trait,
                "value": values, "smoothed": smooth(days, values, trait in CIRCULAR, bandwidth, max_gap),
                "lower": np.nan, "upper": np.nan, "segment": _segments(days, kept, max_gap),
                "photos": group["photos"].to_numpy(), "dropped": group["dropped"].to_numpy(),
            }  # fmt: skip
            if trait in TRANSITIONS:
                if with_values >= MIN_DAYS:
                    dated, frame["lower"], frame["upper"] = dated_transitions(
                        days, values, bandwidth, max_gap, ci, replicates, seed=number,
                        base=BY_NAME[trait].base,
                    )  # fmt: skip
                else:
                    reason = f"{with_values} day(s) with kept photos, a curve needs {MIN_DAYS}"
                    dated = [Dated(level, np.nan, np.nan, np.nan, np.nan, reason) for level in LEVELS]  # fmt: skip
                transitions += [_transition_row(camera, trait, start, d) for d in dated]
            for column in ("smoothed", "lower", "upper"):
                frame[column] = BY_NAME[trait].inside(np.asarray(frame[column], float))
            rows.append(pd.DataFrame(frame))
    season = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return Season(season, pd.DataFrame(transitions, columns=TRANSITION_COLUMNS), photos, notes)


def _segments(days: np.ndarray, kept: np.ndarray, max_gap: float) -> np.ndarray:
    """Which run of kept days each day belongs to (0, 1...), -1 inside a long gap."""
    out = np.full(len(days), -1)
    for number, run in enumerate(runs(kept, max_gap)):
        if len(run):
            out[(days >= kept[run[0]]) & (days <= kept[run[-1]])] = number
    return out


def _transition_row(camera: str, trait: str, start: pd.Timestamp, dated: Dated) -> tuple:
    """A transitions.csv row: dates from day numbers; the reason, with a gap's dates."""

    def when(day: float):
        return start + pd.Timedelta(days=round(day)) if np.isfinite(day) else pd.NaT

    reason = dated.reason
    if dated.gap:
        reason = f"in a gap of the photos, from {when(dated.gap[0]):%Y-%m-%d} to {when(dated.gap[1]):%Y-%m-%d}"  # fmt: skip
    base_from = BASE_KNOWN if dated.base_known else BASE_CURVE
    return (camera, trait, dated.level, when(dated.day), when(dated.lower), when(dated.upper),
            dated.value, dated.threshold, reason, dated.base, base_from)  # fmt: skip
