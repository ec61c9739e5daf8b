"""Names and arrays, crashes and small things (issue items 8, 9, 12 and 13).

Camera and date from file names (one parser), the array check of ``Model.predict`` and
the mask check of ``Model.canopy``, one-line errors instead of tracebacks (read-only
folders, tampered report files, a GPU that is not there), and the small things: stale
season figures, unreadable photos, the backend options, class names and roles.
"""

from __future__ import annotations

import errno
import json
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import make_dataset, photo_rows, run_here
from PIL import Image

import vitiseg
from vitiseg import season
from vitiseg.data.photos import photo_datetime
from vitiseg.data.synthetic import draw_vineyard
from vitiseg.errors import ConfigError, DataError


def picture(path: Path) -> Path:
    """A small JPEG without EXIF."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(path)
    return path


def one_line_error(result, *parts: str) -> None:
    """The command ended with exit code 2 and one line on stderr holding ``parts``."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for part in parts:
        assert part in lines[0], lines[0]


def predict_folder(folder: Path, cameras: list[str], days: int = 3) -> Path:
    """A ``vitiseg predict`` folder's canopy.csv: ``days`` noon photos of each camera
    (the photos themselves are not there: seasons of it run without quality checks)."""
    folder.mkdir(parents=True)
    dates = [f"2024-05-{d:02d}" for d in range(1, days + 1)]
    table = pd.concat([photo_rows(dates, camera) for camera in cameras], ignore_index=True)
    table.to_csv(folder / "canopy.csv", index=False)
    return folder


# ---- 8. the camera and the date from file names ------------------------------------------


def test_camera_keeps_its_digits():
    files = pd.Series(
        ["/x/cam12345678_2024-04-19_103246.jpg", "/x/cam87654321_2024-04-19_103246_8_4.jpg"]
    )
    assert season.cameras(files).tolist() == ["cam12345678", "cam87654321"]


def test_documented_name_form_is_dated(tmp_path: Path):
    photo = picture(tmp_path / "cam87654321_2024-04-19_103246_8_4.jpg")
    assert photo_datetime(photo) == "2024-04-19T10:32:46"


def test_a_date_glued_to_letters_is_part_of_the_camera(tmp_path: Path):
    photo = picture(tmp_path / "plot20230615_2024-05-01.jpg")
    assert photo_datetime(photo) == "2024-05-01T00:00:00"
    assert season.cameras(pd.Series([str(photo)])).tolist() == ["plot20230615"]


@pytest.mark.parametrize(
    ("stem", "camera", "taken"),
    [
        ("4j7g2wk9_2024-04-19_104603_7_18", "4j7g2wk9", "2024-04-19T10:46:03"),
        ("cam4_20240603", "cam4", "2024-06-03T00:00:00"),
        ("plot-3 20240501", "plot-3", "2024-05-01T00:00:00"),
        ("cam.2024.05.01.12.30.00", "cam", "2024-05-01T12:30:00"),
        ("cam_2024_05_01T12:30:00", "cam", "2024-05-01T12:30:00"),
        ("cam_2024-05-01_253000", "cam", "2024-05-01T00:00:00"),  # not a time: the date kept
        ("VID_20220413_1703470520_3", "VID", "2022-04-13T17:03:47"),  # fractions of a second
        ("cam_12345678_2024-05-01", "cam_12345678", "2024-05-01T00:00:00"),  # not a day
        ("20240501_120000", None, "2024-05-01T12:00:00"),  # a date first: no camera
        ("cam4_2024-13-45", None, None),
        ("IMG_0001", None, None),
    ],
)
def test_the_name_parser_reads_the_forms_of_its_docstring(stem, camera, taken):
    from vitiseg.data.photos import parse_name  # the one parser of names

    name = parse_name(stem)
    assert name.camera == camera
    assert (name.taken.isoformat() if name.taken else None) == taken


# ---- 9. arrays given to Model.predict, masks given to Model.canopy -----------------------


@pytest.fixture(scope="module")
def model(model_dir: Path):
    return vitiseg.load(model_dir)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return draw_vineyard(96, 64, seed=1).photo


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16])
def test_predict_refuses_a_float_array_in_one_line(model, photo, dtype):
    scaled = photo / 255 if dtype != np.uint16 else photo.astype(np.uint16) * 257
    with pytest.raises(DataError, match=rf"shape \(64, 96, 3\) and dtype {np.dtype(dtype)}: give uint8") as caught:  # fmt: skip
        model.predict(scaled.astype(dtype))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("make", "shape", "dtype"),
    [
        (lambda p: p.astype(np.int64), r"\(64, 96, 3\)", "int64"),
        (lambda p: p > 100, r"\(64, 96, 3\)", "bool"),
        (lambda p: np.ascontiguousarray(p.transpose(2, 0, 1)), r"\(3, 64, 96\)", "uint8"),
        (lambda p: p[None], r"\(1, 64, 96, 3\)", "uint8"),
    ],
)
def test_predict_refuses_other_dtypes_and_channels_first(model, photo, make, shape, dtype):
    with pytest.raises(DataError, match=rf"^photo array of shape {shape} and dtype {dtype}: "):
        model.predict(make(photo))


