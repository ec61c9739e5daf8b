"""Class masks -> pre-annotations that CVAT, Label Studio or a COCO reader imports.

- ``cvat``: a "Segmentation mask 1.1" folder (``labelmap.txt``, ``SegmentationClass/``,
  ``ImageSets/Segmentation/default.txt``); zip it and upload it to the task as annotations.
- ``labelstudio``: ``labelstudio.json``, one task per photo with the masks as brush
  ``predictions`` (RLE by Label Studio's own encoder), and ``labeling_config.xml``.
- ``coco``: ``coco.json`` with one RLE annotation (pycocotools) per class and photo.

Class 0 is the background: it is left unlabelled in Label Studio and COCO, and gets its
own colour (black) in CVAT. Importing any of them with ``vitiseg masks import`` gives the
masks back exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from vitiseg.data.imageio import read_mask
from vitiseg.data.importers.common import require
from vitiseg.data.palette import palette
from vitiseg.errors import ConfigError
from vitiseg.util.atomic import atomic_path, write_text

EXPORTS = ("cvat", "labelstudio", "coco")


def write_cvat(masks: Iterable[tuple[str, np.ndarray]], classes: list[str], out: Path) -> Path:
    """CVAT "Segmentation mask 1.1" folder ``out/cvat``; ``masks`` yields (name, mask)."""
    folder = out / "cvat"
    colours = palette(len(classes))
    lines = ["# label:color_rgb:parts:actions"] + [
        f"{name}:{','.join(map(str, colour))}::"
        for name, colour in zip(classes, colours, strict=True)
    ]
    if len({tuple(c) for c in colours}) < len(classes):  # palette repeats after 8 classes
        raise ConfigError(
            f"--export cvat gives each class its palette colour; {len(classes)} classes is more than 8"
        )
    names = []
    for name, mask in masks:
        target = folder / "SegmentationClass" / f"{name}.png"
        with atomic_path(target) as tmp:
            Image.fromarray(colours[mask]).save(tmp, format="PNG")
        names.append(name)
    write_text(folder / "labelmap.txt", "\n".join(lines) + "\n")
    write_text(
        folder / "ImageSets" / "Segmentation" / "default.txt", "".join(f"{n}\n" for n in names)
    )
    return folder


def labelstudio_task(
    image: str, mask: np.ndarray, classes: list[str], model_version: str = "vitiseg"
) -> dict:
    """One Label Studio task: ``image`` with ``mask`` as brush predictions (class 0 omitted)."""
    brush = require("label_studio_converter.brush")
    height, width = mask.shape
    results = []
    for index in range(1, len(classes)):
        layer = mask == index
        if not layer.any():
            continue
        results.append(
            {
                "id": f"c{index}",
                "from_name": "tag",
                "to_name": "image",
                "type": "brushlabels",
                "original_width": width,
                "original_height": height,
                "image_rotation": 0,
                "value": {
                    "format": "rle",
                    "rle": brush.mask2rle(layer.astype(np.uint8) * 255),
                    "brushlabels": [classes[index]],
                },
            }
        )
    return {
        "data": {"image": image},
        "predictions": [{"model_version": model_version, "result": results}],
    }


def labeling_config(classes: list[str]) -> str:
    """A Label Studio labelling interface with one brush label per class (not class 0)."""
    colours = palette(len(classes))
    labels = "\n".join(
        f'    <Label value="{name}" background="#{colour[0]:02x}{colour[1]:02x}{colour[2]:02x}"/>'
        for name, colour in list(zip(classes, colours, strict=True))[1:]
    )
    return f'<View>\n  <Image name="image" value="$image" zoom="true"/>\n  <BrushLabels name="tag" toName="image">\n{labels}\n  </BrushLabels>\n</View>\n'


def write_labelstudio(
    masks: Iterable[tuple[str, np.ndarray]], classes: list[str], out: Path, image_url: str = ""
) -> Path:
    """``out/labelstudio.json`` (tasks with predictions) and ``out/labeling_config.xml``.

    ``masks`` yields (photo file name, mask); the task's image is ``image_url`` + that name.
    """
    tasks = [labelstudio_task(image_url + name, mask, classes) for name, mask in masks]
    write_text(out / "labeling_config.xml", labeling_config(classes))
    target = out / "labelstudio.json"
    write_text(target, json.dumps(tasks))
    return target


def write_coco(masks: Iterable[tuple[str, np.ndarray]], classes: list[str], out: Path) -> Path:
    """``out/coco.json``: images, categories 1..C-1 (class index = category id) and one
    compressed-RLE annotation per class present in each photo."""
    mask_utils = require("pycocotools.mask")
    images, annotations = [], []
    for image_id, (name, mask) in enumerate(masks, 1):
        height, width = mask.shape
        images.append({"id": image_id, "file_name": name, "width": width, "height": height})
        for index in range(1, len(classes)):
            layer = np.asfortranarray(mask == index, dtype=np.uint8)
            if not layer.any():
                continue
            rle = mask_utils.encode(layer)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": index,
                    "segmentation": {
                        "size": [height, width],
                        "counts": rle["counts"].decode("ascii"),
                    },
                    "area": int(mask_utils.area(rle)),
                    "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i, "name": n} for i, n in enumerate(classes) if i > 0]
    target = out / "coco.json"
    write_text(
        target, json.dumps({"images": images, "annotations": annotations, "categories": categories})
    )
    return target


def export_masks(
    fmt: str, masks: Iterable[tuple[str, str, np.ndarray]], classes: list[str], out: str | Path,
    image_url: str = "",
) -> Path:  # fmt: skip
    """Write ``masks`` ((name, photo file name, mask) triples) as ``fmt`` pre-annotations
    under ``out``; returns the folder or file written."""
    out = Path(out)
    if fmt == "cvat":
        return write_cvat(((name, mask) for name, _, mask in masks), classes, out)
    if fmt == "labelstudio":
        return write_labelstudio(((file, mask) for _, file, mask in masks), classes, out, image_url)
    if fmt == "coco":
        return write_coco(((file, mask) for _, file, mask in masks), classes, out)
    raise ValueError(f"unknown export {fmt!r}; choose one of {', '.join(EXPORTS)}")


def export_predictions(
    photos: list, masks_in: Path, out: Path, fmt: str, classes: list[str], image_url: str = ""
) -> Path:
    """Export the masks ``vitiseg predict`` wrote (``masks_in/KEY.png``) as ``fmt`` into
    ``out``; ``photos`` are :class:`vitiseg.data.photos.Photo` (path, key)."""
    masks_in = Path(masks_in)
    triples = (
        (photo.key, f"{photo.key}{photo.path.suffix}", read_mask(masks_in / f"{photo.key}.png"))
        for photo in photos
        if (masks_in / f"{photo.key}.png").is_file()
    )
    return export_masks(fmt, triples, classes, Path(out), image_url)
