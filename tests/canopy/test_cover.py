import math

import numpy as np
import pytest

from vitiseg.canopy import cover
from vitiseg.data.masks import IGNORE_INDEX


def test_cover_of_a_hand_made_mask_ignores_padding():
    mask = np.array([[0, 1, 1, 2], [1, 1, 0, IGNORE_INDEX]])
    assert cover.class_cover(mask, 3).tolist() == pytest.approx([2 / 7, 4 / 7, 1 / 7])


def test_lai_is_beer_lambert_of_the_gap_fraction():
    assert cover.lai_from_cover(0.0) == 0.0
    assert cover.lai_from_cover(0.6, k=0.5) == pytest.approx(-math.log(0.4) / 0.5)
    assert cover.lai_from_cover(1.0) == pytest.approx(-math.log(1 - cover.MAX_COVER) / 0.7)


def test_bad_k_or_cover_is_refused():
    with pytest.raises(ValueError, match="k must be positive"):
        cover.lai_from_cover(0.5, k=0)
    with pytest.raises(ValueError, match=r"cover must be in \[0, 1\]"):
        cover.lai_from_cover(1.5)
