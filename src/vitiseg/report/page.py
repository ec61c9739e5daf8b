"""The context a page template receives, and small readers that never raise."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml


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
