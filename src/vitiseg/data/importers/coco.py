"""COCO JSON: ``images``, ``categories`` and ``annotations`` with polygons or RLE masks.

Every field is checked (:mod:`.validate`) before any mask is drawn. Polygons are
rasterised by pycocotools; RLE masks are decoded here after their runs were checked.
Overlapping instances: see :func:`vitiseg.data.importers.compose`.
"""

from __future__ import annotations

import json
from pathlib import Path

from vitiseg.data.importers import validate as v
from vitiseg.data.importers.common import Export, Item, Layer, find_photo, flat_name, polygon_layer
from vitiseg.errors import DataError


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise DataError(f"{path}: not a readable JSON file ({v.shown(str(exc), 80)})") from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), list) for k in ("images", "annotations", "categories")
    ):
        raise DataError(
            f"{path}: not a COCO file (needs lists of images, annotations and categories)"
        )
    return data


def _categories(data: dict, path: Path) -> dict[int, str]:
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    for number, category in enumerate(data["categories"]):
        where = f"{path}: category #{number}"
        category = v.mapping(category, where, "a category")
        cid = v.integer(v.required(category, "id", where), where, "its id")
        where = f"{path}: category {v.shown(cid)}"
        name = v.class_name(v.required(category, "name", where), where)
        if cid in names:
            raise DataError(f"{where}: two categories have this id; give each its own")
        if name in seen:
            raise DataError(
                f"{path}: categories {v.shown(seen[name])} and {v.shown(cid)} are both named "
                f"{name!r}; merge them or rename one"
            )
        seen[name] = cid
        names[cid] = name
    return names


def _images(data: dict, path: Path) -> dict[int, dict]:
    """Checked images by id: ``file_name``, ``width`` and ``height`` present and sane."""
    images: dict[int, dict] = {}
    for number, image in enumerate(data["images"]):
        where = f"{path}: image #{number}"
        image = v.mapping(image, where, "an image")
        image_id = v.integer(v.required(image, "id", where), where, "its id")
        where = f"{path}: image {v.shown(image_id)}"
        if image_id in images:
            raise DataError(
                f"{where}: two images have this id ({v.shown(images[image_id]['file_name'])} and "
                f"{v.shown(image.get('file_name'))}); give each its own"
            )
        name = v.photo_name(v.required(image, "file_name", where), where)
        width, height = v.size(v.required(image, "width", where), v.required(image, "height", where), where)  # fmt: skip
        if not flat_name(name):
            raise DataError(f"{where}: file_name {v.shown(name)} names no photo")
        images[image_id] = {"file_name": name, "width": width, "height": height}
    return images


def _rle_layer(segmentation: dict, width: int, height: int, label: str, where: str) -> Layer:
    size = v.sequence(v.required(segmentation, "size", where), where, "the RLE size")
    if [v.integer(s, where, "an RLE size", 1, v.MAX_SIDE) for s in size] != [height, width]:
        raise DataError(f"{where}: RLE size {v.shown(size)} is not the image's [{height}, {width}]")
    runs = v.rle_counts(v.required(segmentation, "counts", where), height, width, where)
    if runs[1::2].sum() == 0:
        raise DataError(f"{where}: empty annotation (its RLE mask has no pixel)")
    return Layer(
        label, where, lambda: v.runs_to_mask(runs, height, width), lambda: int(runs[1::2].sum())
    )


def _layer(annotation: dict, image: dict, label: str, where: str) -> Layer:
    segmentation = annotation.get("segmentation")
    width, height = image["width"], image["height"]
    if isinstance(segmentation, dict):
        return _rle_layer(segmentation, width, height, label, where)
    if not segmentation or not isinstance(segmentation, list):
        raise DataError(f"{where}: empty annotation (no segmentation)")
    parts = [v.coordinates(part, where) for part in segmentation]
    return polygon_layer(parts, width, height, label, where)


def read_coco(source: Path, images: Path | None = None) -> Export:
    """Read a COCO JSON file; photos are looked for in ``images`` (default: the file's
    folder and its ``images/`` sub-folder) by ``file_name``.

    Raises:
        DataError: not COCO; a missing, wrong-typed or out-of-range field; two images or
            categories with one id; two categories with one name; an annotation of an
            unknown image or category; an empty annotation; a polygon outside its image
            or too large; an RLE that does not cover its image exactly.
    """
    data = _load(source)
    names = _categories(data, source)
    by_id = _images(data, source)
    folders = [images] if images else [source.parent, source.parent / "images"]
    layers: dict[int, list[Layer]] = {image_id: [] for image_id in by_id}
    for number, annotation in enumerate(data["annotations"]):
        annotation = v.mapping(annotation, f"{source}: annotation #{number}", "an annotation")
        where = f"{source}: annotation {v.shown(annotation.get('id', f'#{number}'))}"
        image_id, category = annotation.get("image_id"), annotation.get("category_id")
        image = by_id.get(image_id) if v.is_whole(image_id) else None
        if image is None:
            raise DataError(f"{where} is of image {v.shown(image_id)}, which is not in images")
        label = names.get(category) if v.is_whole(category) else None
        if label is None:
            raise DataError(f"{where} has category {v.shown(category)}, which is not in categories")
        where = f"{where} ({v.shown(image['file_name'])})"
        layers[image_id].append(_layer(annotation, image, label, where))
    items, unlabelled = [], []
    for image_id, image in by_id.items():
        name = flat_name(image["file_name"])
        if not layers[image_id]:
            unlabelled.append(name)
            continue
        where = f"{source}: image {v.shown(image_id)}"
        photo = find_photo(image["file_name"], folders, where)
        items.append(
            Item(name, photo, where, image["width"], image["height"], layers[image_id],
                 wanted=image["file_name"])
        )  # fmt: skip
    return Export(items, [names[cid] for cid in sorted(names)], unlabelled)