def test_predict_converts_greyscale_and_rgba(model, photo):
    grey = photo[:, :, 1].copy()
    as_rgb = np.repeat(grey[:, :, None], 3, axis=2)
    expected = model.predict(as_rgb).mask
    np.testing.assert_array_equal(model.predict(grey).mask, expected)
    np.testing.assert_array_equal(model.predict(grey[:, :, None]).mask, expected)
    rgba = np.dstack([photo, np.full(photo.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(model.predict(rgba).mask, model.predict(photo).mask)


def test_canopy_refuses_values_past_the_classes(model):
    mask = np.array([[1, 1, 1, 0], [0, 0, 3, 4]], np.uint8)  # 3 classes: 3 and 4 are none
    with pytest.raises(DataError, match=r"^mask values \[3, 4\] are not classes 0..2"):
        model.canopy(mask)
    ignored = np.array([[1, 1, 1, 0], [0, 0, 255, 255]], np.uint8)  # 255: counted nowhere
    assert model.canopy(ignored)["leaf_cover"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.array([[1.0, 0.0]]), r"^mask of dtype float64: give integer class indices 0..2"),
        (np.array([[True, False]]), r"^mask of dtype bool: "),
        (np.array([[1, -1]]), r"^mask values \[-1\] are not classes 0..2"),
        (np.zeros((2, 2, 3), np.uint8), r"^mask of shape \(2, 2, 3\): give a 2-D array"),
    ],
)
def test_canopy_refuses_float_negative_and_colour_masks(model, mask, message):
    with pytest.raises(DataError, match=message):
        model.canopy(mask)


def test_leaf_class_must_be_a_whole_number(model_dir: Path):
    with pytest.raises(ConfigError, match=r"^leaf_class=1.0: a class index is a whole number"):
        vitiseg.load(model_dir, leaf_class=1.0)


# ---- 12. one line, not a traceback ------------------------------------------------------


def read_only(folder: Path):
    """Files written under ``folder`` fail as on a read-only file system (errno 30):
    vitiseg writes every file through a temporary one beside it."""
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve().is_relative_to(folder.resolve()):
            raise OSError(errno.EROFS, "Read-only file system", str(Path(dir) / "tmp"))
        return real(*args, dir=dir, **kwargs)

    return mock.patch.object(tempfile, "mkstemp", mkstemp)


def test_a_read_only_season_folder_is_one_line(tmp_path: Path):
    predictions = predict_folder(tmp_path / "P", ["cam"])
    out = tmp_path / "S"
    out.mkdir()
    with read_only(out):
        result = run_here("season", str(predictions), "-o", str(out), "--no-quality-checks")
    one_line_error(result, "vitiseg season: error: ", "season.csv: Read-only file system")


def test_a_read_only_report_folder_is_one_line(tmp_path: Path):
    predictions = predict_folder(tmp_path / "P", ["cam"])
    with read_only(predictions):
        result = run_here("report", str(predictions))
    one_line_error(result, "vitiseg report: error: ", "report.html: Read-only file system")


def season_folder(folder: Path) -> Path:
    """The tables of a ``vitiseg season`` folder, as it writes them."""
    folder.mkdir()
    days = ["2024-05-01", "2024-05-02"]
    pd.DataFrame({"camera": "cam", "date": days, "trait": "leaf_cover", "value": [0.2, 0.3],
                  "segment": 0}).to_csv(folder / "season.csv", index=False)  # fmt: skip
    pd.DataFrame(columns=["camera", "trait", "level", "date"]).to_csv(
        folder / "transitions.csv", index=False
    )
    pd.DataFrame({"file": ["/x/cam_2024-05-01.jpg"], "dropped": [""]}).to_csv(
        folder / "photos.csv", index=False
    )
    return folder


@pytest.mark.parametrize("facts", [{"season": "x"}, {"season": {"model": 5}}, [1, 2]])
def test_report_on_a_tampered_facts_file_names_it(tmp_path: Path, facts):
    folder = season_folder(tmp_path / "S")
    assert run_here("report", str(folder)).returncode == 0  # the folder as written
    (folder / "report-facts.json").write_text(json.dumps(facts))
    one_line_error(run_here("report", str(folder)), "report-facts.json: ")


def test_report_on_a_bad_date_in_season_csv_names_it(tmp_path: Path):
    folder = season_folder(tmp_path / "S")
    table = pd.read_csv(folder / "season.csv")
    table.loc[1, "date"] = "someday"
    table.to_csv(folder / "season.csv", index=False)
    one_line_error(
        run_here("report", str(folder)),
        "season.csv: date is 'someday' on line 3, not a day (YYYY-MM-DD)",
    )


def test_report_on_text_in_leaf_cover_names_it(tmp_path: Path):
    folder = predict_folder(tmp_path / "P", ["cam"])
    assert run_here("report", str(folder)).returncode == 0
    table = pd.read_csv(folder / "canopy.csv")
    table["leaf_cover"] = table["leaf_cover"].astype(object)
    table.loc[0, "leaf_cover"] = "lots"
    table.to_csv(folder / "canopy.csv", index=False)
    one_line_error(
        run_here("report", str(folder)), "canopy.csv: leaf_cover is 'lots' on line 2, not a number"
    )


def test_report_on_an_overlay_that_is_not_an_image_names_it(tmp_path: Path):
    folder = predict_folder(tmp_path / "P", ["cam"])
    (folder / "overlays").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "overlays" / "a.jpg")
    assert run_here("report", str(folder)).returncode == 0
    (folder / "overlays" / "b.jpg").write_bytes(b"not a picture")
    one_line_error(run_here("report", str(folder)), "b.jpg: not a readable overlay")


