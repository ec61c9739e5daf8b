"""What every importer gives: photos, each with labelled layers, and shared helpers."""

from __future__ import annotations

import functools
import importlib
import re
import urllib.parse
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from vitiseg.data.importers.validate import polygon, shown
from vitiseg.data.photos import IMAGE_EXTENSIONS
from vitiseg.errors import DataError

BACKGROUND = "background"
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")  # Label Studio's upload: 1a2b3c4d-NAME.jpg


@dataclass(frozen=True)
class Layer:
    """One labelled region: its class name, where it comes from (for messages), its pixels.

    ``decode`` returns a (height, width) bool array; it runs only when the mask is written,
    one layer at a time. ``area`` counts the pixels without decoding, where that is cheap.
    """

    label: str
    where: str
    decode: Callable[[], np.ndarray]
    area: Callable[[], int] | None = None

    def pixels(self) -> int:
        """How many pixels the layer covers."""
        return self.area() if self.area else int(self.decode().sum())


@dataclass
class Item:
    """One photo of an export: output name, photo file (None: not found), size, layers."""

    name: str
    photo: Path | None
    where: str
    width: int | None
    height: int | None
    layers: list[Layer] = field(default_factory=list)
    wanted: str = ""  # the photo the export names, for the message when it is missing


@dataclass
class Export:
    """What an importer read: the labelled photos, the class names in the file's order,
    and the photos the export lists without any label."""

    items: list[Item]
    labels: list[str]
    unlabelled: list[str]


def require(module: str) -> ModuleType:
    """Import an optional dependency of the importers, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DataError(
            f"this needs the optional package {module.split('.')[0]} ({exc}); "
            "install it with: pip install 'vitiseg[labels]'"
        ) from None


def flat_name(path: str) -> str:
    """An output name from a path inside an export: its stem, sub-folders joined by ``_``.

    Example:
        >>> flat_name("plot 2/IMG_01.jpg")
        'plot 2_IMG_01'
    """
    parts = [p for p in Path(path.replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
    return "_".join([*parts[:-1], Path(parts[-1]).stem]) if parts else ""


def find_photo(reference: str, folders: list[Path], where: str) -> Path | None:
    """The photo an export names (path, URL, Label Studio upload name) in one of ``folders``.

    Tried in order: the path relative to each folder, its file name, then the file name
    without Label Studio's 8-hex-digit upload prefix.

    Raises:
        DataError: the path climbs out of the folders (``..``).
    """
    try:
        parsed = urllib.parse.urlparse(reference)
    except ValueError:
        raise DataError(f"{where}: photo {shown(reference)} is not a path or URL") from None
    query = urllib.parse.parse_qs(parsed.query).get("d")
    relative = (
        urllib.parse.unquote(query[0] if query else parsed.path).replace("\\", "/").lstrip("/")
    )
    if ".." in relative.split("/"):
        raise DataError(
            f"{where}: photo {shown(reference)} lies outside the photo folder; exports name "
            "photos inside it"
        )
    name = Path(relative).name
    candidates = [relative, name]
    if match := _UPLOAD_PREFIX.match(name):
        candidates.append(match.group(1))
    for folder in folders:
        for candidate in candidates:
            path = folder / candidate
            try:
                if candidate and path.is_file():
                    return path
            except OSError:  # a name the file system cannot hold (too long...): not there
                continue
    return None


def find_by_stem(stem: str, folder: Path) -> Path | None:
    """The photo ``folder/stem.*`` with an image extension, if any."""
    for extension in IMAGE_EXTENSIONS:
        for path in (folder / f"{stem}{extension}", folder / f"{stem}{extension.upper()}"):
            if path.is_file():
                return path
    return None


def polygon_layer(
    parts: list[np.ndarray], width: int, height: int, label: str, where: str
) -> Layer:
    """The union of polygons of checked coordinates ``[x0, y0, x1, y1...]`` in pixels
    (corner convention, as COCO), rasterised by pycocotools.

    Raises:
        DataError: an odd number of coordinates, fewer than 3 points, a point more than
            one pixel outside the image, or an outline too long to rasterise.
    """
    polygons = []
    for xy in parts:
        if len(xy) % 2:
            raise DataError(f"{where}: a polygon needs x, y pairs; got {len(xy)} coordinates")
        polygons.append(polygon(xy.reshape(-1, 2), width, height, where).ravel().tolist())

    @functools.cache
    def rle() -> dict:
        mask_utils = require("pycocotools.mask")
        return mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))

    def decode() -> np.ndarray:
        with warnings.catch_warnings():  # pycocotools 2.0.x and numpy 2's copy keyword
            warnings.simplefilter("ignore", DeprecationWarning)
            return require("pycocotools.mask").decode(rle()).astype(bool)

    return Layer(label, where, decode, lambda: int(require("pycocotools.mask").area(rle())))


def class_order(labels: list[str], classes: list[str] | None) -> list[str]:
    """The class names by index: ``classes`` as given, else ``labels`` in the file's order
    with ``background`` first (added if the file has none).

    Raises:
        DataError: a name given twice.
    """
    if classes is None:
        rest = [label for label in labels if label.lower() != BACKGROUND]
        background = [label for label in labels if label.lower() == BACKGROUND][:1]
        return (background or [BACKGROUND]) + list(dict.fromkeys(rest))
    twice = sorted({c for c in classes if classes.count(c) > 1})
    if twice:
        raise DataError(f"classes= names {twice[0]} twice")
    return list(classes)
