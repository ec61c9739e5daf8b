"""Seeded fuzzing of `vitiseg masks import`: documents, mutations, and the worker that runs
them under a memory limit (used by tests/data/test_untrusted_labels.py).

A case is one export (COCO, Label Studio or CVAT) made from a valid base by one or two
mutations: NaN, infinities, huge, negative, wrong-typed, missing or duplicated fields,
damaged files. The worker imports each case with the real command line, in one process
limited by ``resource.setrlimit``, and checks: exit 0 with masks equal to a reference
rasterisation made independently here (pycocotools, Label Studio's decoder, PIL), or
exit 2 with one line and no target folder. Anything else is a finding.
"""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import json
import random
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ["background", "leaf", "wood"]
SIZE = (48, 32)  # width, height of the photos
NAMES = ["p0", "p1"]
ODD_VALUES = [
    float("nan"), float("inf"), -float("inf"), 1e300, -1e300, -1, 0, 2**70, 0.5, 7, "abc",
    "", None, True, [], {}, "a\nb,c", "../outside/x.jpg", "/etc/passwd", "x" * 300,
    [[[[1]]]], [1, 2, 3], {"id": 1}, "0", "99999",
]  # fmt: skip


def masks() -> dict[str, np.ndarray]:
    """The true masks of the base documents: overlapping rectangles of leaf and wood."""
    out = {}
    for i, name in enumerate(NAMES):
        mask = np.zeros(SIZE[::-1], np.uint8)
        mask[4 : 20 + i, 6 : 30 + i] = 1
        mask[10 : 28, 20 + i : 40] = 2  # fmt: skip
        out[name] = mask
    return out


def write_photos(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in NAMES:
        pixels = rng.integers(0, 255, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}.jpg")


def coco_document() -> dict:
    """Polygons for image 1, compressed and uncompressed RLE for image 2."""
    from pycocotools import mask as mask_utils

    width, height = SIZE
    images = [{"id": i + 1, "file_name": f"{n}.jpg", "width": width, "height": height} for i, n in enumerate(NAMES)]  # fmt: skip
    categories = [{"id": 1, "name": "leaf"}, {"id": 2, "name": "wood"}]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[6, 4, 30, 4, 30, 20, 6, 20]]},
        {"id": 2, "image_id": 1, "category_id": 2, "segmentation": [[20, 10, 40, 10, 40, 28, 20, 28], [2, 26, 8, 26, 5, 31]]},
    ]  # fmt: skip
    second = masks()[NAMES[1]]
    leaf = mask_utils.encode(np.asfortranarray(second == 1, dtype=np.uint8))
    wood = (second == 2).ravel(order="F").tolist()  # runs column by column, background first
    runs = [0] * wood[0] + [len(list(run)) for _, run in itertools.groupby(wood)]
    annotations += [
        {"id": 3, "image_id": 2, "category_id": 1, "segmentation": {"size": [height, width], "counts": leaf["counts"].decode()}},
        {"id": 4, "image_id": 2, "category_id": 2, "segmentation": {"size": [height, width], "counts": runs}},
    ]  # fmt: skip
    return {"images": images, "categories": categories, "annotations": annotations}


def labelstudio_document() -> list:
    """A polygon task (percent points) and a brush task."""
    from label_studio_converter import brush

    width, height = SIZE
    polygon = {"id": "r1", "type": "polygonlabels", "original_width": width, "original_height": height,
               "value": {"points": [[12.5, 12.5], [62.5, 12.5], [62.5, 62.5], [12.5, 62.5]], "polygonlabels": ["leaf"]}}  # fmt: skip
    layer = np.repeat((masks()[NAMES[1]] == 2)[:, :, None] * 255, 4, axis=2).astype(np.uint8)
    painted = {"id": "r2", "type": "brushlabels", "original_width": width, "original_height": height,
               "value": {"rle": brush.encode_rle(layer.ravel()), "format": "rle", "brushlabels": ["wood"]}}  # fmt: skip
    return [
        {"id": 1, "data": {"image": f"/data/upload/1/{NAMES[0]}.jpg"}, "annotations": [{"result": [polygon]}]},
        {"id": 2, "data": {"image": f"{NAMES[1]}.jpg"}, "annotations": [{"result": [painted]}]},
    ]  # fmt: skip


