"""The photos the labelling page may show and the masks it may write, and nothing else.

Photos are those of one folder (not its sub-folders), as :mod:`vitiseg.data.photos` finds
them; a file that is a link to somewhere outside the folder is not one of them. Masks are
``NAME_bin.png`` beside the photo, or in ``mask_dir`` under the same name: what
``vitiseg train -d`` reads (:func:`vitiseg.data.layout.find_pairs`). A mask is written
whole or not at all (a temporary file renamed over it), one writer at a time per photo.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vitiseg.data.imageio import image_size, read_mask
from vitiseg.data.layout import detect_mask_suffix
from vitiseg.data.masks import values_outside
from vitiseg.data.photos import image_files, without_masks
from vitiseg.errors import DataError
from vitiseg.util.atomic import atomic_path, remove_temporaries


@dataclass(frozen=True)
class LabelPhoto:
    """A photo of the folder (``name``: its file name) and where its mask goes."""

    name: str
    path: Path
    mask: Path


class LabelFolder:
    """The photos of ``photos`` and their masks (beside them, or in ``mask_dir``).

    Args:
        photos: the folder of photos.
        mask_dir: the folder for the masks (default: ``photos``); created when needed.
        mask_suffix: what follows a photo's name in its mask's (default: the suffix the
            masks already there use, else ``_bin``).

    Raises:
        DataError: ``photos`` is not a folder, holds no photo, or two photos whose masks
            would have the same name (``a.jpg`` and ``a.png``).
    """

    def __init__(
        self, photos: str | Path, mask_dir: str | Path | None = None, mask_suffix: str | None = None
    ) -> None:
        root = Path(photos)
        if not root.is_dir():
            raise DataError(f"{photos}: no such folder")
        self.root = root.resolve()
        self.mask_dir = Path(mask_dir).resolve() if mask_dir is not None else self.root
        if self.mask_dir.exists() and not self.mask_dir.is_dir():
            raise DataError(f"mask_dir={mask_dir}: exists and is a file; give a folder")
        if mask_suffix is None:
            mask_suffix = detect_mask_suffix(self.mask_dir) if self.mask_dir.is_dir() else "_bin"
        self.mask_suffix = mask_suffix
        found = without_masks(image_files(self.root))
        files = [p for p in found if self._inside(p)]
        self.links_out = len(found) - len(files)
        """How many files were left out as links to somewhere outside the folder."""
        masks = {p: self.mask_dir / f"{p.stem}{mask_suffix}.png" for p in files}
        files = [p for p in files if p not in masks.values()]  # a mask of another photo
        self.photos = {p.name: LabelPhoto(p.name, p, masks[p]) for p in files}
        if not self.photos:
            raise DataError(f"{photos}: no photos (.jpg, .jpeg, .png, .tif, .tiff) to label")
        by_mask: dict[Path, str] = {}
        for photo in self.photos.values():
            if photo.mask in by_mask:
                raise DataError(
                    f"{by_mask[photo.mask]} and {photo.name} would share the mask "
                    f"{photo.mask.name}; keep one photo per name"
                )
            by_mask[photo.mask] = photo.name
        self._locks = {name: threading.Lock() for name in self.photos}
        remove_temporaries(photo.mask for photo in self.photos.values())

    def _inside(self, path: Path) -> bool:
        """Whether ``path`` is, links followed, a file of the photo folder itself."""
        return path.resolve().parent == self.root

    def photo(self, name: str) -> LabelPhoto:
        """The photo called ``name`` (its file name).

        Raises:
            KeyError: no such photo of the folder, or it is now a link out of the folder.
        """
        photo = self.photos[name]
        if not self._inside(photo.path):
            raise KeyError(name)
        return photo

    def labelled(self, photo: LabelPhoto) -> bool:
        """Whether ``photo`` has a mask."""
        return photo.mask.is_file()

    def counts(self) -> tuple[int, int]:
        """(photos with a mask, photos without one)."""
        done = sum(self.labelled(photo) for photo in self.photos.values())
        return done, len(self.photos) - done

    def size(self, photo: LabelPhoto) -> tuple[int, int]:
        """The photo's (width, height), as its mask must be."""
        return image_size(photo.path)

    def read(self, photo: LabelPhoto, classes: int) -> np.ndarray:
        """The photo's mask, checked against its size and the ``classes``.

        Raises:
            DataError: a mask of another size than its photo, or with a class outside
                ``0..classes-1`` (other than the ignored value 255).
        """
        mask = read_mask(photo.mask)
        width, height = self.size(photo)
        if mask.shape != (height, width):
            raise DataError(
                f"{photo.mask.name}: {mask.shape[1]}x{mask.shape[0]} pixels, its photo "
                f"{width}x{height}; fix or remove it"
            )
        check_classes(mask, classes, photo.mask.name)
        return mask.astype(np.uint8)

    def write(self, photo: LabelPhoto, mask: np.ndarray, classes: int) -> Path:
        """Write ``mask`` (class indices at the photo's size) as the photo's mask PNG.

        Raises:
            DataError: the mask's size differs from the photo's, or a class is outside
                ``0..classes-1`` (other than the ignored value 255).
        """
        width, height = self.size(photo)
        if mask.shape != (height, width):
            raise DataError(
                f"{photo.name}: a mask of {mask.shape[1]}x{mask.shape[0]} pixels for a "
                f"{width}x{height} photo"
            )
        check_classes(mask, classes, photo.name)
        with self._locks[photo.name], atomic_path(photo.mask) as tmp:
            Image.fromarray(mask.astype(np.uint8), mode="L").save(tmp, format="PNG")
        return photo.mask


def check_classes(mask: np.ndarray, classes: int, name: str) -> None:
    """Raise DataError if ``mask`` holds a value that is neither a class of ``classes`` nor
    the ignored value 255.

    Example:
        >>> check_classes(np.array([[0, 4, 255]]), 5, "a_bin.png")
        >>> check_classes(np.array([[0, 5]]), 5, "a_bin.png")
        Traceback (most recent call last):
        vitiseg.errors.DataError: a_bin.png: class 5 where the page has 5 classes (0-4)
    """
    if wrong := values_outside(mask, classes, ignored=True):
        raise DataError(
            f"{name}: class {wrong[0]} where the page has {classes} classes (0-{classes - 1})"
        )
