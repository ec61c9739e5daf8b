"""Find photo/mask pairs on disk in the seed's layout (``NAME.jpg`` + ``NAME_bin.png``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from vitiseg.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
MASK_EXTENSIONS = (".png", ".tif", ".tiff")
KNOWN_MASK_SUFFIXES = ("_bin", "_mask", "_label", "_gt")
SPLIT_FOLDERS = {"train": ("train",), "valid": ("valid", "val"), "test": ("test",)}


@dataclass(frozen=True)
class Pair:
    """One photo and its class mask; ``name`` is the photo's file name without extension."""

    name: str
    image: Path
    mask: Path


def _by_stem(paths: list[Path], directory: Path, what: str) -> dict[str, Path]:
    found: dict[str, list[Path]] = defaultdict(list)
    for path in paths:
        found[path.stem].append(path)
    duplicates = {stem: p for stem, p in found.items() if len(p) > 1}
    if duplicates:
        stem, paths_ = sorted(duplicates.items())[0]
        listed = ", ".join(p.name for p in sorted(paths_))
        raise DataError(
            f"{directory}: {len(duplicates)} {what} name(s) exist with several extensions, "
            f"e.g. {listed}; keep one file per name"
        )
    return {stem: paths_[0] for stem, paths_ in found.items()}


def _files(directory: Path, extensions: tuple[str, ...]) -> list[Path]:
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in extensions
    )


def _list_examples(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def detect_mask_suffix(masks_in: Path) -> str:
    """The first of :data:`KNOWN_MASK_SUFFIXES` that some mask file in ``masks_in`` ends with."""
    stems = [p.stem for p in _files(masks_in, MASK_EXTENSIONS)]
    for suffix in KNOWN_MASK_SUFFIXES:
        if any(stem.endswith(suffix) for stem in stems):
            return suffix
    return KNOWN_MASK_SUFFIXES[0]


def find_pairs(
    directory: str | Path, mask_suffix: str | None = None, mask_dir: str | Path | None = None
) -> list[Pair]:
    """List the photo/mask pairs of one folder, sorted by name.

    Args:
        directory: folder of photos (and of masks unless ``mask_dir`` is given).
        mask_suffix: what follows the photo's name in its mask's name (``_bin``, ``_mask``);
            None picks the first of :data:`KNOWN_MASK_SUFFIXES` found.
        mask_dir: separate folder holding the masks, if any.

    Raises:
        DataError: no photos, a photo without a mask, a mask without a photo, or two
            files with one name and different extensions.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory")
    masks_in = Path(mask_dir) if mask_dir else directory
    if not masks_in.is_dir():
        raise DataError(f"{masks_in}: mask directory does not exist")
    if mask_suffix is None:
        mask_suffix = detect_mask_suffix(masks_in)
    all_masks = _by_stem(
        [p for p in _files(masks_in, MASK_EXTENSIONS) if p.stem.endswith(mask_suffix)],
        masks_in,
        "mask",
    )
    masks = {stem[: len(stem) - len(mask_suffix)]: path for stem, path in all_masks.items()}
    image_paths = [
        p for p in _files(directory, IMAGE_EXTENSIONS) if not p.stem.endswith(mask_suffix)
    ]
    images = _by_stem(image_paths, directory, "photo")
    if not images and not masks:
        raise DataError(
            f"{directory}: no photos found (expected NAME.jpg beside NAME{mask_suffix}.png; "
            "see --mask-suffix and --mask-dir)"
        )
    orphans = sorted(set(images) - set(masks))
    if orphans:
        raise DataError(
            f"{directory}: {len(orphans)} photo(s) without a mask NAME{mask_suffix}.png in "
            f"{masks_in}: {_list_examples(orphans)} (wrong --mask-suffix or --mask-dir?)"
        )
    widowed = sorted(set(masks) - set(images))
    if widowed:
        raise DataError(
            f"{masks_in}: {len(widowed)} mask(s) without a photo in {directory}: "
            f"{_list_examples([masks[n].name for n in widowed])}"
        )
    return [Pair(name, images[name], masks[name]) for name in sorted(images)]


def find_split_folders(directory: str | Path) -> dict[str, Path] | None:
    """Return the ``train``/``valid``/``test`` subfolders if ``directory`` is pre-split.

    ``val`` is accepted for ``valid``. A folder with only some of them is an error.
    """
    directory = Path(directory)
    found = {}
    for split, names in SPLIT_FOLDERS.items():
        for name in names:
            if (directory / name).is_dir():
                found[split] = directory / name
                break
    if not found:
        return None
    missing = [s for s in SPLIT_FOLDERS if s not in found]
    if missing:
        raise DataError(
            f"{directory}: has {', '.join(sorted(found))}/ but no {', '.join(missing)}/ "
            "subfolder; give all three or none"
        )
    return found
