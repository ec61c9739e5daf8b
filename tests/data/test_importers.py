"""`vitiseg masks import` (CVAT, Label Studio, COCO) and `predict --export`: round trips
through files made by the tools' own libraries, and every kind of bad export."""

import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import make_dataset, run_here
from label_studio_converter import brush
from PIL import Image
from pycocotools import mask as mask_utils

from vitiseg.cli import main
from vitiseg.data.imageio import read_mask
from vitiseg.data.importers import compose, import_labels
from vitiseg.data.importers.common import Layer
from vitiseg.data.label_writers import labelstudio_task, write_coco, write_cvat
from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model
from vitiseg.errors import DataError

CLASSES = ["background", "leaf", "wood"]


@pytest.fixture
def labelled(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """Three photos in ``photos/`` and their true masks (classes 0, 1, 2)."""
    folder = make_dataset(tmp_path / "photos", n=3)
    truth = {}
    for path in sorted(folder.glob("*_bin.png")):
        truth[path.name.removesuffix("_bin.png")] = read_mask(path)
        path.unlink()
    return folder, truth


def assert_imported(target: Path, truth: dict[str, np.ndarray], photos: Path) -> None:
    for name, mask in truth.items():
        np.testing.assert_array_equal(read_mask(target / f"{name}_bin.png"), mask)
        assert (target / f"{name}.jpg").read_bytes() == (photos / f"{name}.jpg").read_bytes()
    assert (target / "classes.txt").read_text().split() == CLASSES


def test_cvat_round_trip(tmp_path: Path, labelled):
    photos, truth = labelled
    export = write_cvat(truth.items(), CLASSES, tmp_path)
    shutil.copytree(photos, export / "JPEGImages")
    assert main(["masks", "import", str(export), str(tmp_path / "out"), "--from", "cvat"]) == 0
    assert_imported(tmp_path / "out", truth, photos)


def test_labelstudio_brush_round_trip_with_upload_names(tmp_path: Path, labelled):
    """Masks encoded by Label Studio's brush encoder; photos named as LS uploads them."""
    photos, truth = labelled
    tasks = [
        labelstudio_task(f"/data/upload/1/0a1b2c3d-{name}.jpg", mask, CLASSES)
        for name, mask in truth.items()
    ]
    for task in tasks:  # an export holds annotations; predictions are what we write
        task["annotations"] = task.pop("predictions")
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    code = main(["masks", "import", str(tmp_path / "export.json"), str(tmp_path / "out"),
                 "--from", "labelstudio", "--images", str(photos), "--classes", ",".join(CLASSES)])  # fmt: skip
    assert code == 0
    assert_imported(tmp_path / "out", truth, photos)


def test_labelstudio_polygon_in_percent(tmp_path: Path, labelled):
    photos, _ = labelled  # photos are 96 x 64
    polygon = {"type": "polygonlabels", "original_width": 96, "original_height": 64,
               "value": {"points": [[25, 25], [75, 25], [75, 75], [25, 75]],
                         "polygonlabels": ["wood"]}}  # fmt: skip
    task = {"id": 7, "data": {"image": "img01.jpg"}, "annotations": [{"result": [polygon]}]}
    (photos / "export.json").write_text(json.dumps([task]))
    import_labels("labelstudio", photos / "export.json", tmp_path / "out", CLASSES)
    expected = np.zeros((64, 96), np.uint8)
    expected[16:48, 24:72] = 2  # corners (24, 16) to (72, 48), pixel corners as in COCO
    np.testing.assert_array_equal(read_mask(tmp_path / "out" / "img01_bin.png"), expected)


def test_coco_rle_round_trip(tmp_path: Path, labelled):
    photos, truth = labelled
    coco = write_coco(((f"{n}.jpg", m) for n, m in truth.items()), CLASSES, photos)
    assert main(["masks", "import", str(coco), str(tmp_path / "out"), "--from", "coco"]) == 0
    assert_imported(tmp_path / "out", truth, photos)


def _coco(photos: Path, annotations: list, categories=None) -> Path:
    data = {
        "images": [{"id": 1, "file_name": "img00.jpg", "width": 96, "height": 64},
                   {"id": 2, "file_name": "img01.jpg", "width": 96, "height": 64}],
        "categories": categories or [{"id": 1, "name": "leaf"}, {"id": 2, "name": "wood"}],
        "annotations": annotations,
    }  # fmt: skip
    path = photos / "coco.json"
    path.write_text(json.dumps(data))
    return path


def _box(x0, y0, x1, y1):
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def test_coco_overlaps_smaller_instance_on_top_and_summary(tmp_path: Path, labelled):
    photos, _ = labelled
    big = {"id": 1, "image_id": 1, "category_id": 2, "segmentation": _box(0, 0, 60, 40)}
    small = {"id": 2, "image_id": 1, "category_id": 1, "segmentation": _box(10, 10, 20, 20)}
    path = _coco(photos, [small, big])  # the small one first in the file: still on top
    summary = import_labels("coco", path, tmp_path / "out")
    mask = read_mask(tmp_path / "out" / "img00_bin.png")
    assert mask[15, 15] == 1 and mask[30, 50] == 2 and mask[50, 80] == 0
    assert summary.classes == CLASSES and summary.photos == 1
    assert summary.pixels.tolist() == [96 * 64 - 60 * 40, 100, 60 * 40 - 100]
    assert summary.unlabelled == ["img01"]


def test_coco_rle_made_by_pycocotools(tmp_path: Path, labelled):
    photos, _ = labelled
    layer = np.zeros((64, 96), np.uint8, order="F")
    layer[5:9, 3:50] = 1
    rle = mask_utils.encode(layer)
    segmentation = {"size": [64, 96], "counts": rle["counts"].decode()}
    path = _coco(photos, [{"id": 4, "image_id": 2, "category_id": 1, "segmentation": segmentation}])
    import_labels("coco", path, tmp_path / "out", CLASSES)
    np.testing.assert_array_equal(read_mask(tmp_path / "out" / "img01_bin.png"), layer)


def test_compose_equal_sizes_keep_file_order():
    a = Layer("leaf", "a", lambda: np.array([[True, True]]))
    b = Layer("wood", "b", lambda: np.array([[True, True]]))
    assert compose([a, b], CLASSES, 2, 1).tolist() == [[2, 2]]


# --- bad input: exit 2, one message naming file and item, nothing written -------------


def refused(tmp_path: Path, *args: str, match: str) -> None:
    """``vitiseg masks import SOURCE out OPTIONS`` exits 2 with a message matching ``match``,
    and neither ``out`` nor a temporary folder is left."""
    target = tmp_path / "out"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["masks", "import", args[0], str(target), *args[1:]])
    assert code == 2
    assert re.search(match, stderr.getvalue()), stderr.getvalue()
    assert "Traceback" not in stderr.getvalue()
    assert not target.exists()
    assert not list(tmp_path.glob(".out.importing-*"))


