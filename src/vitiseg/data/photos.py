"""The one photo finder: which files are photos, which are masks, and when a photo was taken.

Every job that looks for photos (train, evaluate, predict, season, export, pseudo-labels,
masks convert) uses the extensions, mask suffixes and folder layouts named here, and every
job that reads a camera or a date from a file name uses :func:`parse_name`.
"""

from __future__ import annotations

import contextlib
import glob
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

from vitiseg.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
MASK_EXTENSIONS = (".png", ".tif", ".tiff")
KNOWN_MASK_SUFFIXES = ("_bin", "_mask", "_label", "_gt")
IMAGE_MASK_FOLDERS = (("images", "masks"), ("img", "ann"), ("JPEGImages", "SegmentationClass"))
OUTPUT_FOLDERS = ("masks", "overlays", "probabilities", "export", "predictions", "figures")
"""The folders vitiseg writes into an output folder: never read back as photos."""
DEFAULT_MASK_SUFFIX = KNOWN_MASK_SUFFIXES[0]
"""The seed's mask name: ``NAME_bin.png`` beside ``NAME.jpg``."""

_NAME_DATE = re.compile(
    r"(?:(?<![^\W_])|(?<=IMG)|(?<=img)|(?<=VID)|(?<=PANO))"  # a part of its own (at the
    # start, or after a separator), or glued to a phone's prefix (IMG20240501123456)
    r"((?:19|20)\d\d)([-_.]?)(\d\d)\2(\d\d)"  # the date, one separator (or none) throughout
    r"(?:[-_. T]?(\d\d)([-_.:]?)(\d\d)\6(\d\d)\d*)?"  # the time, likewise (+ fractions)
    r"(?!\d)"
)
NAME_SEPARATORS = "_-. "
"""What may separate a name's camera, date and time."""
_EXIF_DATETIME_ORIGINAL, _EXIF_DATETIME, _EXIF_IFD = 36867, 306, 0x8769


@dataclass(frozen=True)
class Photo:
    """An input photo and the name its outputs take (its path under the input folder)."""

    path: Path
    key: str