def write_cvat(folder: Path) -> Path:
    from vitiseg.data.label_writers import write_cvat as export

    export = export(masks().items(), CLASSES, folder)
    write_photos(export / "JPEGImages")
    return export


# --- mutations ---------------------------------------------------------------------------


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def mutate_json(document, rng: random.Random):
    """One random change somewhere in a JSON document."""
    document = copy.deepcopy(document)
    path = rng.choice([p for p in _paths(document) if p])
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key, value = path[-1], parent[path[-1]]
    kind = rng.random()
    if kind < 0.12 and isinstance(parent, dict):
        del parent[key]
    elif kind < 0.24 and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(value))  # a duplicated item (and id)
    elif kind < 0.45 and isinstance(value, int | float) and not isinstance(value, bool):
        parent[key] = value + rng.choice([-3, -1, 1, 2, 0.5, 10, 1000])  # often still valid
    else:
        parent[key] = copy.deepcopy(rng.choice(ODD_VALUES))
    return document


def damaged_text(text: str, rng: random.Random) -> str:
    """The document's text cut short, or with deep nesting, or with raw garbage."""
    choice = rng.randrange(3)
    if choice == 0:
        return text[: rng.randrange(len(text))]
    if choice == 1:
        return "[" * 100_000 + "]" * 100_000
    return text.replace('"', "\x00", 1)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` RGB pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")  # fmt: skip


def mutate_cvat(export: Path, rng: random.Random) -> None:
    """One change to a CVAT export folder: a damaged mask or label map."""
    mask = export / "SegmentationClass" / f"{rng.choice(NAMES)}.png"
    labelmap = export / "labelmap.txt"
    choice = rng.randrange(7)
    if choice == 0:
        data = mask.read_bytes()
        mask.write_bytes(data[: rng.randrange(8, len(data))])
    elif choice == 1:
        mask.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200))))
    elif choice == 2:
        mask.write_bytes(
            png_claiming(rng.choice([30_000, 65_535, 100_000]), rng.choice([30_000, 5]))
        )
    elif choice in (3, 4):
        try:
            picture = Image.open(mask).convert("RGB")
        except (OSError, ValueError):  # damaged by an earlier mutation of this case
            return
        if choice == 3:
            pixels = np.asarray(picture).copy()
            pixels[rng.randrange(SIZE[1]), rng.randrange(SIZE[0])] = [rng.randrange(256) for _ in range(3)]  # fmt: skip
            Image.fromarray(pixels).save(mask)
        else:
            picture.resize((SIZE[0] + rng.randrange(1, 5), SIZE[1]), Image.NEAREST).save(mask)
    else:
        lines = labelmap.read_text().splitlines()
        index = rng.randrange(1, len(lines))
        name, colour, *rest = lines[index].split(":")
        odd = rng.choice(
            ["nan,1,2", "1,2", "300,0,0", "-1,0,0", "", "a,b,c", lines[1].split(":")[1]]
        )
        lines[index] = ":".join([rng.choice([name, "a,b", "", " x", name]), odd if choice == 5 else colour, *rest])  # fmt: skip
        labelmap.write_text("\n".join(lines) + "\n")


# --- references --------------------------------------------------------------------------


def paint(layers: list[tuple[np.ndarray, int]], shape: tuple[int, int]) -> np.ndarray:
    """Larger layers first, equal ones in file order (vitiseg's documented rule)."""
    mask = np.zeros(shape, np.uint8)
    for _, pixels, value in sorted(((-int(p.sum()), i), p, v) for i, (p, v) in enumerate(layers)):
        mask[pixels] = value
    return mask


def coco_reference(document: dict) -> dict[str, np.ndarray]:
    from pycocotools import mask as mask_utils

    names = {c["id"]: c["name"] for c in document["categories"]}
    out = {}
    for image in document["images"]:
        h, w = int(image["height"]), int(image["width"])
        layers = []
        for a in document["annotations"]:
            if a["image_id"] != image["id"]:
                continue
            seg = a["segmentation"]
            if isinstance(seg, dict):
                rle = mask_utils.frPyObjects(seg, h, w) if isinstance(seg["counts"], list) else {**seg, "counts": seg["counts"].encode()}  # fmt: skip
            else:
                rle = mask_utils.merge(mask_utils.frPyObjects([[float(c) for c in p] for p in seg], h, w))  # fmt: skip
            layers.append((mask_utils.decode(rle).astype(bool), CLASSES.index(names[a["category_id"]])))  # fmt: skip
        if layers:
            out[Path(image["file_name"]).stem] = paint(layers, (h, w))
    return out


def labelstudio_reference(document: list) -> dict[str, np.ndarray]:
    from label_studio_converter import brush
    from pycocotools import mask as mask_utils

    out = {}
    for task in document:
        layers, shape = [], None
        annotations = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        results = annotations[0].get("result", []) if annotations else []
        for r in results:
            if str(r.get("type", "")).lower() not in ("brushlabels", "polygonlabels"):
                continue
            w, h = int(r["original_width"]), int(r["original_height"])
            shape = (h, w)
            kind = r["type"].lower()
            if kind == "brushlabels":
                pixels = brush.decode_rle(r["value"]["rle"]).reshape(h, w, 4)[:, :, 3] > 0
            else:
                points = [c * s / 100 for x, y in r["value"]["points"] for c, s in ((x, w), (y, h))]
                pixels = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([points], h, w))).astype(bool)  # fmt: skip
            layers.append((pixels, CLASSES.index(r["value"][kind][0])))
        if layers:
            out[Path(task["data"]["image"]).stem] = paint(layers, shape)
    return out


def cvat_reference(export: Path) -> dict[str, np.ndarray]:
    colours = {}
    for line in (export / "labelmap.txt").read_text().splitlines()[1:]:
        name, colour = line.split(":")[:2]
        colours[tuple(int(c) for c in colour.split(","))] = CLASSES.index(name)
    out = {}
    for path in sorted((export / "SegmentationClass").glob("*.png")):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        layers = [((rgb == c).all(-1), v) for c, v in colours.items() if (rgb == c).all(-1).any()]
        if any(v for _, v in layers):
            out[path.stem] = paint(layers, rgb.shape[:2])
    return out


# --- the worker --------------------------------------------------------------------------


def check_case(case: dict) -> str | None:
    """Import one case with the command line; None if it behaved, else what went wrong."""
    from vitiseg.cli import main
    from vitiseg.data.imageio import read_mask

    source, target = Path(case["source"]), Path(case["target"])
    argv = ["masks", "import", str(source), str(target), "--from", case["fmt"],
            "--classes", ",".join(CLASSES), "--images", case["images"]]  # fmt: skip
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
    except BaseException as exc:  # noqa: BLE001 - any escape is the finding
        return f"raised {exc.__class__.__name__}: {str(exc)[:200]}"
    lines = stderr.getvalue().splitlines()
    if code == 2:
        if len(lines) != 1 or not lines[0].startswith("vitiseg masks: error: "):
            return f"exit 2 with {len(lines)} lines of stderr: {stderr.getvalue()[:300]!r}"
        if target.exists():
            return "exit 2 but the target folder was written"
        return None
    if code != 0:
        return f"exit {code}: {stderr.getvalue()[:300]!r}"
    try:
        if case["fmt"] == "coco":
            expected = coco_reference(json.loads(source.read_text()))
        elif case["fmt"] == "labelstudio":
            expected = labelstudio_reference(json.loads(source.read_text()))
        else:
            expected = cvat_reference(source)
    except Exception as exc:  # noqa: BLE001 - an import vitiseg accepted that the reference cannot read
        return f"exit 0 but the reference rasterisation fails: {exc.__class__.__name__}: {exc}"
    written = {p.name.removesuffix("_bin.png"): read_mask(p) for p in target.glob("*_bin.png")}
    if set(written) != set(expected):
        return f"exit 0 with masks {sorted(written)}, expected {sorted(expected)}"
    for name, mask in expected.items():
        if not np.array_equal(written[name], mask):
            return f"exit 0 but {name}'s mask differs from the reference in {int((written[name] != mask).sum())} pixels"  # fmt: skip
    return None


def worker(cases_file: str, results_file: str, limit_bytes: int) -> None:
    """Run every case of ``cases_file`` under an address-space limit; one JSON line each."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    cases = json.loads(Path(cases_file).read_text())
    with open(results_file, "a", buffering=1) as out:
        for case in cases:
            out.write(json.dumps({"case": case["id"], "started": True}) + "\n")
            problem = check_case(case)
            out.write(json.dumps({"case": case["id"], "problem": problem}) + "\n")


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2], int(sys.argv[3]))
