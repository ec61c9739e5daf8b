"""Class roles: found from the names, overridden by indices, one check with one error."""

import pytest

from vitiseg.canopy.roles import Roles, leaf_class_index, roles_from_names, roles_note
from vitiseg.errors import ConfigError, DataError

NAMES = ["background", "leaf", "inter-row", "pipe", "trunk"]
FIVE = Roles(leaf=1, inter_row=2, pipe=3, trunk=4)


def test_leaf_class_comes_from_the_names():
    assert leaf_class_index(["background", "wood", "Leaves"]) == 2
    assert leaf_class_index(["Class 0", "Class 1"]) == 1


def test_roles_come_from_names_and_options_override_them():
    assert roles_from_names(NAMES) == FIVE
    assert roles_from_names(["bg", "Feuilles", "Sol"]) == Roles(leaf=1)
    assert roles_from_names(NAMES, leaf_class=2, pipe_class=4, trunk_class=3) == Roles(2, 2, 4, 3)
    assert roles_from_names(["background", "leaf", "wood"]).base_rule == "leaf-bottom"
    assert roles_from_names(["background", "leaf", "tronc"]).base_rule == "trunk"


@pytest.mark.parametrize(
    "parameter", ["leaf_class", "inter_row_class", "pipe_class", "trunk_class"]
)
def test_an_index_outside_the_model_is_refused_by_its_parameter_name(parameter):
    with pytest.raises(
        ConfigError, match=rf"^{parameter}=7: not a class of this model \(0 a, 1 b, 2 c\)$"
    ):
        roles_from_names(["a", "b", "c"], **{parameter: 7})
    with pytest.raises(ConfigError, match=rf"^{parameter}=-1: "):
        roles_from_names(["a", "b", "c"], **{parameter: -1})


def test_a_one_class_model_has_no_leaf_to_measure():
    with pytest.raises(DataError, match="no leaf class"):
        roles_from_names(["background"])


def test_note_says_porosity_falls_back_without_pipe_or_trunk():
    note = roles_note(Roles(leaf=1), ["background", "leaf", "wood"])
    assert "porosity is measured down to the bottom of the leaves" in note
    assert "no inter_row_hue" in note
    assert roles_note(FIVE, NAMES) is None


def test_names_without_a_leaf_give_no_leaf_class():
    assert leaf_class_index(["background", "stem"]) is None
    roles = roles_from_names(["background", "stem"])
    assert roles.leaf is None
    assert "no class named leaf: no leaf cover, LAI estimate, canopy height, porosity, leaf hue and gcc" in roles_note(roles, ["background", "stem"])  # fmt: skip
    assert roles_from_names(["background", "stem"], leaf_class=1).leaf == 1  # named by hand
