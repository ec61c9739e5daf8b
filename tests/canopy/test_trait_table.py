"""The trait table is the one list the traits, their accuracy and the season read."""

import numpy as np

from vitiseg.canopy import trait_table
from vitiseg.canopy.roles import roles_from_names
from vitiseg.canopy.traits import photo_traits

NAMES = ["background", "leaf", "inter-row", "pipe", "trunk"]


def test_a_photo_row_has_exactly_the_table_columns_in_order():
    mask = np.zeros((40, 60), np.uint8)
    mask[5:20, 10:50], mask[30:, :] = 1, 2
    image = np.full((40, 60, 3), (60, 120, 40), np.uint8)
    row = photo_traits(mask, image, roles_from_names(NAMES), NAMES)
    assert list(row) == [f"cover_{n}" for n in NAMES] + list(trait_table.COLUMNS)


def test_the_kinds_of_traits_are_consistent():
    assert set(trait_table.CIRCULAR) == {"leaf_hue", "inter_row_hue"}
    assert set(trait_table.TRANSITIONS) <= set(trait_table.DAILY)
    assert "porosity_rule" not in trait_table.DAILY and "porosity_rule" not in trait_table.COMPARED
    assert all(trait_table.BY_NAME[name].axis for name in trait_table.DAILY)