def test_missing_images_are_named(tmp_path: Path, labelled):
    photos, _ = labelled
    path = _coco(
        photos, [{"id": 1, "image_id": 2, "category_id": 1, "segmentation": _box(1, 1, 9, 9)}]
    )
    (photos / "img01.jpg").unlink()
    refused(
        tmp_path,
        str(path),
        "--from",
        "coco",
        match=r"1 labelled photo\(s\) not found, e.g. img01.jpg .*image 2",
    )


def test_skip_missing_imports_the_others(tmp_path: Path, labelled):
    photos, _ = labelled
    annotations = [
        {"id": i, "image_id": i, "category_id": 1, "segmentation": _box(1, 1, 9, 9)} for i in (1, 2)
    ]
    path = _coco(photos, annotations)
    (photos / "img01.jpg").unlink()
    summary = import_labels("coco", path, tmp_path / "out", skip_missing=True)
    assert summary.photos == 1 and summary.missing == ["img01.jpg"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "classes.txt",
        "img00.jpg",
        "img00_bin.png",
    ]


def test_label_not_in_classes(tmp_path: Path, labelled):
    photos, truth = labelled
    task = labelstudio_task("img00.jpg", truth["img00"], CLASSES)
    task["annotations"] = task.pop("predictions")
    (photos / "ls.json").write_text(json.dumps([task]))
    refused(tmp_path, str(photos / "ls.json"), "--from", "labelstudio", "--classes", "background,leaf",
            match=r"ls.json: task 0 \(img00.jpg\), result c2: label 'wood' is not in --classes")  # fmt: skip


def test_polygon_outside_the_image(tmp_path: Path, labelled):
    photos, _ = labelled
    path = _coco(
        photos, [{"id": 9, "image_id": 1, "category_id": 1, "segmentation": _box(50, 10, 140, 20)}]
    )
    refused(tmp_path, str(path), "--from", "coco",
            match=r"annotation 9 \(img00.jpg\): polygon point \(140.0, 10.0\) lies outside the 96x64 image")  # fmt: skip


