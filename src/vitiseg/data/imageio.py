"""Read photos and class masks from disk, safely and in one convention.

Photos come back as RGB ``uint8`` arrays (H, W, 3) with EXIF orientation applied;
masks as 2-D integer arrays of class indices.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vitiseg.errors import DataError

MAX_PIXELS = 400_000_000
"""Largest image accepted (20000 x 20000); bigger headers are refused before decoding."""

Image.MAX_IMAGE_PIXELS = None  # vitiseg checks the header itself, with a clearer message


class ImageWarning(UserWarning):
    """A photo that was usable after a conversion the user should know about."""


def _open(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{path}: not a readable image ({exc.__class__.__name__})") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise DataError(
            f"{path}: header claims {width}x{height} pixels, more than the "
            f"{MAX_PIXELS:,} vitiseg accepts (a corrupt file or a decompression bomb); "
            "tile the image first"
        )
    return image


def image_size(path: str | Path) -> tuple[int, int]:
    """Return (width, height) from the file header, after EXIF orientation, without decoding."""
    with _open(Path(path)) as image:
        width, height = image.size
        try:
            orientation = image.getexif().get(0x0112, 1)
        except (OSError, SyntaxError, ValueError) as exc:  # PNG reads its chunks for EXIF
            raise DataError(f"{path}: corrupt or truncated image ({exc})") from None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _decode(image: Image.Image, path: Path) -> Image.Image:
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: corrupt or truncated image ({exc})") from None
    return image


def decode_image(path: str | Path) -> tuple[np.ndarray, str | None]:
    """Decode a photo as RGB uint8 (H, W, 3); also say what conversion it needed, if any.

    Greyscale, RGBA, palette and 16-bit photos are accepted: 16-bit values are scaled
    to 8 bits, alpha is dropped. Safe to call from several threads (it warns nothing).
    """
    path = Path(path)
    with _open(path) as image:
        image = _decode(image, path)
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.asarray(image, dtype=np.float64)
            top = 65535.0 if array.max() > 255 else 255.0
            array = np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
            note = f"{path}: 16-bit greyscale photo scaled to 8-bit RGB"
            return np.repeat(array[:, :, None], 3, axis=2), note
        note = None
        if image.mode != "RGB":
            note = f"{path}: {image.mode} photo converted to RGB"
            image = image.convert("RGB")
        return np.asarray(image, dtype=np.uint8).copy(), note


def rgb_array(photo: np.ndarray) -> np.ndarray:
    """A photo given as an array, as :func:`decode_image` gives one: RGB uint8 (H, W, 3).

    Accepted: uint8 (H, W, 3) RGB as it is; uint8 greyscale (H, W) or (H, W, 1), its
    value repeated in the three channels; uint8 RGBA (H, W, 4), alpha dropped. Anything
    else is refused rather than guessed: another dtype (float 0-1 or 0-255, uint16, int64,
    bool: their scale is not known) or another shape (channels first, (3, H, W)).

    Raises:
        DataError: an array of another dtype or shape, named with both.

    Example:
        >>> rgb_array(np.zeros((4, 6), np.uint8)).shape
        (4, 6, 3)
        >>> rgb_array(np.zeros((3, 4, 6), np.float32))
        Traceback (most recent call last):
        ...
        vitiseg.errors.DataError: photo array of shape (3, 4, 6) and dtype float32: ...
    """
    if not isinstance(photo, np.ndarray):
        raise DataError(
            f"photo of type {type(photo).__name__}: give a numpy array or an image file's path"
        )
    shape = photo.shape
    channels = shape[2] if photo.ndim == 3 else 1 if photo.ndim == 2 else None
    if photo.dtype != np.uint8 or channels not in (1, 3, 4) or 0 in shape:
        raise DataError(
            f"photo array of shape {shape} and dtype {photo.dtype}: give uint8 RGB (H, W, 3), "
            "greyscale (H, W) or RGBA (H, W, 4), channels last; scale other types to 0-255 "
            "uint8 yourself (their range is not known), or give the image file"
        )
    if channels == 4:
        photo = photo[:, :, :3]
    elif channels == 1:
        photo = np.repeat(photo.reshape(shape[0], shape[1], 1), 3, axis=2)
    return np.ascontiguousarray(photo)


def read_image(path: str | Path) -> np.ndarray:
    """:func:`decode_image`, with an :class:`ImageWarning` for a converted photo."""
    array, note = decode_image(path)
    if note:
        warnings.warn(note, ImageWarning, stacklevel=2)
    return array


def read_mask(path: str | Path) -> np.ndarray:
    """Decode a class-index mask as a 2-D array (uint8, or uint16 for 16-bit files).

    Palette PNGs give their indices; RGB files whose three channels are equal are read as
    greyscale. A true colour annotation is refused with a pointer to ``vitiseg masks convert``.
    """
    path = Path(path)
    with _open(path) as image:
        image = _decode(image, path)
        if image.mode in ("L", "P", "1"):
            return np.asarray(image, dtype=np.uint8).copy()
        if image.mode.startswith("I"):
            return np.asarray(image).astype(np.uint16)
        array = np.asarray(image.convert("RGB"))
    if np.array_equal(array[:, :, 0], array[:, :, 1]) and np.array_equal(
        array[:, :, 0], array[:, :, 2]
    ):
        return array[:, :, 0].copy()
    raise DataError(
        f"{path}: colour mask ({image.mode}) where class indices are expected; "
        "convert colour annotations with `vitiseg masks convert SRC DST`"
    )
