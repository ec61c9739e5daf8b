"""Checks for untrusted annotation files, applied before anything is decoded or drawn.

Every value read from a COCO, Label Studio or CVAT export goes through one of these: a
wrong type, a missing field, NaN or infinity, a number out of range, an oversized
polygon or a malformed RLE is refused with a :class:`~vitiseg.errors.DataError` that
names the file and the item. Values shown in messages go through :func:`shown`, so no
message runs over one line however the file was written.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from vitiseg.errors import DataError

MAX_SIDE = 65_535
"""Largest image side an export may declare."""
MAX_PIXELS = 100_000_000
"""Largest image an export may declare or hold (a mask of it costs ~1.5 GB to compose)."""
MAX_POINTS = 100_000
"""Most points one polygon may have."""
MAX_OUTLINE = 4_000_000
"""Longest polygon outline, in pixels, that is rasterised (bounds the rasteriser's memory)."""
MAX_RLE_COUNTS = 20_000_000
"""Most runs one RLE may hold."""
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f,]")


def shown(value: Any, limit: int = 60) -> str:
    """A value as it may appear in a one-line message: printable text as it is, anything
    else by ``repr``, cut to ``limit`` characters.

    Example:
        >>> print(shown("IMG_1.jpg"), shown("a\\nb"), shown(1e300), shown([1, 2]))
        IMG_1.jpg 'a\\nb' 1e+300 [1, 2]
    """
    if isinstance(value, str) and value.isprintable():
        text = value
    else:
        text = f"{value:.6g}" if isinstance(value, float) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def mapping(value: Any, where: str, what: str) -> dict:
    """``value`` if it is a JSON object, else a DataError."""
    if not isinstance(value, dict):
        raise DataError(f"{where}: {what} should be an object, got {shown(value)}")
    return value


def sequence(value: Any, where: str, what: str) -> list:
    """``value`` if it is a JSON list, else a DataError."""
    if not isinstance(value, list):
        raise DataError(f"{where}: {what} should be a list, got {shown(value)}")
    return value


def required(item: dict, key: str, where: str) -> Any:
    """``item[key]``, or a DataError naming the missing field."""
    if key not in item:
        raise DataError(f"{where}: no {key!r} field")
    return item[key]


