"""A camera's season: daily values, smoothed curves and transition dates."""

import numpy as np
import pandas as pd
import pytest
from conftest import photo_rows

from vitiseg.canopy import season_curves
from vitiseg.canopy.circular import angle_difference, wrapped
from vitiseg.canopy.transitions import crossings


def test_daily_value_is_the_median_and_hues_their_circular_mean():
    days = ["2024-05-01"] * 3 + ["2024-05-02"]
    photos = photo_rows(days, leaf_cover=[0.1, 0.2, 0.9, 0.4], leaf_hue=[350, 10, 20, 90])
    photos["camera"], photos["date"] = "cam", pd.to_datetime(days)
    photos["dropped"] = ["", "", "too dark", ""]
    table = season_curves.daily(photos).set_index("date")
    first = table.loc["2024-05-01"]
    assert first["leaf_cover"] == pytest.approx(0.15)  # 0.9 was dropped
    assert first["leaf_hue"] == 0.0  # the written form of 0: never 360 nor 359.99999999
    assert (first["photos"], first["dropped"]) == (2, 1)
    assert table.loc["2024-05-02", "leaf_cover"] == 0.4


def test_smoothing_needs_five_days_and_follows_the_curve():
    days = np.arange(5.0)
    assert np.isnan(season_curves.smooth(days[:4], np.arange(4.0))).all()
    line = season_curves.smooth(days, 2 * days + 1)
    assert line == pytest.approx(2 * days + 1, abs=1e-6)  # a straight line is kept
    hue = season_curves.smooth(days, np.array([350.0, 355, 0, 5, 10]), circular=True)
    assert ((hue >= 0) & (hue < 360)).all()  # one written form, whatever the CPU's kernels
    assert np.abs(angle_difference(hue, [350, 355, 0, 5, 10])).max() < 1e-5  # on the circle


def test_angles_have_one_written_form():
    noisy = np.array([-1e-15, 359.9999999999639, 360.0, 725.0, -90.0, np.nan])
    assert wrapped(noisy)[:5].tolist() == [0.0, 0.0, 0.0, 5.0, 270.0]
    assert np.isnan(wrapped(noisy)[5])
    assert angle_difference(359.9, 0.1) == pytest.approx(-0.2)


def test_transition_dates_are_the_crossings_of_the_amplitude():
    days = np.arange(11.0)
    curve = np.array([5, 4, 4, 6, 8, 10, 12, 14, 14, 13, 13], float)  # low 4 at day 1, top 14
    found = crossings(days, curve)
    assert {level: c.day for level, c in found.items()} == pytest.approx(
        {0.10: 2.5, 0.25: 3.25, 0.50: 4.5}
    )
    assert {c.reason for c in crossings(days, -days).values()} == {"the curve does not rise"}


def test_summarise_finds_the_green_up_of_a_logistic_season():
    rng = np.random.default_rng(1)
    start = pd.Timestamp("2024-04-01")
    days = np.arange(0, 150)
    truth = 0.05 + 0.5 / (1 + np.exp(-(days - 60) / 8))  # 50 % of amplitude on day 60
    photos = photo_rows(
        [(start + pd.Timedelta(days=int(d))).strftime("%Y-%m-%d") for d in days],
        leaf_cover=truth + rng.normal(0, 0.02, len(days)),
    )
    photos["camera"], photos["date"], photos["dropped"] = (
        "c",
        pd.to_datetime(photos["datetime"]).dt.normalize(),
        "",
    )
    result = season_curves.summarise(photos)
    half = result.transitions.query("trait == 'leaf_cover' and level == 0.5")["date"].iloc[0]
    assert abs((half - (start + pd.Timedelta(days=60))).days) <= 3
    rows = result.season[result.season["trait"] == "leaf_cover"]
    assert list(result.season.columns) == [
        "camera",
        "date",
        "trait",
        "value",
        "smoothed",
        "lower",
        "upper",
        "segment",
        "photos",
        "dropped",
    ]
    noise = (rows["value"] - truth).abs().mean()
    assert (rows["smoothed"] - truth).abs().mean() < noise  # smoothing removes noise