def is_image_file(path: Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> bool:
    """A file with one of ``extensions`` (any case), not hidden (``.name``, such as the
    ``._NAME.jpg`` a Mac leaves on a USB stick)."""
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in extensions


def image_files(directory: Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[Path]:
    """The files of ``directory`` that :func:`is_image_file` takes, sorted."""
    return sorted(p for p in directory.iterdir() if is_image_file(p, extensions))


def find_image_mask_folders(directory: str | Path) -> tuple[Path, Path] | None:
    """The ``(photos, masks)`` sub-folders of ``directory``, if it holds one of
    :data:`IMAGE_MASK_FOLDERS` (names compared without case), else None."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    folders = {p.name.lower(): p for p in directory.iterdir() if p.is_dir()}
    for images, masks in IMAGE_MASK_FOLDERS:
        if images.lower() in folders and masks.lower() in folders:
            return folders[images.lower()], folders[masks.lower()]
    return None


def without_masks(files: list[Path]) -> list[Path]:
    """``files`` less the masks of others among them: ``NAME_bin.png`` beside ``NAME.jpg``,
    for each of :data:`KNOWN_MASK_SUFFIXES` (the seed's layout, given to ``predict``).

    Example:
        >>> [p.name for p in without_masks([Path("a.jpg"), Path("a_bin.png"), Path("b_bin.png")])]
        ['a.jpg', 'b_bin.png']
    """
    stems = {(p.parent, p.stem) for p in files}
    return [
        p
        for p in files
        if not any(
            p.stem.endswith(s) and (p.parent, p.stem.removesuffix(s)) in stems
            for s in KNOWN_MASK_SUFFIXES
        )
    ]


def collect_photos(
    inputs: list[str], recursive: bool = False, exclude: Path | None = None
) -> list[Photo]:
    """Files, folders (``recursive`` for sub-folders) and glob patterns -> photos, sorted.

    Masks are left out wherever they are found (:func:`without_masks`: ``NAME_bin.png``
    beside ``NAME.jpg``, and the other known mask suffixes; ``masks/`` beside ``images/``),
    and so is everything under ``exclude`` (the output folder: its masks and overlays are
    never read back as photos).

    Raises:
        DataError: an input that does not exist, or two photos with the same output name.
    """
    photos: list[Photo] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            if (layout := find_image_mask_folders(path)) is not None:
                path = layout[0]  # a training set's images/ beside masks/
            found = path.rglob("*") if recursive else path.iterdir()
            files = sorted(p for p in found if is_image_file(p))
            photos += [Photo(p, p.relative_to(path).with_suffix("").as_posix()) for p in files]
        elif path.is_file():
            photos.append(Photo(path, path.stem))
        elif matches := sorted(glob.glob(item, recursive=recursive)):
            photos += [Photo(Path(m), Path(m).stem) for m in matches if is_image_file(Path(m))]
        else:
            raise DataError(f"{item}: no such file, folder or matching pattern")
    photos = _outside(_without_mask_photos(photos), exclude)
    seen: dict[str, Path] = {}
    for photo in photos:
        if photo.key in seen and seen[photo.key] != photo.path:
            raise DataError(
                f"{seen[photo.key]} and {photo.path} would both write outputs named {photo.key}; give their folder instead"
            )
        seen[photo.key] = photo.path
    if not photos:
        raise DataError(f"no photos ({', '.join(IMAGE_EXTENSIONS)}) in {', '.join(inputs)}")
    return list({p.key: p for p in photos}.values())


def _without_mask_photos(photos: list[Photo]) -> list[Photo]:
    kept = set(without_masks([photo.path for photo in photos]))
    return [photo for photo in photos if photo.path in kept]


def _outside(photos: list[Photo], folder: Path | None) -> list[Photo]:
    if folder is None:
        return photos
    written = [(folder / name).resolve() for name in OUTPUT_FOLDERS]
    return [p for p in photos if not any(p.path.resolve().is_relative_to(w) for w in written)]


@dataclass(frozen=True)
class PhotoName:
    """What a photo's file name says: its camera and when it was taken (None where not)."""

    camera: str | None
    taken: datetime | None


def camera_in_name(path: str | Path, regex: str | None = None) -> str | None:
    """The camera in a photo's file name: the first group of ``regex`` (else its whole
    match), or without ``regex`` the name before its date (:func:`parse_name`); None when
    not found.

    Example:
        >>> camera_in_name("vines/4j7g2wk9_2024-04-19_104603.jpg"), camera_in_name("x/site_cam07.jpg", r"cam(\\d+)")
        ('4j7g2wk9', '07')
    """
    stem = Path(path).stem
    if not regex:
        return parse_name(stem).camera
    hit = re.search(regex, stem)
    return None if not hit else (hit.group(1) if hit.re.groups else hit.group(0))


def parse_name(stem: str) -> PhotoName:
    """The camera and the time in a photo's file name (without its extension).

    Accepted forms: ``CAMERA_DATE[_TIME][_ANYTHING]``, where

    - ``DATE`` is ``YYYY-MM-DD``, ``YYYY_MM_DD``, ``YYYY.MM.DD`` or ``YYYYMMDD`` (a year
      19xx or 20xx, a real day), standing on its own: at the start of the name or after a
      separator (``_``, ``-``, ``.`` or a space), and not followed by another digit;
    - ``TIME`` follows it after one separator (``_``, ``-``, ``.``, a space or ``T``) or
      none: ``HHMMSS``, ``HH-MM-SS``, ``HH_MM_SS``, ``HH.MM.SS`` or ``HH:MM:SS``, digits
      glued after it being fractions of a second (``VID_20220413_1703470520``); a time
      that is not one (hour 25) is left out, the date kept;
    - ``CAMERA`` is everything before the date, separators at its end removed: it may
      hold digits (``cam12345678``), and even a date glued to letters (``plot20230615``
      is a camera, not a date); none when the name starts with its date.

    The first date that stands on its own and is a real day is the name's; digits glued
    to letters are never a date, except after a phone's ``IMG``, ``VID`` or ``PANO``
    (``IMG20240501123456``, camera ``IMG``, as ``IMG_20240501_123456``).

    Example:
        >>> parse_name("4j7g2wk9_2024-04-19_104603_7_18")
        PhotoName(camera='4j7g2wk9', taken=datetime.datetime(2024, 4, 19, 10, 46, 3))
        >>> parse_name("cam12345678_20240419")
        PhotoName(camera='cam12345678', taken=datetime.datetime(2024, 4, 19, 0, 0))
        >>> parse_name("plot20230615_2024-05-01")
        PhotoName(camera='plot20230615', taken=datetime.datetime(2024, 5, 1, 0, 0))
        >>> parse_name("IMG20240501123456")
        PhotoName(camera='IMG', taken=datetime.datetime(2024, 5, 1, 12, 34, 56))
        >>> parse_name("IMG_0001"), parse_name("2024-05-01 12.30.00").camera
        (PhotoName(camera=None, taken=None), None)
    """
    for match in _NAME_DATE.finditer(stem):
        year, _, month, day, hour, _, minute, second = match.groups()
        try:
            taken = datetime(int(year), int(month), int(day))
        except ValueError:
            continue
        if hour is not None:
            with contextlib.suppress(ValueError):  # not a time (hour 25): the date alone
                taken = taken.replace(hour=int(hour), minute=int(minute), second=int(second))
        camera = stem[: match.start()].rstrip(NAME_SEPARATORS)
        return PhotoName(camera or None, taken)
    return PhotoName(None, None)


def photo_datetime(path: Path) -> str:
    """When the photo was taken: EXIF DateTimeOriginal, else the date in its name
    (:func:`parse_name`), else ''."""
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            value = exif.get_ifd(_EXIF_IFD).get(_EXIF_DATETIME_ORIGINAL) or exif.get(_EXIF_DATETIME)
        if value:
            return datetime.strptime(str(value).strip(), "%Y:%m:%d %H:%M:%S").isoformat()
    except (OSError, ValueError):
        pass
    taken = parse_name(Path(path).stem).taken
    return "" if taken is None else taken.isoformat()
