"""Folder-level mask tools: colour annotations to class masks, and class statistics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from vitiseg.data.imageio import read_mask
from vitiseg.data.layout import mask_files
from vitiseg.data.photos import DEFAULT_MASK_SUFFIX, image_files
from vitiseg.errors import DataError
from vitiseg.util.atomic import atomic_path


@dataclass(frozen=True)
class Converted:
    """One converted annotation and how many of its pixels matched no colour."""

    source: Path
    target: Path
    unmatched: int
    pixels: int


def convert_folder(
    source: str | Path,
    target: str | Path,
    converter: Callable[[np.ndarray], tuple[np.ndarray, int]],
    suffix: str = DEFAULT_MASK_SUFFIX,
    strip: str = "",
    overwrite: bool = False,
) -> list[Converted]:
    """Convert every RGB annotation of ``source`` into ``target/NAME{suffix}.png``.

    ``strip`` is removed from the end of each annotation's name first (e.g. ``_color``).

    Raises:
        DataError: no annotations found, or a target exists and ``overwrite`` is False.
    """
    source, target = Path(source), Path(target)
    if not source.is_dir():
        raise DataError(f"{source}: no such directory")
    files = image_files(source)
    if not files:
        raise DataError(f"{source}: no annotation images (.png, .jpg, .tif) found")
    names = [p.stem.removesuffix(strip) if strip else p.stem for p in files]
    outputs = [target / f"{name}{suffix}.png" for name in names]
    existing = [p for p in outputs if p.exists()]
    if existing and not overwrite:
        raise DataError(
            f"{existing[0]} already exists ({len(existing)} such files); pass overwrite=True to replace them"
        )
    results = []
    for path, output in tqdm(
        list(zip(files, outputs, strict=True)), desc="Converting", unit="mask", disable=None
    ):
        with Image.open(path) as picture:
            rgb = np.asarray(picture.convert("RGB"))
        mask, unmatched = converter(rgb)
        with atomic_path(output) as tmp:
            Image.fromarray(mask).save(tmp, format="PNG")
        results.append(Converted(path, output, unmatched, mask.size))
    return results


def mask_stats(directory: str | Path, suffix: str | None = None) -> tuple[list[str], np.ndarray]:
    """Pixel counts per class for every mask in ``directory``: (names, counts [N, C]).

    ``directory`` is a folder of ``NAME{suffix}.png`` masks, a folder of masks under the
    photos' own names, or one holding ``images/`` + ``masks/`` (see
    :func:`vitiseg.data.layout.mask_files`).
    """
    files = mask_files(directory, suffix)
    counts = [
        np.bincount(read_mask(p).ravel())
        for p in tqdm(files, desc="Reading masks", unit="mask", disable=None, leave=False)
    ]
    width = max(len(c) for c in counts)
    table = np.stack([np.pad(c, (0, width - len(c))) for c in counts])
    return [p.name for p in files], table