def test_device_cuda_without_a_gpu_is_one_line(model_dir: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    photo = picture(tmp_path / "cam_2024-05-01.jpg")
    result = run_here(
        "predict", str(photo), "--model", str(model_dir), "--device", "cuda",
        "-o", str(tmp_path / "out"),
    )  # fmt: skip
    one_line_error(result, "vitiseg predict: error: --device cuda: no CUDA GPU here")


# ---- 13. small things -------------------------------------------------------------------


def test_overwrite_removes_the_earlier_camera_figures(tmp_path: Path):
    out = tmp_path / "S"
    four = predict_folder(tmp_path / "four", ["a", "b", "c", "d"])
    assert run_here("season", str(four), "-o", str(out), "--no-quality-checks").returncode == 0
    one = predict_folder(tmp_path / "one", ["e"])
    again = run_here("season", str(one), "-o", str(out), "--no-quality-checks", "--overwrite")
    assert again.returncode == 0, again.stderr
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures == ["e.png", "leaf_cover_by_camera.png"]


def test_unreadable_photos_are_listed_in_photos_csv(model_dir: Path, tmp_path: Path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for day in (1, 2, 3):
        Image.fromarray(draw_vineyard(96, 64, seed=day).photo).save(
            photos / f"cam_2024-05-0{day}_120000.jpg"
        )
    (photos / "cam_2024-05-04_120000.jpg").write_bytes(b"not a photo")
    out = tmp_path / "S"
    result = run_here("season", str(photos), "--model", str(model_dir), "-o", str(out))
    assert result.returncode == 1, result.stderr
    assert "1 photo(s) could not be read" in result.stderr
    listed = pd.read_csv(out / "photos.csv", keep_default_na=False).set_index("file")
    bad = listed.loc[str((photos / "cam_2024-05-04_120000.jpg").resolve())]
    assert bad["dropped"].startswith("unreadable: not a readable image")
    assert (bad["camera"], bad["date"]) == ("cam", "2024-05-04")
    assert len(listed) == 4


def test_evaluate_takes_the_backend_option(model_dir: Path, tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=2)
    argv = ["evaluate", "--model", str(model_dir), "-d", str(data), "--no-overlays"]
    result = run_here(*argv, "--backend", "torch", "-o", str(tmp_path / "torch"))
    assert result.returncode == 0, result.stderr
    assert "backend: torch" in result.stdout
    result = run_here(*argv, "--backend", "onnxruntime", "-o", str(tmp_path / "ort"))
    one_line_error(result, "no model.onnx here")
    assert "argument run" not in result.stderr


def test_onnxruntime_refuses_a_16_bit_precision(model_dir: Path, tmp_path: Path):
    from vitiseg.engine.backends import load_engine

    with pytest.raises(ConfigError, match=r"^precision=bf16: ONNX Runtime runs the exported file in fp32"):  # fmt: skip
        load_engine(tmp_path / "model.onnx", "auto", "cpu", "bf16")
    result = run_here(
        "predict", str(picture(tmp_path / "p.jpg")), "--model", str(model_dir),
        "--backend", "onnxruntime", "--precision", "bf16", "-o", str(tmp_path / "out"),
    )  # fmt: skip
    one_line_error(result, "--precision bf16: ONNX Runtime runs the exported file in fp32")


def test_duplicate_class_names_are_refused(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=2)
    result = run_here(
        "season", str(data), "--masks", "--class-names", "a,a,b", "-o", str(tmp_path / "S")
    )
    one_line_error(result, "--class-names a,a,b: a named more than once")


def test_pipe_class_cannot_be_the_leaf_class(model_dir: Path, tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=2)
    result = run_here(
        "season", str(data), "--masks", "--class-names", "background,leaf,pipe",
        "--pipe-class", "1", "-o", str(tmp_path / "S"),
    )  # fmt: skip
    one_line_error(result, "--pipe-class 1: class 1 (leaf) is already the leaf class")
    with pytest.raises(ConfigError, match=r"^trunk_class=2: class 2 \(wood\) is already pipe_class=2"):  # fmt: skip
        vitiseg.load(model_dir, roles={"pipe_class": 2, "trunk_class": 2})
