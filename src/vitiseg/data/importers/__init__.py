"""Labels from annotation tools -> ``NAME.jpg`` + ``NAME_bin.png`` class masks.

Formats: CVAT "Segmentation mask 1.1" (:mod:`.cvat`), Label Studio JSON with brush and
polygon labels (:mod:`.labelstudio`), COCO JSON with polygons and RLE (:mod:`.coco`).

Everything is written into a temporary folder beside the target and moved into place
only when every photo succeeded, so a mistake in the export leaves nothing half-written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from vitiseg.data.imageio import image_size
from vitiseg.data.importers.coco import read_coco
from vitiseg.data.importers.common import Export, Item, Layer, class_order
from vitiseg.data.importers.cvat import read_cvat
from vitiseg.data.importers.labelstudio import read_labelstudio
from vitiseg.data.importers.validate import shown
from vitiseg.data.photos import DEFAULT_MASK_SUFFIX
from vitiseg.errors import DataError
from vitiseg.util.atomic import write_text

FORMATS = ("cvat", "labelstudio", "coco")
MAX_NAME_BYTES = 200
"""Longest photo name written (file systems stop at 255 bytes, with the mask suffix)."""


@dataclass
class ImportSummary:
    """What an import wrote: classes, photos, pixels per class, what it left out."""

    classes: list[str]
    photos: int = 0
    pixels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    unlabelled: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def read_export(fmt: str, source: str | Path, images: str | Path | None = None) -> Export:
    """Read an export of ``fmt`` (one of :data:`FORMATS`) without writing anything."""
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    images = Path(images) if images else None
    if images is not None and not images.is_dir():
        raise DataError(f"images={images}: no such folder")
    if fmt == "cvat":
        if not source.is_dir():
            raise DataError(f"{source}: give the unzipped CVAT export folder")
        return read_cvat(source, images)
    if source.is_dir():
        raise DataError(f"{source}: give the exported JSON file, not a folder")
    if fmt == "labelstudio":
        return read_labelstudio(source, images)
    if fmt == "coco":
        return read_coco(source, images)
    raise DataError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def compose(layers: list[Layer], classes: list[str], width: int, height: int) -> np.ndarray:
    """Paint the layers into one class-index mask (unlabelled pixels: class 0).

    Overlapping regions: the larger layer is painted first and the smaller on top (a
    region drawn inside another is in front of it, e.g. a leaf over a cane); layers of
    equal size keep the file's order, the later on top. One layer is decoded at a time.
    """
    index = {name: i for i, name in enumerate(classes)}
    areas = [layer.pixels() for layer in layers]
    mask = np.zeros((height, width), np.uint8)
    for i in sorted(range(len(layers)), key=lambda i: (-areas[i], i)):
        pixels = layers[i].decode()
        if pixels.shape != (height, width):
            raise DataError(
                f"{layers[i].where}: mask is {pixels.shape[1]}x{pixels.shape[0]}, the image {width}x{height}"
            )
        mask[pixels] = index[layers[i].label]
    return mask


def _check(export: Export, classes: list[str], skip_missing: bool) -> tuple[list[Item], list[str]]:
    names: dict[str, str] = {}
    for item in export.items:
        if len(item.name.encode()) > MAX_NAME_BYTES:
            raise DataError(
                f"{item.where}: photo name {shown(item.name)} is longer than {MAX_NAME_BYTES} bytes"
            )
        if item.name in names:
            raise DataError(
                f"{item.where} and {names[item.name]} would both be written as {shown(item.name)}"
            )
        names[item.name] = item.where
        for layer in item.layers:
            if layer.label not in classes:
                raise DataError(
                    f"{layer.where}: label {layer.label!r} is not in classes= ({','.join(classes)})"
                )
    missing = [item for item in export.items if item.photo is None]
    if missing and not skip_missing:
        examples = ", ".join(shown(item.wanted or item.name) for item in missing[:3])
        raise DataError(
            f"{len(missing)} labelled photo(s) not found, e.g. {examples} (of {missing[0].where}); "
            "give their folder with images=, or skip_missing=True to import the others"
        )
    return [i for i in export.items if i.photo is not None], [i.wanted or i.name for i in missing]


def _place_photo(photo: Path, target: Path, copy: bool) -> None:
    if not copy:
        try:
            os.link(photo, target)
            return
        except OSError:
            pass  # another file system, or links not allowed: copy
    shutil.copy2(photo, target)


def _move_into(staging: Path, target: Path, overwrite: bool) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(staging.iterdir()):
        destination = target / path.name
        if destination.exists() and not overwrite:  # appeared while importing
            raise DataError(f"{destination} already exists; pass overwrite=True to replace it")
        os.replace(path, destination)


def import_labels(
    fmt: str,
    source: str | Path,
    target: str | Path,
    classes: list[str] | None = None,
    images: str | Path | None = None,
    suffix: str = DEFAULT_MASK_SUFFIX,
    copy: bool = False,
    overwrite: bool = False,
    skip_missing: bool = False,
) -> ImportSummary:
    """Turn an annotation tool's export into ``target/NAME.jpg`` + ``NAME{suffix}.png``.

    Args:
        fmt: ``cvat``, ``labelstudio`` or ``coco``.
        source: CVAT export folder, or the Label Studio / COCO JSON file.
        target: output folder; also gets ``classes.txt`` (one class name per line).
        classes: class names by index; default: the file's order, ``background`` first.
        images: folder of the photos, if not where the export says.
        suffix: mask name suffix.
        copy: copy the photos (default: hard link, or copy where links are impossible).
        overwrite: replace files of ``target`` with the same names.
        skip_missing: import the photos found and list the others, instead of failing.

    Raises:
        DataError: anything wrong in the export (the message names the file and item);
            nothing is written then.
    """
    target = Path(target)
    export = read_export(fmt, source, images)
    names = class_order(export.labels, classes)
    if len(names) > 256:
        raise DataError(f"{len(names)} classes; at most 256 fit in an 8-bit mask")
    items, missing = _check(export, names, skip_missing)
    if not items:
        raise DataError(f"{source}: no labelled photo to import")
    planned = [
        n for item in items for n in (f"{item.name}{item.photo.suffix}", f"{item.name}{suffix}.png")
    ] + ["classes.txt"]
    clash = [n for n in planned if (target / n).exists()]
    if clash and not overwrite:
        raise DataError(
            f"{target / clash[0]} already exists ({len(clash)} such files); pass overwrite=True to replace them"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.importing-", dir=target.parent))
    summary = ImportSummary(names, unlabelled=export.unlabelled, missing=missing)
    summary.pixels = np.zeros(len(names), np.int64)
    try:
        for item in tqdm(items, desc="Importing", unit="photo", disable=None):
            width, height = image_size(item.photo)
            if (item.width, item.height) != (width, height):
                raise DataError(
                    f"{item.where}: labels are {item.width}x{item.height} but the photo "
                    f"{item.photo} is {width}x{height}"
                )
            mask = compose(item.layers, names, width, height)
            Image.fromarray(mask).save(staging / f"{item.name}{suffix}.png", format="PNG")
            _place_photo(item.photo, staging / f"{item.name}{item.photo.suffix}", copy)
            summary.pixels += np.bincount(mask.ravel(), minlength=len(names))[: len(names)]
            summary.photos += 1
        write_text(staging / "classes.txt", "".join(f"{n}\n" for n in names))
        _move_into(staging, target, overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary
