"""Find photo/mask pairs on disk in the seed's layout (``NAME.jpg`` + ``NAME_bin.png``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from vitiseg.data.photos import (
    DEFAULT_MASK_SUFFIX,
    IMAGE_EXTENSIONS,
    KNOWN_MASK_SUFFIXES,
    MASK_EXTENSIONS,
    find_image_mask_folders,
    image_files,
)
from vitiseg.errors import DataError

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


def _list_examples(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def detect_mask_suffix(masks_in: Path) -> str:
    """The first of :data:`KNOWN_MASK_SUFFIXES` that some mask file in ``masks_in`` ends with."""
    stems = [p.stem for p in image_files(masks_in, MASK_EXTENSIONS)]
    for suffix in KNOWN_MASK_SUFFIXES:
        if any(stem.endswith(suffix) for stem in stems):
            return suffix
    return DEFAULT_MASK_SUFFIX


def _detect_suffix(directory: Path, masks_in: Path) -> str:
    """``""`` when the masks are in their own folder under the photos' own names, else
    the known suffix found (see :func:`detect_mask_suffix`)."""
    if masks_in.resolve() != directory.resolve():
        photos = {p.stem for p in image_files(directory, IMAGE_EXTENSIONS)}
        masks = {p.stem for p in image_files(masks_in, MASK_EXTENSIONS)}
        if photos & masks:
            return ""
    return detect_mask_suffix(masks_in)


def find_pairs(
    directory: str | Path, mask_suffix: str | None = None, mask_dir: str | Path | None = None
) -> list[Pair]:
    """List the photo/mask pairs of one folder, sorted by name.

    Args:
        directory: folder of photos (and of masks unless ``mask_dir`` is given), or a
            folder holding one of :data:`IMAGE_MASK_FOLDERS` (``images/`` + ``masks/``...).
        mask_suffix: what follows the photo's name in its mask's name (``_bin``, ``_mask``,
            ``""`` for the same name in ``mask_dir``); None detects it: ``""`` if some
            mask in a separate ``mask_dir`` has a photo's own name, else the first of
            :data:`KNOWN_MASK_SUFFIXES` found.
        mask_dir: separate folder holding the masks, if any.

    Raises:
        DataError: no photos, a photo without a mask, a mask without a photo, or two
            files with one name and different extensions.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory")
    ignore_unmasked = False
    if mask_dir is None and (found := find_image_mask_folders(directory)) is not None:
        directory, mask_dir = found
        ignore_unmasked = directory.name.lower() == "jpegimages"  # VOC: not every photo is labelled
    masks_in = Path(mask_dir) if mask_dir else directory
    if not masks_in.is_dir():
        raise DataError(f"{masks_in}: mask directory does not exist")
    same_folder = masks_in.resolve() == directory.resolve()
    if mask_suffix is None:
        mask_suffix = _detect_suffix(directory, masks_in)
    if mask_suffix == "" and same_folder:
        raise DataError(
            f"{directory}: an empty mask_suffix= needs the masks in another folder "
            "(mask_dir=), or photos and masks would have the same names"
        )
    all_masks = _by_stem(
        [p for p in image_files(masks_in, MASK_EXTENSIONS) if p.stem.endswith(mask_suffix)],
        masks_in,
        "mask",
    )
    masks = {stem[: len(stem) - len(mask_suffix)]: path for stem, path in all_masks.items()}
    image_paths = [
        p
        for p in image_files(directory, IMAGE_EXTENSIONS)
        if not (same_folder and p.stem.endswith(mask_suffix))
    ]
    images = _by_stem(image_paths, directory, "photo")
    if ignore_unmasked:
        images = {name: path for name, path in images.items() if name in masks}
    shown = f"NAME{mask_suffix}.png" if mask_suffix else "NAME.png (same name)"
    if not images and not masks:
        raise DataError(
            f"{directory}: no photos found (expected NAME.jpg beside NAME{mask_suffix}.png; "
            "see mask_suffix= and mask_dir=)"
        )
    orphans = sorted(set(images) - set(masks))
    if orphans:
        raise DataError(
            f"{directory}: {len(orphans)} photo(s) without a mask {shown} in "
            f"{masks_in}: {_list_examples(orphans)} (wrong mask_suffix= or mask_dir=?)"
        )
    widowed = sorted(set(masks) - set(images))
    if widowed:
        raise DataError(
            f"{masks_in}: {len(widowed)} mask(s) without a photo in {directory}: "
            f"{_list_examples([masks[n].name for n in widowed])}"
        )
    return [Pair(name, images[name], masks[name]) for name in sorted(images)]


def find_split_pairs(
    directory: str | Path, mask_suffix: str | None = None, mask_dir: str | Path | None = None
) -> dict[str, list[Pair]] | None:
    """Pairs per split if ``directory`` is pre-split, else None.

    Recognised: ``train/ valid/ test/`` sub-folders of ``directory`` (each a folder of
    pairs, or of ``images/`` + ``masks/``...), or split sub-folders inside the photo and
    mask folders (``images/train/`` + ``masks/train/``...). A ``mask_dir`` with split
    sub-folders of its own gives each split its masks.
    """
    directory = Path(directory)
    if (folders := find_split_folders(directory)) is not None:
        for part, folder in folders.items():
            if not any(folder.iterdir()):
                raise DataError(f"{folder}: the {part} split has no images")
        mask_folders = find_split_folders(mask_dir) if mask_dir else None
        return {
            part: find_pairs(folder, mask_suffix, mask_folders[part] if mask_folders else mask_dir)
            for part, folder in folders.items()
        }
    if mask_dir is None and (found := find_image_mask_folders(directory)) is not None:
        images, masks = found
        folders = find_split_folders(images)
        if folders is not None:
            mask_folders = find_split_folders(masks)
            if mask_folders is None:
                raise DataError(f"{images} has train/ valid/ test/ sub-folders but {masks} has not")
            return {
                part: find_pairs(folders[part], mask_suffix, mask_folders[part]) for part in folders
            }
    return None


def mask_files(directory: str | Path, mask_suffix: str | None = None) -> list[Path]:
    """Every mask of a folder: ``NAME{suffix}.png`` files, the ``masks/`` of a folder
    holding ``images/`` + ``masks/``, or, in a folder with no known suffix, every PNG/TIFF
    (masks under the photos' names, in their own folder)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory")
    if (found := find_image_mask_folders(directory)) is not None:
        directory = found[1]
    files = image_files(directory, MASK_EXTENSIONS)
    if mask_suffix is None:
        stems = [p.stem for p in files]
        known = [s for s in KNOWN_MASK_SUFFIXES if any(stem.endswith(s) for stem in stems)]
        mask_suffix = known[0] if known else ""
    files = [p for p in files if p.stem.endswith(mask_suffix)]
    if not files:
        raise DataError(f"{directory}: no masks NAME{mask_suffix}.png found (see mask_suffix=)")
    return files


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


def typical_photo_size(pairs: list[Pair], sample: int = 20) -> tuple[int, int]:
    """Median (width, height) of up to ``sample`` photos spread over ``pairs``, from their
    headers (nothing is decoded)."""
    from vitiseg.data.imageio import image_size  # Pillow: not at --help time

    step = max(1, len(pairs) // sample)
    sizes = sorted(image_size(pair.image) for pair in pairs[::step][:sample])
    widths = sorted(w for w, _ in sizes)
    heights = sorted(h for _, h in sizes)
    return widths[len(widths) // 2], heights[len(heights) // 2]
