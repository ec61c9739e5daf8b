"""Green-up dates the data supports: leaf cover is 0 on bare vines, so a season whose first
photo comes after bud-break is still dated at the levels it has not reached (issue #38.5);
a trait whose base is unknown (leaf gcc) keeps its reason."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vitiseg.canopy import season_curves, trait_table
from vitiseg.canopy.transitions import dated_transitions

START = pd.Timestamp("2024-04-01")


def cover(days: np.ndarray) -> np.ndarray:
    """Leaf cover from 0 on bare vines to 0.6, half-way on day 60 (12-day scale)."""
    return 0.6 / (1 + np.exp(-(days - 60) / 12))


def photos_from(first_day: int) -> pd.DataFrame:
    days = np.arange(first_day, 150)
    rng = np.random.default_rng(0)
    photos = pd.DataFrame(
        {
            "file": [f"c_{d}.jpg" for d in days],
            "camera": "c",
            "date": [START + pd.Timedelta(days=int(d)) for d in days],
            "dropped": "",
        }
    )
    for trait in trait_table.DAILY:
        photos[trait] = cover(days.astype(float)) + rng.normal(0, 0.01, len(days))
    return photos


def test_the_bases_of_the_traits_are_written_once_in_the_trait_table():
    assert trait_table.BY_NAME["leaf_cover"].base == 0.0
    assert trait_table.BY_NAME["lai_estimate"].base == 0.0
    assert trait_table.BY_NAME["leaf_gcc"].base is None
    assert trait_table.BY_NAME["leaf_cover"].bounds == (0.0, 1.0)


def test_a_rise_under_way_at_the_first_photo_is_dated_against_a_known_base():
    """First photo on day 42 (cover 0.11, 18 % of its amplitude, rising): leaf cover's 25
    and 50 % levels get dates near the true ones; its 10 % level was passed before the
    photos; leaf gcc, the same numbers with no known base, is not dated."""
    result = season_curves.summarise(photos_from(42), replicates=20)
    table = result.transitions.set_index(["trait", "level"])
    leaf = table.loc["leaf_cover"]
    assert leaf.loc[0.1, "reason"] == "before the first photo"
    for level in (0.25, 0.5):
        true_day = 60 + 12 * np.log(level / (1 - level))
        assert abs((leaf.loc[level, "date"] - START).days - true_day) <= 3, level
        assert leaf.loc[level, "lower"] <= leaf.loc[level, "date"] <= leaf.loc[level, "upper"]
    assert (leaf["base"] == 0.0).all() and (leaf["base_from"] == season_curves.BASE_KNOWN).all()
    gcc = table.loc["leaf_gcc"]
    assert set(gcc["reason"]) == {"before the first photo"}
    assert (gcc["base_from"] == season_curves.BASE_CURVE).all()


def test_a_season_seen_from_bare_vines_dates_every_level_from_the_base():
    days = np.arange(0, 150.0)
    rows, _, _ = dated_transitions(days, cover(days), 10.0, replicates=20, base=0.0)
    for row in rows:
        true_day = 60 + 12 * np.log(row.level / (1 - row.level))
        assert abs(row.day - true_day) <= 2 and row.base == 0.0 and row.base_known
        assert abs(row.value - row.level * cover(days).max()) < 0.01  # the level above 0