def integer(value: Any, where: str, what: str, low: int = 0, high: int = 2**63 - 1) -> int:
    """A whole number in ``[low, high]`` (``12.0`` counts; ``True``, ``"12"``, NaN do not)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DataError(f"{where}: {what} should be a whole number from {low} to {high}, got {shown(value)}")  # fmt: skip
    return value


def is_whole(value: Any) -> bool:
    """Whether ``value`` is an int and not a bool (a key to look an id up with)."""
    return isinstance(value, int) and not isinstance(value, bool)


def size(width: Any, height: Any, where: str) -> tuple[int, int]:
    """An image size as declared by an export: whole numbers, at most :data:`MAX_SIDE`, and
    :data:`MAX_PIXELS` in all."""
    width = integer(width, where, "width", 1, MAX_SIDE)
    height = integer(height, where, "height", 1, MAX_SIDE)
    if width * height > MAX_PIXELS:
        raise DataError(f"{where}: {width}x{height} is more than the {MAX_PIXELS:,} pixels vitiseg imports; tile the photo first")  # fmt: skip
    return width, height


def text(value: Any, where: str, what: str) -> str:
    """A non-empty string, printable on one line and writable as UTF-8."""
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: {what} should be a non-empty text, got {shown(value)}")
    if not value.isprintable() or any("\ud800" <= c <= "\udfff" for c in value):
        raise DataError(
            f"{where}: {what} {shown(value)} holds a control, line-break or invalid character"
        )
    return value


def class_name(value: Any, where: str) -> str:
    """A class name that fits one line of ``classes.txt`` and a ``--class-names`` list."""
    if isinstance(value, str) and (_UNSAFE_NAME.search(value) or value != value.strip()):
        raise DataError(
            f"{where}: label name {shown(value)} holds a comma, a control character or "
            "surrounding spaces; rename the label in the annotation tool"
        )
    return text(value, where, "the label name")


def photo_name(value: Any, where: str) -> str:
    """A photo name or path from an export: printable text."""
    return text(value, where, "the photo name")


def coordinates(values: Any, where: str) -> np.ndarray:
    """A flat list of finite numbers, at most ``2 * MAX_POINTS`` of them, as float64."""
    values = sequence(values, where, "the polygon")
    if len(values) > 2 * MAX_POINTS:
        raise DataError(f"{where}: polygon of {len(values) // 2:,} points; at most {MAX_POINTS:,} are accepted")  # fmt: skip
    for value in values:
        if not _finite_number(value):
            raise DataError(
                f"{where}: polygon coordinate {shown(repr(value))} is not a finite number"
            )
    return np.asarray(values, dtype=np.float64)


def _finite_number(value: Any) -> bool:
    """An int or float, not a bool, that a float64 holds (a 400-digit int does not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def polygon(xy: np.ndarray, width: int, height: int, where: str) -> np.ndarray:
    """Check polygon points ``(N, 2)`` against the image: 3 or more, none more than one pixel
    outside, an outline short enough to rasterise (which bounds the rasteriser's memory)."""
    if len(xy) < 3:
        raise DataError(f"{where}: empty annotation (a polygon needs 3 points or more)")
    outside = (xy[:, 0] < -1) | (xy[:, 0] > width + 1) | (xy[:, 1] < -1) | (xy[:, 1] > height + 1)
    if outside.any():
        x, y = xy[np.argmax(outside)]
        raise DataError(
            f"{where}: polygon point ({_coordinate(x)}, {_coordinate(y)}) lies outside the {width}x{height} image"
        )
    outline = np.abs(np.diff(np.vstack([xy, xy[:1]]), axis=0)).max(1).sum()
    if outline > MAX_OUTLINE:
        raise DataError(f"{where}: polygon outline of {outline:,.0f} pixels; at most {MAX_OUTLINE:,} are rasterised")  # fmt: skip
    return xy


def _coordinate(value: float) -> str:
    return f"{value:.1f}" if abs(value) < 1e9 else f"{value:.3g}"


def rle_counts(counts: Any, height: int, width: int, where: str) -> np.ndarray:
    """The runs of a COCO RLE (a list of numbers, or pycocotools' compressed string),
    checked: none negative, summing to ``height * width``."""
    if isinstance(counts, str):
        runs = _decompress(counts, where)
    else:
        counts = sequence(counts, where, "RLE counts")
        if len(counts) > MAX_RLE_COUNTS:
            raise DataError(f"{where}: RLE of {len(counts):,} runs; at most {MAX_RLE_COUNTS:,}")
        runs = [integer(c, where, "an RLE count", 0, height * width) for c in counts]
    array = np.asarray(runs, dtype=np.int64)
    if (array < 0).any():
        raise DataError(f"{where}: malformed RLE (a negative run)")
    total = int(array.sum())
    if total != height * width:
        raise DataError(
            f"{where}: RLE covers {total:,} pixels, the {width}x{height} image has {height * width:,}"
        )
    return array


def _decompress(counts: str, where: str) -> list[int]:
    """pycocotools' compressed RLE string -> runs (its ``rleFrString``, with checks)."""
    if len(counts) > 6 * MAX_RLE_COUNTS or not all(48 <= ord(c) < 112 for c in counts):
        raise DataError(f"{where}: malformed compressed RLE string {shown(counts)}")
    runs: list[int] = []
    position = 0
    while position < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if position == len(counts) or shift > 30:
                raise DataError(f"{where}: malformed compressed RLE string (cut short)")
            code = ord(counts[position]) - 48
            value |= (code & 0x1F) << shift
            more = bool(code & 0x20)
            position += 1
            shift += 5
            if not more and code & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
        if len(runs) > MAX_RLE_COUNTS:
            raise DataError(f"{where}: RLE of more than {MAX_RLE_COUNTS:,} runs")
    return runs


def runs_to_mask(runs: np.ndarray, height: int, width: int) -> np.ndarray:
    """Checked COCO runs (column-major, starting with background) -> (height, width) bool."""
    values = np.arange(len(runs)) % 2 == 1
    return np.repeat(values, runs).reshape(width, height).T
