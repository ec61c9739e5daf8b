"""Check every pair before any training starts, so bad data fails early and clearly."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from vitiseg.data.imageio import ImageWarning, decode_image, read_mask
from vitiseg.data.layout import Pair
from vitiseg.data.masks import remap, values_outside
from vitiseg.errors import DataError

MAX_PROBLEMS_SHOWN = 8


@dataclass(frozen=True)
class PairFacts:
    """What the check learnt about one pair: size and pixel count per class."""

    width: int
    height: int
    class_counts: np.ndarray
    notes: tuple[str, ...] = ()


def _check_one(pair: Pair, num_classes: int, class_map: tuple[int, ...] | None) -> PairFacts | str:
    try:
        image, note = decode_image(pair.image)
        mask = read_mask(pair.mask)
    except DataError as exc:
        return str(exc)
    if image.shape[:2] != mask.shape:
        return (
            f"{pair.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its photo "
            f"{pair.image.name} is {image.shape[1]}x{image.shape[0]}"
        )
    limit = len(class_map) if class_map else num_classes
    if bad := values_outside(mask, limit):
        hint = (
            f"class_map= has {limit} entries"
            if class_map
            else f"classes={num_classes}; use classes= or class_map= to merge classes"
        )
        return f"{pair.mask}: mask values {bad} are not below {limit} ({hint})"
    counts = np.bincount(remap(mask, class_map).ravel(), minlength=num_classes)
    return PairFacts(image.shape[1], image.shape[0], counts, (note,) if note else ())


def check_pairs(
    pairs: list[Pair],
    num_classes: int,
    class_map: tuple[int, ...] | None = None,
    workers: int = 4,
) -> list[PairFacts]:
    """Decode every photo and mask once and check they can be trained on.

    Checks: both readable, same size, mask values below the number of classes (or the
    class map's length).

    Raises:
        DataError: listing every faulty file (up to a few) with what is wrong.
    """
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(
            tqdm(
                pool.map(lambda p: _check_one(p, num_classes, class_map), pairs),
                total=len(pairs),
                desc="Checking data",
                unit="pair",
                leave=False,
                disable=True if len(pairs) < 20 else None,
            )
        )
    problems = [r for r in results if isinstance(r, str)]
    if problems:
        shown = "\n  ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise DataError(f"{len(problems)} of {len(pairs)} pairs cannot be used:\n  {shown}{tail}")
    notes = [note for facts in results for note in facts.notes]
    if notes:
        more = f" (and {len(notes) - 3} more)" if len(notes) > 3 else ""
        warnings.warn("; ".join(notes[:3]) + more, ImageWarning, stacklevel=2)
    return results  # type: ignore[return-value]
