"""The context a page template receives, small readers that never raise, and the check of
a table's columns (a file tampered with is named, not shown wrong)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from vitiseg.errors import DataError


@dataclass
class Page:
    """The context a template receives, filled section by section."""

    folder: Path
    kind: str
    title: str = ""
    missing: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: dict = field(default_factory=dict)

    def lack(self, name: str, consequence: str) -> None:
        """Say that file ``name`` is absent and what the page cannot show because of it."""
        self.missing.append((name, consequence))


def read_json(path: Path):
    """The JSON content of ``path``, or None when it is absent or broken."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_yaml(path: Path) -> dict | None:
    """The mapping in a YAML file, or None when it is absent, broken or not a mapping."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return loaded if isinstance(loaded, dict) else None


def number(value) -> float | None:
    """``value`` as a float; None for missing, non-numeric or NaN values."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def check_columns(
    table: pd.DataFrame, path: Path, numbers: tuple[str, ...] = (), dates: tuple[str, ...] = ()
) -> None:
    """Refuse a table whose ``numbers`` columns hold text, or whose ``dates`` columns hold
    something else than ``YYYY-MM-DD`` days (empty cells are missing values, allowed in
    numbers only); columns absent are left alone.

    Raises:
        DataError: the first bad cell, with the file, column and line.

    Example:
        >>> check_columns(pd.DataFrame({"leaf_cover": ["0.5", "lots"]}), Path("canopy.csv"), ("leaf_cover",))
        Traceback (most recent call last):
        ...
        vitiseg.errors.DataError: canopy.csv: leaf_cover is 'lots' on line 3, not a number; ...
    """
    for kind, columns in (("number", numbers), ("day (YYYY-MM-DD)", dates)):
        for column in (c for c in columns if c in table):
            values = table[column]
            if kind == "number":
                empty = values.isna() | (values.astype(str).str.strip() == "")
                bad = pd.to_numeric(values, errors="coerce").isna() & ~empty
            else:
                bad = pd.to_datetime(values.astype(str), format="%Y-%m-%d", errors="coerce").isna()
            if bad.any():
                row = int(bad.to_numpy().argmax())
                raise DataError(
                    f"{path}: {column} is {values.iloc[row]!r} on line {row + 2}, not a {kind}; "
                    "run the command that wrote it again"
                )
