"""Label Studio JSON exports: brush labels (RLE) and polygon labels.

The brush RLE is decoded by Label Studio's own converter (``label_studio_converter.brush``).
Polygon points are in percent of the image size. Of several annotations of one task, the
first that was not cancelled is used.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

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

KINDS = {"brushlabels": "brushlabels", "polygonlabels": "polygonlabels"}


def _image_reference(task: dict) -> str:
    data = task.get("data") or {}
    value = data.get("image")
    if isinstance(value, str):
        return value
    strings = [v for v in data.values() if isinstance(v, str)]
    return strings[0] if strings else ""


def _brush_layer(value: dict, width: int, height: int, label: str, where: str) -> Layer:
    def decode() -> np.ndarray:
        brush = require("label_studio_converter.brush")
        pixels = brush.decode_rle(value["rle"])
        if pixels.size != width * height * 4:
            raise DataError(
                f"{where}: brush RLE holds {pixels.size // 4} pixels, not {width}x{height}"
            )
        mask = pixels.reshape(height, width, 4)[:, :, 3] > 0
        if not mask.any():
            raise DataError(f"{where}: empty annotation (the brush painted no pixel)")
        return mask

    if not value.get("rle"):
        raise DataError(f"{where}: empty annotation (no rle)")
    return Layer(label, where, decode)


def _result_layer(result: dict, where: str) -> Layer | None:
    kind = str(result.get("type", "")).lower()
    if kind not in KINDS:
        return None
    value = result.get("value") or {}
    names = value.get(kind) or []
    if not names:
        raise DataError(f"{where}: a {kind} result without a label name")
    width, height = int(result["original_width"]), int(result["original_height"])
    if kind == "brushlabels":
        return _brush_layer(value, width, height, names[0], where)
    points = [
        c * size / 100 for x, y in value.get("points", []) for c, size in ((x, width), (y, height))
    ]
    return polygon_layer(points, width, height, names[0], where)


def read_labelstudio(source: Path, images: Path | None = None) -> Export:
    """Read a Label Studio JSON export (a list of tasks); photos are looked for in
    ``images`` (default: the file's folder and its ``images/`` sub-folder).

    Raises:
        DataError: not a Label Studio export, a result without a label, an empty brush or
            polygon, a polygon outside its image.
    """
    try:
        tasks = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{source}: not a readable JSON file ({exc})") from None
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise DataError(f"{source}: not a Label Studio JSON export (a list of tasks)")
    folders = [images] if images else [source.parent, source.parent / "images"]
    items, unlabelled, labels = [], [], []
    for number, task in enumerate(tasks):
        reference = _image_reference(task)
        task_id = task.get("id", number)
        annotations = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        photo = find_photo(reference, folders) if reference else None
        name = flat_name(photo.name if photo else Path(reference).name or f"task_{task_id}")
        layers, size = [], (None, None)
        results = annotations[0].get("result", []) if annotations else []
        for index, result in enumerate(results):
            where = f"{source}: task {task_id} ({Path(reference).name}), result {result.get('id', index)}"
            layer = _result_layer(result, where)
            if layer is not None:
                layers.append(layer)
                labels.append(layer.label)
                size = (int(result["original_width"]), int(result["original_height"]))
        if not layers:
            unlabelled.append(name)
            continue
        items.append(
            Item(name, photo, f"{source}: task {task_id}", *size, layers, wanted=reference)
        )
    return Export(items, list(dict.fromkeys(labels)), unlabelled)
