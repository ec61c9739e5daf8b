"""Label Studio JSON exports: brush labels (RLE) and polygon labels.

Every field is checked (:mod:`.validate`) before anything is decoded. The brush RLE is
decoded by Label Studio's own converter (``label_studio_converter.brush``) once its header
says it holds exactly the image's pixels. Polygon points are in percent of the image size.
Of several annotations of one task, the first that was not cancelled is used.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vitiseg.data.importers import validate as v
from vitiseg.data.importers.common import (
    Export,
    Item,
    Layer,
    find_photo,
    flat_name,
    polygon_layer,
    require,
)
from vitiseg.errors import DataError

KINDS = ("brushlabels", "polygonlabels")


def _image_reference(task: dict, where: str) -> str:
    data = task.get("data") or {}
    if not isinstance(data, dict):
        raise DataError(f"{where}: data should be an object, got {v.shown(data)}")
    value = data.get("image")
    if not isinstance(value, str):
        strings = [value for value in data.values() if isinstance(value, str)]
        value = strings[0] if strings else ""
    return v.photo_name(value, where) if value else ""


def _brush_layer(value: dict, width: int, height: int, label: str, where: str) -> Layer:
    rle = value.get("rle")
    if not rle:
        raise DataError(f"{where}: empty annotation (no rle)")
    rle = v.sequence(rle, where, "the brush rle")
    if not all(v.is_whole(b) and 0 <= b <= 255 for b in rle) or len(rle) < 6:
        raise DataError(f"{where}: malformed brush rle (bytes 0-255 expected)")
    values = int.from_bytes(bytes(rle[:4]), "big")  # the header: how many values follow
    if values != width * height * 4:
        raise DataError(f"{where}: brush RLE holds {values // 4:,} pixels, not {width}x{height}")

    def decode() -> np.ndarray:
        brush = require("label_studio_converter.brush")
        try:
            pixels = brush.decode_rle(rle)
        except (ValueError, IndexError, OverflowError):  # cut short, or values over 255
            raise DataError(
                f"{where}: malformed brush rle (cut short or values over 255)"
            ) from None
        mask = pixels.reshape(height, width, 4)[:, :, 3] > 0
        if not mask.any():
            raise DataError(f"{where}: empty annotation (the brush painted no pixel)")
        return mask

    return Layer(label, where, decode)


def _percent_points(points: list, width: int, height: int, where: str) -> np.ndarray:
    """Label Studio's ``[[x, y], ...]`` in percent -> flat pixel coordinates."""
    points = v.sequence(points, where, "the polygon points")
    if not all(isinstance(p, list) and len(p) == 2 for p in points):
        raise DataError(f"{where}: polygon points should be [x, y] pairs")
    xy = v.coordinates([c for p in points for c in p], where)
    return xy * np.tile([width / 100, height / 100], len(points))


def _result_layer(result: dict, where: str) -> Layer | None:
    result = v.mapping(result, where, "a result")
    kind = str(result.get("type", "")).lower()
    if kind not in KINDS:
        return None
    value = v.mapping(result.get("value") or {}, where, "its value")
    names = value.get(kind) or []
    if not names:
        raise DataError(f"{where}: a {kind} result without a label name")
    label = v.class_name(v.sequence(names, where, kind)[0], where)
    width, height = v.size(
        v.required(result, "original_width", where), v.required(result, "original_height", where), where
    )  # fmt: skip
    if kind == "brushlabels":
        return _brush_layer(value, width, height, label, where)
    points = _percent_points(value.get("points", []), width, height, where)
    return polygon_layer([points], width, height, label, where)


def read_labelstudio(source: Path, images: Path | None = None) -> Export:
    """Read a Label Studio JSON export (a list of tasks); photos are looked for in
    ``images`` (default: the file's folder and its ``images/`` sub-folder).

    Raises:
        DataError: not a Label Studio export; a missing, wrong-typed or out-of-range
            field; a result without a label; an empty or malformed brush or polygon; a
            polygon outside its image.
    """
    try:
        tasks = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise DataError(f"{source}: not a readable JSON file ({v.shown(str(exc), 80)})") from None
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise DataError(f"{source}: not a Label Studio JSON export (a list of tasks)")
    folders = [images] if images else [source.parent, source.parent / "images"]
    items, unlabelled, labels = [], [], []
    for number, task in enumerate(tasks):
        task_id = task.get("id", number) if v.is_whole(task.get("id", number)) else number
        where = f"{source}: task {v.shown(task_id)}"
        reference = _image_reference(task, where)
        annotations = v.sequence(task.get("annotations", []), where, "annotations")
        annotations = [
            a for a in annotations if not v.mapping(a, where, "an annotation").get("was_cancelled")
        ]
        photo = find_photo(reference, folders, where) if reference else None
        name = flat_name(photo.name if photo else Path(reference).name or f"task_{task_id}")
        layers, size = [], (None, None)
        results = (
            v.sequence(annotations[0].get("result", []), where, "result") if annotations else []
        )
        for index, result in enumerate(results):
            result_id = result.get("id", index) if isinstance(result, dict) else index
            at = f"{where} ({v.shown(Path(reference).name)}), result {v.shown(result_id)}"
            layer = _result_layer(result, at)
            if layer is not None:
                layers.append(layer)
                labels.append(layer.label)
                size = v.size(result["original_width"], result["original_height"], at)
        if not layers:
            unlabelled.append(name)
            continue
        items.append(Item(name, photo, where, *size, layers, wanted=reference))
    return Export(items, list(dict.fromkeys(labels)), unlabelled)
