"""Each canopy trait on hand-made masks whose answer is known exactly."""

import math

import numpy as np
import pytest

from vitiseg.canopy import cover, trait_table, traits
from vitiseg.canopy.circular import circular_mean
from vitiseg.canopy.roles import Roles
from vitiseg.data.masks import IGNORE_INDEX
from vitiseg.errors import DataError

NAMES = ["background", "leaf", "inter-row", "pipe", "trunk"]
FIVE = Roles(leaf=1, inter_row=2, pipe=3, trunk=4)


def block(height=100, width=200, top=20, bottom=59, left=50, right=149) -> np.ndarray:
    """Background with a leaf rectangle rows top..bottom, columns left..right (inclusive)."""
    mask = np.zeros((height, width), np.uint8)
    mask[top : bottom + 1, left : right + 1] = 1
    return mask


def test_canopy_height_of_a_rectangle_is_its_height():
    assert traits.canopy_height(block() == 1) == (0.4, 40.0)


def test_canopy_height_is_the_median_over_leafy_columns():
    leaf = np.zeros((10, 5), bool)
    for column, extent in enumerate([1, 2, 3, 4, 9]):
        leaf[:extent, column] = True
    assert traits.canopy_height(leaf) == (0.3, 3.0)


def test_stray_leaf_pixels_do_not_move_the_canopy_height():
    mask = block()
    mask[2, 10] = mask[2, 100] = mask[95, 100] = mask[97, 180] = 1  # specks: 1 pixel each
    # 200x100 photo, patches under 1e-4 * 20000 = 2 pixels are dropped
    assert traits.canopy_height(mask == 1) == (0.4, 40.0)
    # the author's rule (first to last leaf row of the photo) would say 96 rows
    rows = np.flatnonzero((mask == 1).any(axis=1))
    assert rows[-1] - rows[0] + 1 == 96


def test_no_leaves_gives_empty_traits_not_zero():
    mask = np.zeros((20, 30), np.uint8)
    image = np.full((20, 30, 3), 100, np.uint8)
    row = traits.photo_traits(mask, image, FIVE, NAMES)
    assert row["leaf_cover"] == 0.0 and row["lai_estimate"] == 0.0
    for name in (
        "canopy_height",
        "canopy_height_px",
        "porosity",
        "leaf_hue",
        "leaf_gcc",
        "leaf_gcc_p90",
    ):
        assert math.isnan(row[name]), name


def test_porosity_counts_gaps_down_to_the_leaf_bottom():
    mask = block()  # 40 rows x 100 columns
    mask[30:40, 60:80] = 0  # a 10 x 20 hole inside
    gaps, rule = traits.porosity(mask, Roles(leaf=1))
    assert rule == "leaf-bottom"
    assert gaps == pytest.approx(200 / 4000)


def test_porosity_band_reaches_the_pipe_line():
    mask = block()  # leaves rows 20..59, columns 50..149
    mask[79, :] = 3  # a level pipe at row 79: bands rows 20..79 (60 rows)
    gaps, rule = traits.porosity(mask, FIVE)
    assert rule == "pipe"
    assert gaps == pytest.approx(1 - 40 / 60)


def test_porosity_follows_a_sloping_pipe():
    mask = np.zeros((100, 200), np.uint8)
    columns = np.arange(200)
    pipe_row = 50 + columns // 10  # 50 at the left, 69 at the right
    mask[pipe_row, columns] = 3
    mask[10:30, :] = 1  # leaves rows 10..29 everywhere
    gaps, rule = traits.porosity(mask, FIVE)
    line, _ = traits.base_line(mask, FIVE)
    band = np.rint(line).astype(int) - 10 + 1
    assert rule == "pipe"
    assert gaps == pytest.approx(1 - 20 * 200 / band.sum())
    assert band.min() in (41, 42) and band.max() in (59, 60)


def test_porosity_uses_the_trunk_top_when_there_is_no_pipe():
    mask = block()
    mask[69:100, 70:73] = 4  # a trunk from row 69 down
    mask[65:100, 120:123] = 4  # another from row 65: median of tops 67
    gaps, rule = traits.porosity(mask, FIVE)
    assert rule == "trunk"
    # trunk columns' tops: 69 x3, 65 x3 -> median 67; bands rows 20..67 (48 rows)
    assert gaps == pytest.approx(1 - 40 / 48)


def test_porosity_falls_back_when_the_photo_has_no_pipe_or_trunk_pixels():
    gaps, rule = traits.porosity(block(), FIVE)
    assert (gaps, rule) == (0.0, "leaf-bottom")