def test_empty_coco_annotation(tmp_path: Path, labelled):
    photos, _ = labelled
    path = _coco(photos, [{"id": 3, "image_id": 1, "category_id": 1, "segmentation": []}])
    refused(
        tmp_path, str(path), "--from", "coco", match=r"annotation 3 \(img00.jpg\): empty annotation"
    )


def test_empty_labelstudio_brush(tmp_path: Path, labelled):
    photos, _ = labelled
    empty = brush.mask2rle(np.zeros((64, 96), np.uint8))
    result = {"id": "r1", "type": "brushlabels", "original_width": 96, "original_height": 64,
              "value": {"rle": empty, "format": "rle", "brushlabels": ["leaf"]}}  # fmt: skip
    (photos / "ls.json").write_text(
        json.dumps(
            [{"id": 5, "data": {"image": "img02.jpg"}, "annotations": [{"result": [result]}]}]
        )
    )
    refused(tmp_path, str(photos / "ls.json"), "--from", "labelstudio",
            match=r"task 5 \(img02.jpg\), result r1: empty annotation")  # fmt: skip


def test_coco_two_categories_with_one_name(tmp_path: Path, labelled):
    photos, _ = labelled
    categories = [{"id": 1, "name": "leaf"}, {"id": 4, "name": "leaf"}]
    path = _coco(photos, [], categories)
    refused(
        tmp_path,
        str(path),
        "--from",
        "coco",
        match=r"coco.json: categories 1 and 4 are both named 'leaf'",
    )


def test_cvat_colour_used_twice(tmp_path: Path, labelled):
    photos, truth = labelled
    export = write_cvat(truth.items(), CLASSES, tmp_path)
    (export / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\nleaf:9,9,9::\nwood:9,9,9::\n"
    )
    refused(tmp_path, str(export), "--from", "cvat", "--images", str(photos),
            match=r"labelmap.txt, line 4: colour 9,9,9 is used by both 'leaf' and 'wood'")  # fmt: skip


def test_cvat_colour_without_label(tmp_path: Path, labelled):
    photos, truth = labelled
    export = write_cvat(truth.items(), CLASSES, tmp_path)
    (export / "labelmap.txt").write_text("background:0,0,0::\nleaf:40,200,40::\n")
    refused(tmp_path, str(export), "--from", "cvat", "--images", str(photos),
            match=r"img00.png: \d+ pixel\(s\) of colour 240,140,20 match no label")  # fmt: skip


def test_existing_target_files_are_kept(tmp_path: Path, labelled):
    photos, truth = labelled
    coco = write_coco(((f"{n}.jpg", m) for n, m in truth.items()), CLASSES, photos)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "img00_bin.png").write_bytes(b"mine")
    with pytest.raises(DataError, match="img00_bin.png already exists"):
        import_labels("coco", coco, tmp_path / "out")
    assert (tmp_path / "out" / "img00_bin.png").read_bytes() == b"mine"


# --- predict --export -> import gives the predicted masks back -----------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    spec = ModelSpec(encoder="resnet18", classes=3)
    folder = tmp_path_factory.mktemp("model")
    export_model(build_model(spec), ModelInfo(spec, CLASSES), folder)
    return folder


@pytest.mark.slow
def test_predict_export_imports_back(tmp_path: Path, labelled, model_dir: Path):
    photos, _ = labelled
    out = tmp_path / "pred"
    result = run_here(
        "predict", "--model", str(model_dir), str(photos), "-o", str(out), "--precision", "32",
        "--device", "cpu", "--no-overlays", "--export", "cvat", "--export", "labelstudio",
        "--export", "coco",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    predicted = {
        name: read_mask(out / "masks" / f"{name}.png") for name in ("img00", "img01", "img02")
    }
    export = out / "export"
    assert (export / "labeling_config.xml").read_text().count("<Label ") == 2
    tasks = json.loads((export / "labelstudio.json").read_text())
    for task in tasks:
        task["annotations"] = task.pop("predictions")
    (export / "labelstudio.json").write_text(json.dumps(tasks))
    for fmt, source in (("cvat", export / "cvat"), ("labelstudio", export / "labelstudio.json"),
                        ("coco", export / "coco.json")):  # fmt: skip
        target = tmp_path / f"in_{fmt}"
        import_labels(fmt, source, target, CLASSES, images=photos)
        for name, mask in predicted.items():
            if mask.any():
                np.testing.assert_array_equal(
                    read_mask(target / f"{name}_bin.png"), mask, err_msg=fmt
                )
    assert Image.open(export / "cvat" / "SegmentationClass" / "img00.png").mode == "RGB"
