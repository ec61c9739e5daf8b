"""Traits in predict's canopy.csv and evaluate's trait errors, through the CLI."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import make_dataset, run_here

from vitiseg.canopy import trait_accuracy, trait_table, traits
from vitiseg.canopy.roles import roles_from_names
from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model
from vitiseg.evaluate import read_test_csv

NAMES = ["background", "leaf", "inter-row", "pipe", "trunk"]


@pytest.fixture(scope="module")
def model5(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    spec = ModelSpec(encoder="resnet18", classes=5)
    folder = tmp_path_factory.mktemp("model5")
    export_model(build_model(spec), ModelInfo(spec, NAMES), folder)
    return folder


@pytest.mark.slow
def test_predict_writes_every_trait_column(model5: Path, tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=2, classes=5)
    out = tmp_path / "out"
    args = ["predict", "--model", str(model5), str(data / "img00.jpg"), str(data / "img01.jpg")]
    result = run_here(*args, "-o", str(out), "--precision", "32", "--no-overlays")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "canopy.csv")
    assert list(table.columns) == ["file", "width", "height", "datetime"] + [
        f"cover_{n}" for n in NAMES
    ] + list(trait_table.COLUMNS) + ["model"]
    # the row is what traits computes from the saved mask and the photo
    from vitiseg.data.imageio import decode_image, read_mask

    mask = read_mask(out / "masks" / "img00.png")
    image = decode_image(data / "img00.jpg")[0]
    expected = traits.photo_traits(mask, image, roles_from_names(NAMES), NAMES)
    row = table.set_index("file").loc[str(data / "img00.jpg")]
    for column in ("leaf_cover", "canopy_height", "porosity", "leaf_gcc", "leaf_hue"):
        want = expected[column]
        assert (math.isnan(want) and math.isnan(row[column])) or row[column] == pytest.approx(want)
    # resumed: the rows are recomputed from the saved masks, colours included
    again = run_here(*args, "-o", str(out), "--precision", "32", "--no-overlays")
    assert "2 photo(s) already done" in again.stdout
    pd.testing.assert_frame_equal(pd.read_csv(out / "canopy.csv"), table)


@pytest.mark.slow
def test_predict_says_once_when_porosity_falls_back(tmp_path: Path):
    spec = ModelSpec(encoder="resnet18", classes=3)
    export_model(build_model(spec), ModelInfo(spec, ["background", "leaf", "wood"]), tmp_path / "m")
    data = make_dataset(tmp_path / "data", n=2)
    result = run_here(
        "predict", "--model", str(tmp_path / "m"), str(data), "-o", str(tmp_path / "out"),
        "--precision", "32", "--no-overlays",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("porosity is measured down to the bottom of the leaves") == 1
    table = pd.read_csv(tmp_path / "out" / "canopy.csv")
    assert set(table["porosity_rule"]) <= {"leaf-bottom"}
    assert table["inter_row_hue"].isna().all()


@pytest.mark.slow
def test_a_role_outside_the_model_exits_2(model5: Path, tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=1, classes=5)
    result = run_here(
        "predict", "--model", str(model5), str(data), "-o", str(tmp_path / "out"),
        "--pipe-class", "9",
    )  # fmt: skip
    assert result.returncode == 2
    assert "--pipe-class 9: not a class of this model (0 background, 1 leaf" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_evaluate_reports_each_trait_error(model5: Path, tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=3, classes=5)
    out = tmp_path / "eval"
    result = run_here(
        "evaluate", "--model", str(model5), "-d", str(data), "-o", str(out), "-n", "t",
        "--precision", "32", "--no-overlays",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = read_test_csv(out / "Test_t.csv").drop(index="ALL")
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["traits"]) == set(trait_table.COMPARED)
    height = summary["traits"]["canopy_height"]
    diff = (table[("Canopy height", "Predicted")] - table[("Canopy height", "True")]).dropna()
    assert height["photos"] == len(diff)
    if len(diff):
        assert height["mae"] == pytest.approx(diff.abs().mean(), abs=1e-6)
        assert height["bias"] == pytest.approx(diff.mean(), abs=1e-6)
    # the true-mask column is the trait of the true mask
    from vitiseg.data.imageio import decode_image, read_mask

    truth = read_mask(data / "img00_bin.png")
    true_traits = traits.photo_traits(
        truth, decode_image(data / "img00.jpg")[0], roles_from_names(NAMES), NAMES
    )
    assert table.loc["img00", ("Porosity", "True")] == pytest.approx(true_traits["porosity"])
    assert "Traits, predicted against true masks:" in result.stdout
    assert "Canopy height" in result.stdout


def test_hue_errors_are_circular():
    table = pd.DataFrame(
        {("Leaf hue", "True"): [350.0, 10.0, np.nan], ("Leaf hue", "Predicted"): [10.0, 350.0, 5.0]}
    )
    assert trait_accuracy.trait_errors(table)["leaf_hue"] == {
        "mae": 20.0,
        "bias": 0.0,
        "photos": 2,
        "reliable": False,  # 20 degrees: above the hues' 5-degree tolerance
    }
