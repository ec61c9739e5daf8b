"""Transition dates a researcher can cite: bootstrap intervals with their coverage, gaps and
edges reported instead of dated, hues smoothed across 0/360 (issue #28)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vitiseg import season
from vitiseg.canopy import season_curves, trait_table
from vitiseg.canopy.circular import around
from vitiseg.canopy.transitions import dated_transitions

DAYS = np.arange(0, 120.0)


def green_up(days: np.ndarray, middle: float = 60, scale: float = 12) -> np.ndarray:
    return 0.1 + 0.7 / (1 + np.exp(-(days - middle) / scale))


def true_days(curve: np.ndarray, days: np.ndarray) -> dict[float, float]:
    """The days the noiseless curve crosses 10, 25, 50 % of its amplitude on the window."""
    low, high = curve.min(), curve.max()
    return {level: float(np.interp(low + level * (high - low), curve, days)) for level in (0.1, 0.25, 0.5)}  # fmt: skip


def test_the_80_percent_interval_holds_the_true_date_about_80_percent_of_the_time():
    """200 seeded series of a known green-up (logistic, 12-day scale) with known noise
    (sd 0.03 of leaf cover): the share of intervals holding the true day, per level."""
    truth = true_days(green_up(DAYS), DAYS)
    inside = {level: 0 for level in truth}
    for seed in range(200):
        noisy = green_up(DAYS) + np.random.default_rng(seed).normal(0, 0.03, len(DAYS))
        for row in dated_transitions(DAYS, noisy, 10.0, seed=seed)[0]:
            inside[row.level] += row.lower <= truth[row.level] <= row.upper
    coverage = {level: count / 200 for level, count in inside.items()}
    print(f"coverage of the 80 % intervals over 200 series: {coverage}")
    assert 0.72 <= coverage[0.25] <= 0.88 and 0.72 <= coverage[0.5] <= 0.88, coverage
    assert 0.6 <= coverage[0.1] <= 0.9, coverage


def test_intervals_are_seeded_and_hold_the_date():
    noisy = green_up(DAYS) + np.random.default_rng(3).normal(0, 0.03, len(DAYS))
    first, band_low, band_high = dated_transitions(DAYS, noisy, 10.0, seed=1)
    again, *_ = dated_transitions(DAYS, noisy, 10.0, seed=1)
    assert first == again
    for row in first:
        assert row.lower <= row.day <= row.upper and not row.reason
    assert (band_low < band_high).all()
    truth = green_up(DAYS)
    held = ((band_low <= truth) & (truth <= band_high)).mean()
    assert held > 0.6, held  # an 80 % pointwise band around the true curve


def test_a_20_day_gap_splits_the_curve_and_a_crossing_in_it_is_not_dated():
    photographed = np.r_[np.arange(0, 50.0), np.arange(70, 120.0)]  # no photo on days 50-69
    noisy = green_up(photographed) + np.random.default_rng(0).normal(0, 0.02, len(photographed))
    rows, _, _ = dated_transitions(photographed, noisy, 10.0)
    by_level = {row.level: row for row in rows}
    assert np.isnan(by_level[0.5].day) and by_level[0.5].reason == "in a gap"
    assert by_level[0.5].gap == (49.0, 70.0)
    assert np.isfinite(by_level[0.1].day)  # the 10 % day comes before the gap
    smoothed = season_curves.smooth(photographed, noisy, max_gap=14)
    assert np.isfinite(smoothed).all()
    joined = season_curves.smooth(photographed, noisy, max_gap=30)  # one curve across the gap
    assert np.abs(smoothed - joined).max() > 0.01


def test_a_season_that_starts_mid_rise_is_not_dated():
    late = np.arange(55, 120.0)  # photos start at the middle of the green-up
    rows, _, _ = dated_transitions(late, green_up(late), 10.0)
    assert {row.reason for row in rows} == {"before the first photo"}
    early = np.arange(0, 62.0)  # photos stop while the canopy still grows
    rows, _, _ = dated_transitions(early, green_up(early), 10.0)
    assert {row.reason for row in rows} == {"after the last photo"}


def test_summarise_reports_gaps_edges_and_intervals(tmp_path):
    start = pd.Timestamp("2024-04-01")
    days = np.r_[np.arange(0, 50), np.arange(70, 120)]
    photos = pd.DataFrame(
        {
            "file": [f"c_{d}.jpg" for d in days],
            "camera": "c",
            "date": [start + pd.Timedelta(days=int(d)) for d in days],
            "dropped": "",
        }
    )
    for trait in trait_table.DAILY:
        photos[trait] = green_up(days.astype(float))
    photos["leaf_cover"] -= 0.1  # bare vines: 0 (its known base)
    result = season_curves.summarise(photos, replicates=20)
    cover = result.transitions.query("trait == 'leaf_cover'").set_index("level")
    assert cover.loc[0.5, "reason"] == "in a gap of the photos, from 2024-05-20 to 2024-06-10"
    assert pd.isna(cover.loc[0.5, "date"])
    assert cover.loc[0.1, "lower"] <= cover.loc[0.1, "date"] <= cover.loc[0.1, "upper"]
    rows = result.season.query("trait == 'leaf_cover'")
    assert sorted(set(rows["segment"])) == [0, 1]
    assert any("no usable photo from 2024-05-20 to 2024-06-10" in note for note in result.notes)
    written = season.write_season(result, tmp_path)
    table = pd.read_csv(tmp_path / "transitions.csv")
    assert list(table.columns) == ["camera", "trait", "level", "date", "lower", "upper", "value", "threshold", "reason", "base", "base_from"]  # fmt: skip
    assert any(p.name == "c.png" for p in written)


def test_a_hue_series_crossing_0_degrees_is_smoothed_without_a_leap():
    """Issue #28.5: inter-row hue near 350 deg beside 20-50 deg; the curve once leapt from
    ~15 to ~355 deg."""
    rng = np.random.default_rng(0)
    days = np.arange(60.0)
    truth = (350 + days * 0.8) % 360  # from 350 deg through 0 to 38 deg
    noisy = (truth + rng.normal(0, 6, len(days))) % 360
    smoothed = season_curves.smooth(days, noisy, circular=True)
    centred = around(smoothed, 15.0)
    assert np.abs(np.diff(centred)).max() < 5  # no leap of ~340 degrees
    error = np.abs((smoothed - truth + 180) % 360 - 180)
    assert error.mean() < 3
