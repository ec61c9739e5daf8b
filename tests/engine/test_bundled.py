"""The vineyard model that ships with vitiseg: its file against its card, and its use
(with no network, and none of the optional extras or dev tools importable)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import AGROCAM, ROOT, needs_shared_data, run_here
from PIL import Image
from safetensors import safe_open

import vitiseg
from vitiseg.engine import bundled
from vitiseg.errors import WeightsError

CLASSES = ["background", "leaf", "inter-row", "pipe", "trunk"]
NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network used")
socket.socket.connect = refuse
socket.create_connection = refuse
for extra in ("onnx", "onnxruntime", "onnxscript", "pycocotools", "label_studio_converter",
              "playwright", "efficientnet_lite_pytorch", "pytest"):
    sys.modules[extra] = None  # the optional extras and dev tools: as if not installed
from vitiseg.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_bundled_file_matches_its_card():
    card = json.loads((bundled.FOLDER / bundled.CARD).read_text())
    weights = bundled.FOLDER / bundled.WEIGHTS
    assert card["sha256"] == bundled.sha256(weights)
    assert card["bytes"] == weights.stat().st_size <= 10 * 2**20
    assert card["classes"] == CLASSES
    model_json = json.loads((bundled.FOLDER / "model.json").read_text())
    assert model_json["class_names"] == CLASSES
    assert model_json["spec"]["encoder"] == "timm-tf_efficientnet_lite0"
    with safe_open(weights, "pt") as handle:
        dtypes = {str(handle.get_slice(k).get_dtype()) for k in handle.keys()}  # noqa: SIM118 (not iterable)
    assert "F16" in dtypes and "F32" not in dtypes
    assert (bundled.FOLDER / "summary.json").is_file()  # its measured trait errors travel with it


def test_load_without_a_path_gives_the_bundled_model():
    model = vitiseg.load()
    assert model.class_names == CLASSES and model.roles.leaf == 1
    assert model.directory == bundled.FOLDER
    assert vitiseg.load("vineyard").identity == model.identity


def test_a_damaged_bundled_model_is_refused(tmp_path: Path, monkeypatch):
    copy = tmp_path / "vineyard"
    shutil.copytree(bundled.FOLDER, copy)
    data = bytearray((copy / bundled.WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (copy / bundled.WEIGHTS).write_bytes(bytes(data))
    monkeypatch.setattr(bundled, "FOLDER", copy)
    bundled.bundled_folder.cache_clear()
    try:
        with pytest.raises(WeightsError, match="checksum .* differs from its card's"):
            vitiseg.load()
    finally:
        bundled.bundled_folder.cache_clear()


@pytest.mark.slow
def test_predict_without_a_model_uses_the_bundled_one_with_no_network_nor_extras(tmp_path: Path):
    from vitiseg.data.synthetic import draw_vineyard

    Image.fromarray(draw_vineyard(320, 192, seed=3).photo).save(tmp_path / "vine.jpg")
    result = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, "predict", str(tmp_path / "vine.jpg"),
         "-o", str(tmp_path / "out"), "--precision", "32"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "bundled vineyard model" in result.stdout
    table = pd.read_csv(tmp_path / "out" / "canopy.csv")
    assert [c.removeprefix("cover_") for c in table.columns if c.startswith("cover_")] == CLASSES


@needs_shared_data
@pytest.mark.slow
def test_a_season_of_field_photos_needs_no_model_option(tmp_path: Path):
    photos = AGROCAM.parent / "unlabeled"
    result = run_here("season", str(photos), "-o", str(tmp_path / "S"), "--precision", "32")
    assert result.returncode == 0, result.stderr
    assert "bundled vineyard model" in result.stdout
    assert (tmp_path / "S" / "report.html").is_file()
    days = pd.read_csv(tmp_path / "S" / "season.csv")
    cover = (
        days.loc[days["trait"] == "leaf_cover", "value"] if "trait" in days else days["leaf_cover"]
    )
    assert days["camera"].nunique() == 3 and cover.dropna().between(0, 1).all()
    page = (tmp_path / "S" / "report.html").read_text()
    assert "No measured trait errors" not in page  # the bundled model's travel with it


def test_a_folder_named_vineyard_here_is_taken_and_the_error_says_why(tmp_path: Path, monkeypatch):
    (tmp_path / "vineyard").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WeightsError, match="takes the place of the bundled model"):
        vitiseg.load("vineyard")
    monkeypatch.chdir(tmp_path / "vineyard")  # ./vineyard is a path, and there is none here
    with pytest.raises(WeightsError, match=r"no exported model here \(expected [^;]*$"):
        vitiseg.load("./vineyard")
