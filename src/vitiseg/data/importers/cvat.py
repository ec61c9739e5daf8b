"""CVAT "Segmentation mask 1.1" exports: ``labelmap.txt`` + ``SegmentationClass/*.png``.

``labelmap.txt`` holds one ``name:r,g,b:parts:actions`` line per label; each mask paints
every pixel in its label's colour. Photos are in ``JPEGImages/`` when CVAT saved them, else
in the folder given with ``images``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from vitiseg.data.imageio import decode_image, image_size
from vitiseg.data.importers import validate as v
from vitiseg.data.importers.common import Export, Item, Layer, find_by_stem, flat_name
from vitiseg.errors import DataError


def read_labelmap(path: Path) -> dict[tuple[int, int, int], str]:
    """Colour -> label name from a CVAT/Pascal VOC ``labelmap.txt``.

    Raises:
        DataError: a line that is not ``name:r,g,b...``, or one colour for two labels.
    """
    colours: dict[tuple[int, int, int], str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable text file ({exc.__class__.__name__})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(":")
        try:
            colour = tuple(int(v) for v in fields[1].split(","))
            if len(colour) != 3 or not all(0 <= v <= 255 for v in colour):
                raise ValueError
        except (IndexError, ValueError):
            raise DataError(
                f"{path}, line {number}: expected name:r,g,b::, got {v.shown(line.strip())}"
            ) from None
        name = v.class_name(fields[0].strip(), f"{path}, line {number}")
        if colour in colours:
            raise DataError(
                f"{path}, line {number}: colour {','.join(map(str, colour))} is used by both "
                f"{colours[colour]!r} and {name!r}; give each label its own colour"
            )
        colours[colour] = name
    if not colours:
        raise DataError(f"{path}: no labels")
    return colours


@functools.lru_cache(maxsize=1)  # the layers of one mask are decoded one after the other
def _packed(path: Path) -> np.ndarray:
    """A colour mask's pixels as one 24-bit number each."""
    rgb = decode_image(path)[0].astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _colour_layers(
    path: Path, colours: dict[tuple[int, int, int], str]
) -> tuple[list[Layer], int, int]:
    width, height = v.size(*image_size(path), str(path))
    packed = _packed(path)
    values, counts = np.unique(packed, return_counts=True)
    layers = []
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        colour = (value >> 16, (value >> 8) & 255, value & 255)
        if colour not in colours:
            raise DataError(
                f"{path}: {count} pixel(s) of colour {','.join(map(str, colour))} match no "
                "label of labelmap.txt"
            )
        layers.append(
            Layer(colours[colour], f"{path.name}: {colours[colour]}",
                  lambda value=value: _packed(path) == value, lambda count=count: count)
        )  # fmt: skip
    return layers, width, height


def read_cvat(source: Path, images: Path | None = None) -> Export:
    """Read an unzipped CVAT "Segmentation mask 1.1" export folder.

    Raises:
        DataError: no ``labelmap.txt`` or ``SegmentationClass/``, a bad label map, or a
            mask colour that no label has.
    """
    labelmap, masks = source / "labelmap.txt", source / "SegmentationClass"
    for needed in (labelmap, masks):
        if not needed.exists():
            raise DataError(
                f"{source}: no {needed.name} (expected a CVAT 'Segmentation mask 1.1' export, unzipped)"
            )
    colours = read_labelmap(labelmap)
    photos_in = images or source / "JPEGImages"
    items, unlabelled = [], []
    for path in sorted(masks.rglob("*.png")):
        relative = path.relative_to(masks).as_posix()
        layers, width, height = _colour_layers(path, colours)
        name = flat_name(relative)
        if all(layer.label.lower() == "background" for layer in layers):
            unlabelled.append(name)
            continue
        photo = find_by_stem(Path(relative).with_suffix("").as_posix(), photos_in)
        items.append(
            Item(name, photo, str(path), width, height, layers, wanted=f"{photos_in / relative}")
        )
    if not items and not unlabelled:
        raise DataError(f"{masks}: no masks (.png)")
    return Export(items, list(colours.values()), unlabelled)
