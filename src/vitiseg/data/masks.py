"""Class masks: remapping class indices and turning colour annotations into indices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from vitiseg.errors import ConfigError

IGNORE_INDEX = 255
"""Mask value for pixels that count nowhere (padding added around a photo)."""


def parse_class_map(text: str | None, num_classes: int) -> tuple[int, ...] | None:
    """Parse ``--class-map`` (``"0,1,0,0,2"``: raw value i becomes class map[i]).

    Raises:
        ConfigError: not integers, or a target outside ``0..num_classes-1``.
    """
    if not text:
        return None
    try:
        mapping = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(
            f"class_map={text!r}: expected comma-separated integers, e.g. 0,1,0,0,2"
        ) from None
    bad = sorted({v for v in mapping if not 0 <= v < num_classes})
    if bad:
        raise ConfigError(
            f"class_map={text!r}: targets {bad} are not classes 0..{num_classes - 1} "
            f"(classes={num_classes})"
        )
    return mapping


def values_outside(mask: np.ndarray, classes: int, ignored: bool = False) -> list[int]:
    """The values of ``mask`` that are not classes ``0..classes-1`` (nor
    :data:`IGNORE_INDEX` when ``ignored``), sorted.

    Example:
        >>> values_outside(np.array([[0, 3], [255, 1]], np.uint8), 2, ignored=True)
        [3]
    """
    allowed = [*range(classes), *([IGNORE_INDEX] if ignored else [])]
    return np.setdiff1d(np.unique(mask), allowed).tolist()


def remap(mask: np.ndarray, class_map: tuple[int, ...] | None) -> np.ndarray:
    """Apply a class map to a mask of raw values (all assumed below ``len(class_map)``)."""
    if class_map is None:
        return mask.astype(np.uint8, copy=False)
    lut = np.asarray(class_map, dtype=np.uint8)
    return lut[mask]


def seed_preset(rgb: np.ndarray) -> np.ndarray:
    """The seed's ``binarisation255``: near-white background, blue leaves, red/green wood.

    Pixels with R+G+B >= 740 are background (0); else blue >= 240 is leaf (1); red or green
    >= 240 is wood (2), taking precedence over blue; the rest is 0. Same output as the seed.
    """
    rgb = np.asarray(rgb)
    mask = np.zeros(rgb.shape[:2], dtype=np.uint8)
    mask[rgb[:, :, 2] >= 240] = 1
    mask[rgb[:, :, 0] >= 240] = 2
    mask[rgb[:, :, 1] >= 240] = 2
    mask[rgb.sum(axis=-1, dtype=np.int64) >= 740] = 0
    return mask


@dataclass(frozen=True)
class ColourPalette:
    """Colours of an annotation tool and the class each stands for.

    YAML form::

        tolerance: 20            # largest difference per channel still counted as a match
        unmatched: 0             # class given to pixels that match no colour
        colours:
          - {rgb: [255, 255, 255], class: 0}
          - {rgb: [0, 0, 255], class: 1}
    """

    colours: tuple[tuple[int, int, int], ...]
    classes: tuple[int, ...]
    tolerance: int = 0
    unmatched: int = 0

    @classmethod
    def from_yaml(cls, path: str | Path) -> ColourPalette:
        """Read a palette from a YAML file (form above); a ``ConfigError`` if missing or not one."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            entries = data["colours"]
            colours = tuple(tuple(int(v) for v in e["rgb"]) for e in entries)
            classes = tuple(int(e["class"]) for e in entries)
            palette = cls(
                colours, classes, int(data.get("tolerance", 0)), int(data.get("unmatched", 0))
            )
        except FileNotFoundError:
            raise ConfigError(f"{path}: palette file not found") from None
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"{path}: not a palette (expected 'colours: - {{rgb: [R, G, B], class: N}}'; {exc})"
            ) from None
        if any(len(c) != 3 or not all(0 <= v <= 255 for v in c) for c in colours):
            raise ConfigError(f"{path}: every rgb must be three values 0..255")
        return palette

    def convert(self, rgb: np.ndarray) -> tuple[np.ndarray, int]:
        """Class mask of an RGB annotation and the number of pixels matching no colour."""
        rgb = np.asarray(rgb, dtype=np.int16)
        mask = np.full(rgb.shape[:2], self.unmatched, dtype=np.uint8)
        matched = np.zeros(rgb.shape[:2], dtype=bool)
        for colour, target in zip(self.colours, self.classes, strict=True):
            hit = (np.abs(rgb - np.asarray(colour, np.int16)) <= self.tolerance).all(-1) & ~matched
            mask[hit] = target
            matched |= hit
        return mask, int((~matched).sum())
