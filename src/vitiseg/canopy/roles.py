"""Which class plays which part in the canopy traits: leaf, inter-row, pipe, trunk.

Roles come from the class names (English or French, any case) unless an index is given;
one check, one error, for every caller (``vitiseg.load``, evaluate, predict, season).
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass

from vitiseg.errors import ConfigError, DataError

LEAF_NAMES = ("leaf", "leaves", "feuille", "feuilles", "canopy", "foliage", "vegetation", "vigne")
INTER_ROW_NAMES = ("inter-row", "inter_row", "interrow", "inter row", "ground", "soil")
PIPE_NAMES = ("pipe", "irrigation pipe", "irrigation", "drip line", "dripline")
TRUNK_NAMES = ("trunk", "trunks", "tronc")
DEFAULT_LEAF = 1
"""The leaf class of a model whose classes have no names (``Class 0``, ``Class 1``...: the
seed's masks, 0 background, 1 leaf)."""
UNNAMED = re.compile(r"Class \d+")
"""The names of classes nobody named (:attr:`vitiseg.config.TrainConfig.names_of_classes`)."""
LEAF_TRAITS = "leaf cover, LAI estimate, canopy height, porosity, leaf hue and gcc"


@dataclass(frozen=True)
class Roles:
    """Which class index plays each part; None where the model has no such class."""

    leaf: int | None
    inter_row: int | None = None
    pipe: int | None = None
    trunk: int | None = None

    @property
    def base_rule(self) -> str:
        """The porosity base line the classes allow: ``pipe``, ``trunk`` or ``leaf-bottom``."""
        if self.pipe is not None:
            return "pipe"
        return "trunk" if self.trunk is not None else "leaf-bottom"


def find_class(class_names: list[str], names: tuple[str, ...]) -> int | None:
    """Index of the first class whose name (stripped, any case) is one of ``names``.

    Example:
        >>> find_class(["background", "Leaves"], LEAF_NAMES)
        1
    """
    for index, name in enumerate(class_names):
        if name.strip().lower() in names:
            return index
    return None


def leaf_class_index(class_names: list[str]) -> int | None:
    """The class called leaf (or leaves, feuille, canopy); :data:`DEFAULT_LEAF` where no
    class has a name; None where the names include no leaf (grape stems, say: no class
    is taken as leaf then, and the leaf traits stay empty).

    Example:
        >>> leaf_class_index(["background", "wood", "Leaves"]), leaf_class_index(["Class 0", "Class 1"])
        (2, 1)
        >>> print(leaf_class_index(["background", "stem"]))
        None
    """
    found = find_class(class_names, LEAF_NAMES)
    if found is None and all(UNNAMED.fullmatch(name) for name in class_names):
        return DEFAULT_LEAF
    return found


def roles_from_names(
    class_names: list[str],
    leaf_class: int | None = None,
    inter_row_class: int | None = None,
    pipe_class: int | None = None,
    trunk_class: int | None = None,
) -> Roles:
    """Class roles from the class names; an index given overrides the name's.

    The leaf is the class named leaf (:func:`leaf_class_index`); inter-row, pipe and
    trunk classes are found by name (``inter-row``, ``ground``, ``soil``; ``pipe``,
    ``irrigation``; ``trunk``) or absent. An index given is a whole number among the
    classes; an inter-row, pipe or trunk index given is not the leaf's, nor another
    given role's.

    Raises:
        DataError: a model with a single class.
        ConfigError: two classes with one name (their ``cover_NAME`` would be one column);
            an index that is not a whole number, outside the classes, or the class of
            another role, named by its parameter.

    Example:
        >>> roles_from_names(["background", "leaf", "inter-row", "pipe", "trunk"])
        Roles(leaf=1, inter_row=2, pipe=3, trunk=4)
    """
    n = len(class_names)
    if n < 2:
        raise DataError(f"a model with classes {class_names} has no leaf class to measure")
    twice = [name for name in dict.fromkeys(class_names) if class_names.count(name) > 1]
    if twice:
        raise ConfigError(
            f"class_names={','.join(class_names)}: {', '.join(twice)} named more than once; "
            "each class needs a name of its own (its cover_NAME column)"
        )
    given = {"leaf_class": leaf_class, "inter_row_class": inter_row_class,
             "pipe_class": pipe_class, "trunk_class": trunk_class}  # fmt: skip
    listed = ", ".join(f"{i} {name}" for i, name in enumerate(class_names))
    for parameter, index in given.items():
        if index is None:
            continue
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise ConfigError(f"{parameter}={index!r}: a class index is a whole number ({listed})")
        if not 0 <= index < n:
            raise ConfigError(f"{parameter}={index}: not a class of this model ({listed})")
    leaf = leaf_class_index(class_names) if leaf_class is None else int(leaf_class)
    taken = {leaf: "leaf_class" if leaf_class is not None else None}
    for parameter in ("inter_row_class", "pipe_class", "trunk_class"):
        index = given[parameter]
        if index is None:
            continue
        if int(index) in taken:
            other = taken[int(index)]
            raise ConfigError(
                f"{parameter}={index}: class {index} ({class_names[int(index)]}) is already "
                f"{f'{other}={index}' if other else 'the leaf class'}; each role needs a "
                "class of its own"
            )
        taken[int(index)] = parameter
    return Roles(
        leaf,
        find_class(class_names, INTER_ROW_NAMES)
        if inter_row_class is None
        else int(inter_row_class),
        find_class(class_names, PIPE_NAMES) if pipe_class is None else int(pipe_class),
        find_class(class_names, TRUNK_NAMES) if trunk_class is None else int(trunk_class),
    )


def roles_note(roles: Roles, class_names: list[str]) -> str | None:
    """One line for the user where some trait falls back or is not measured, else None."""
    notes = []
    if roles.leaf is None:
        notes.append(f"no class named leaf: no {LEAF_TRAITS} (--leaf-class N names one)")
    elif roles.base_rule == "leaf-bottom":
        notes.append(
            "no pipe or trunk class: porosity is measured down to the bottom of the leaves"
        )
    if roles.inter_row is None:
        notes.append("no inter-row class: no inter_row_hue")
    if not notes:
        return None
    return f"classes {', '.join(class_names)}: " + "; ".join(notes)