def test_ignored_pixels_count_nowhere_in_porosity():
    mask = block()
    mask[30:40, 60:80] = 0
    mask[40:50, 60:80] = IGNORE_INDEX
    gaps, _ = traits.porosity(mask, Roles(leaf=1))
    assert gaps == pytest.approx(200 / 3800)


def test_hue_is_the_circular_mean_in_its_written_form():
    assert circular_mean(np.array([350.0, 10.0])) == 0.0  # not 360, nor 359.99999999
    assert circular_mean(np.array([90.0, 180.0, np.nan])) == pytest.approx(135)
    assert math.isnan(circular_mean(np.array([0.0, 180.0])))
    assert math.isnan(circular_mean(np.array([])))


def test_class_hue_of_pure_colours():
    image = np.zeros((2, 4, 3), np.uint8)
    image[0] = [0, 255, 0]  # green: 120
    image[1, :2] = [255, 0, 0]  # red: 0
    image[1, 2:] = [255, 0, 255]  # magenta: 300
    mask = np.array([[1, 1, 1, 1], [2, 2, 2, 2]])
    assert traits.hue_degrees(np.array([[0, 255, 0], [0, 0, 255], [255, 255, 0]])) == pytest.approx(
        [120, 240, 60]
    )
    assert traits.class_hue(image, mask, 1) == pytest.approx(120, abs=1e-3)
    assert traits.class_hue(image, mask, 2) == pytest.approx(330, abs=1e-3)
    assert math.isnan(traits.class_hue(image, mask, None))
    assert math.isnan(traits.class_hue(np.full((2, 4, 3), 90, np.uint8), mask, 1))  # greys


def test_gcc_mean_and_90th_percentile():
    image = np.zeros((1, 10, 3), np.uint8)
    for i in range(10):  # gcc = i / 10 for pixel i: G = i, R + B = 10 - i
        image[0, i] = [10 - i, i, 0]
    mask = np.ones((1, 10), np.uint8)
    mask[0, 0] = 0  # leaves: gcc 0.1 .. 0.9
    mean, p90 = traits.gcc(image, mask, 1)
    assert mean == pytest.approx(0.5)
    assert p90 == pytest.approx(np.percentile(np.arange(1, 10) / 10, 90))
    assert p90 == pytest.approx(0.82)
    black = np.zeros((1, 10, 3), np.uint8)
    assert all(math.isnan(v) for v in traits.gcc(black, mask, 1))


def test_photo_traits_gives_every_column():
    mask = block()
    mask[79, :] = 3
    mask[80:, :] = 2
    image = np.zeros((100, 200, 3), np.uint8)
    image[mask == 1] = [20, 60, 20]  # gcc 0.6, hue 120
    image[mask == 2] = [120, 60, 0]  # hue 30
    row = traits.photo_traits(mask, image, FIVE, NAMES, k=0.5)
    assert list(row) == [f"cover_{n}" for n in NAMES] + list(trait_table.COLUMNS)
    assert row["leaf_cover"] == row["cover_leaf"] == 0.2
    assert row["lai_estimate"] == round(cover.lai_from_cover(0.2, 0.5), 4)
    assert (row["canopy_height"], row["canopy_height_px"]) == (0.4, 40.0)
    assert row["porosity"] == pytest.approx(1 / 3) and row["porosity_rule"] == "pipe"
    assert row["leaf_hue"] == pytest.approx(120) and row["inter_row_hue"] == pytest.approx(30)
    assert row["leaf_gcc"] == row["leaf_gcc_p90"] == pytest.approx(0.6)
    without = traits.photo_traits(mask, None, FIVE, NAMES)
    assert math.isnan(without["leaf_hue"]) and without["porosity"] == row["porosity"]


def test_photo_and_mask_of_different_sizes_are_refused():
    with pytest.raises(DataError, match="differ in size"):
        traits.photo_traits(block(), np.zeros((10, 10, 3), np.uint8), FIVE, NAMES)


def test_a_model_without_leaf_gives_no_leaf_traits():
    mask = np.zeros((20, 10), np.uint8)
    mask[5:15, 3:7] = 1  # stems, not leaves
    image = np.full((20, 10, 3), 90, np.uint8)
    image[..., 1] = 160
    row = traits.photo_traits(mask, image, Roles(leaf=None, inter_row=0), ["ground", "stem"])
    for column in ("leaf_cover", "lai_estimate", "canopy_height", "canopy_height_px", "porosity", "leaf_hue", "leaf_gcc"):  # fmt: skip
        assert math.isnan(row[column]), column
    assert row["cover_stem"] == pytest.approx(0.2) and not math.isnan(row["inter_row_hue"])
