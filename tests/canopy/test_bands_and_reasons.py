"""Bands that hold their curve, bounded traits inside their bounds, intervals inside the
photographed days, and a reason for every transition not dated (issue #37, items 10-11)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA, needs_shared_data

from vitiseg import season
from vitiseg.canopy import season_curves, trait_table
from vitiseg.canopy.transitions import dated_transitions

START = pd.Timestamp("2024-04-01")


def photos_on(days: np.ndarray, leaf_cover: np.ndarray, camera: str = "c") -> pd.DataFrame:
    """Photo rows of one camera: every daily trait follows ``leaf_cover``."""
    photos = pd.DataFrame(
        {
            "file": [f"{camera}_{d}.jpg" for d in days],
            "camera": camera,
            "date": [START + pd.Timedelta(days=int(d)) for d in days],
            "dropped": "",
        }
    )
    for trait in trait_table.DAILY:
        photos[trait] = leaf_cover
    return photos


def green_up(days: np.ndarray, middle: float = 40.0) -> np.ndarray:
    return 0.6 / (1 + np.exp(-(days - middle) / 8))


def assert_curves_inside_bands_and_bounds(result: season_curves.Season) -> None:
    banded = result.season.dropna(subset=["lower"])
    assert len(banded)
    outside = (banded["smoothed"] < banded["lower"]) | (banded["smoothed"] > banded["upper"])
    assert not outside.any(), banded[outside].head()
    for trait in trait_table.DAILY:
        low, high = trait_table.BY_NAME[trait].bounds
        rows = result.season[result.season["trait"] == trait]
        for column in ("smoothed", "lower", "upper"):
            values = rows[column].dropna()
            assert low is None or (values >= low).all(), (trait, column, values.min())
            assert high is None or (values <= high).all(), (trait, column, values.max())


def test_the_curve_lies_inside_its_band_and_a_share_never_below_zero():
    """Bare vines for a month (cover 0 with noise) then a green-up: the spline dips below 0
    on the bare days and the basic bootstrap band once missed its own curve."""
    days = np.arange(0, 100)
    noisy = green_up(days.astype(float)) + np.random.default_rng(4).normal(0, 0.03, len(days))
    result = season_curves.summarise(photos_on(days, np.clip(noisy, 0, 1)), replicates=50)
    assert_curves_inside_bands_and_bounds(result)


@needs_shared_data
def test_the_real_season_curves_lie_inside_their_bands():
    """vitiseg's traits of two cameras' 2024 season (235 photos): the curve was outside
    its band on 109 of 470 days, and leaf cover went to -0.007."""
    table = pd.read_csv(
        SHARED_DATA / "agrocam-vine" / "season_2024_canopy.csv",
        dtype={"file": str, "datetime": str},
    )
    photos, _ = season.prepare(table, quality_checks=False)
    assert_curves_inside_bands_and_bounds(season_curves.summarise(photos, replicates=50))


def test_a_date_and_its_interval_stay_inside_the_photographed_run():
    """Photos on days 25-49 and 70-129, green-ups starting just before either run: the
    dates' shift correction once put days and intervals before the first photo or in the
    gap."""
    days = np.r_[np.arange(25, 50), np.arange(70, 130)].astype(float)
    for middle, base, seed in itertools.product((33, 36, 78), (0.0, None), range(6)):
        noisy = 0.6 / (1 + np.exp(-(days - middle) / 10))
        noisy = noisy + np.random.default_rng(seed).normal(0, 0.04, len(days))
        for row in dated_transitions(days, noisy, 10.0, base=base, seed=seed)[0]:
            run = (25, 49) if row.day <= 49 else (70, 129)
            assert np.isnan(row.day) or run[0] <= row.day <= run[1], (middle, seed, row)
            assert np.isnan(row.lower) or run[0] <= row.lower <= row.upper <= run[1], (middle, seed, row)  # fmt: skip


def test_transition_value_is_the_curve_on_the_date_and_the_threshold_is_named():
    days = np.arange(0, 100)
    result = season_curves.summarise(photos_on(days, green_up(days.astype(float))), replicates=30)
    cover = result.transitions.query("trait == 'leaf_cover'").set_index("level")
    curve = result.season.query("trait == 'leaf_cover'").set_index("date")["smoothed"]
    top = curve.max()
    for level, row in cover.iterrows():
        assert row["threshold"] == pytest.approx(level * top, abs=1e-6)  # base 0 (bare vines)
        assert row["value"] == pytest.approx(curve[row["date"]], abs=0.01)  # the whole day's
    assert list(result.transitions.columns) == season_curves.TRANSITION_COLUMNS


def test_a_camera_with_fewer_than_five_days_gets_rows_with_the_reason():
    few = photos_on(np.arange(3), np.array([0.1, 0.2, 0.3]), camera="few")
    many = photos_on(np.arange(60), green_up(np.arange(60.0), 30), camera="many")
    result = season_curves.summarise(pd.concat([few, many]), replicates=10)
    rows = result.transitions.query("camera == 'few'")
    assert len(rows) == len(trait_table.TRANSITIONS) * 3
    assert rows["date"].isna().all()
    assert (rows["reason"] == "3 day(s) with kept photos, a curve needs 5").all()


def test_a_short_first_run_then_a_long_gap_is_the_gap_not_before_the_first_photo():
    """3 days of bare vines, 23 days without a photo, then the canopy already at 30 %:
    the 10 % and 25 % levels were crossed in the gap, not before the first photo."""
    days = np.r_[np.arange(0, 3), np.arange(26, 90)]
    cover = np.r_[np.zeros(3), green_up(np.arange(26, 90.0), 25)]
    result = season_curves.summarise(photos_on(days, cover), replicates=10)
    levels = result.transitions.query("trait == 'leaf_cover'").set_index("level")
    for level in (0.1, 0.25):
        assert (
            levels.loc[level, "reason"] == "in a gap of the photos, from 2024-04-03 to 2024-04-27"
        )
    gcc = result.transitions.query("trait == 'leaf_gcc'")  # no known base: no floor to say so
    assert not gcc["reason"].str.startswith("in a gap").any()
