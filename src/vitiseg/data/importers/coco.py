"""COCO JSON: ``images``, ``categories`` and ``annotations`` with polygons or RLE masks.

Masks are decoded by pycocotools. Overlapping instances: see
:func:`vitiseg.data.importers.compose`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vitiseg.data.importers.common import (
    Export,
    Item,
    Layer,
    decode_rle,
    find_photo,
    flat_name,
    polygon_layer,
    require,
)
from vitiseg.errors import DataError


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not all(
        k in data for k in ("images", "annotations", "categories")
    ):
        raise DataError(f"{path}: not a COCO file (needs images, annotations and categories)")
    return data


def _categories(data: dict, path: Path) -> dict[int, str]:
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    for category in data["categories"]:
        cid, name = category["id"], str(category["name"])
        if name in seen:
            raise DataError(
                f"{path}: categories {seen[name]} and {cid} are both named {name!r}; "
                "merge them or rename one"
            )
        seen[name] = cid
        names[cid] = name
    return names


def _rle_layer(segmentation: dict, width: int, height: int, label: str, where: str) -> Layer:
    size = list(segmentation.get("size", []))
    if size != [height, width]:
        raise DataError(f"{where}: RLE size {size} is not the image's [{height}, {width}]")

    def decode() -> np.ndarray:
        mask_utils = require("pycocotools.mask")
        rle = segmentation
        if isinstance(rle.get("counts"), list):
            rle = mask_utils.frPyObjects(rle, height, width)
        mask = decode_rle(rle)
        if not mask.any():
            raise DataError(f"{where}: empty annotation (its RLE mask has no pixel)")
        return mask

    return Layer(label, where, decode)


def _layer(annotation: dict, image: dict, label: str, path: Path) -> Layer:
    where = f"{path}: annotation {annotation.get('id')} ({image['file_name']})"
    segmentation = annotation.get("segmentation")
    width, height = int(image["width"]), int(image["height"])
    if isinstance(segmentation, dict):
        return _rle_layer(segmentation, width, height, label, where)
    if not segmentation or not isinstance(segmentation, list):
        raise DataError(f"{where}: empty annotation (no segmentation)")
    parts = [polygon_layer(p, width, height, label, where) for p in segmentation]
    if len(parts) == 1:
        return parts[0]
    return Layer(label, where, lambda: np.logical_or.reduce([p.decode() for p in parts]))


def read_coco(source: Path, images: Path | None = None) -> Export:
    """Read a COCO JSON file; photos are looked for in ``images`` (default: the file's
    folder and its ``images/`` sub-folder) by ``file_name``.

    Raises:
        DataError: not COCO, two categories with one name, an annotation of an unknown
            image or category, an empty annotation, a polygon outside its image.
    """
    data = _load(source)
    names = _categories(data, source)
    folders = [images] if images else [source.parent, source.parent / "images"]
    by_id = {image["id"]: image for image in data["images"]}
    layers: dict[int, list[Layer]] = {image_id: [] for image_id in by_id}
    for annotation in data["annotations"]:
        image = by_id.get(annotation.get("image_id"))
        if image is None:
            raise DataError(
                f"{source}: annotation {annotation.get('id')} is of image {annotation.get('image_id')}, which is not in images"
            )
        label = names.get(annotation.get("category_id"))
        if label is None:
            raise DataError(
                f"{source}: annotation {annotation.get('id')} has category {annotation.get('category_id')}, which is not in categories"
            )
        layers[image["id"]].append(_layer(annotation, image, label, source))
    items, unlabelled = [], []
    for image_id, image in by_id.items():
        name = flat_name(image["file_name"])
        if not layers[image_id]:
            unlabelled.append(name)
            continue
        photo = find_photo(image["file_name"], folders)
        items.append(
            Item(name, photo, f"{source}: image {image_id}", int(image["width"]),
                 int(image["height"]), layers[image_id], wanted=image["file_name"])
        )  # fmt: skip
    labels = [names[cid] for cid in sorted(names)]
    return Export(items, labels, unlabelled)
