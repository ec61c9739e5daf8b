import json
from pathlib import Path

import numpy as np
import pytest
from conftest import AGROCAM, needs_shared_data

from vitiseg.cli import main
from vitiseg.evaluate import _row, confusion_of, read_test_csv


def test_figures_of_a_hand_made_prediction_are_exact():
    truth = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [255, 255, 2, 2]])
    prediction = np.array([[0, 1, 1, 1], [0, 1, 1, 0], [1, 1, 2, 0]])
    confusion = confusion_of(truth, prediction, 3)
    assert confusion.tolist() == [[2, 1, 0], [1, 4, 0], [1, 0, 1]]
    row = _row(confusion, k=0.7, leaf=1)
    assert row[("IoU", "Class 1")] == pytest.approx(4 / 6)  # TP 4, FP 1, FN 1
    assert row[("Precision", "Class 0")] == pytest.approx(2 / 4)
    assert row[("Recall", "Class 2")] == pytest.approx(1 / 2)
    assert row[("Leaf cover", "True")] == pytest.approx(5 / 10)
    assert row[("Leaf cover", "Predicted")] == pytest.approx(5 / 10)
    assert row[("LAI estimate", "True")] == pytest.approx(-np.log(0.5) / 0.7)


@needs_shared_data
@pytest.mark.slow
def test_train_then_evaluate_writes_every_file_on_five_classes(tmp_path: Path):
    data = tmp_path / "data"  # 10 of the labelled field photos: 2 of them the test set
    data.mkdir()
    for photo in sorted(AGROCAM.glob("*.jpg"))[::2][:10]:
        for path in (photo, photo.with_name(f"{photo.stem}_bin.png")):
            (data / path.name).symlink_to(path)
    args = ["train", "-n", "five", "-d", str(data), "-o", str(tmp_path), "-c", "5", "-e", "1", "-bs", "4",
            "--scale", "0.125", "--crop-size", "96", "--encoder", "resnet18", "--encoder-weights", "none",
            "--workers", "0", "--class-names", "background,leaf,inter-row,pipe,trunk"]  # fmt: skip
    assert main(args) == 0
    run = tmp_path / "five"
    test = read_test_csv(run / "Test_five.csv")
    assert test.index[-1] == "ALL" and len(test) == 3  # 2 test photos + the overall row
    assert {"IoU", "Precision", "Recall", "Accuracy", "Leaf cover", "LAI estimate"} <= set(
        test.columns.levels[0]
    )
    assert test[("True cover", "Class 1")].iloc[:-1].between(0, 1).all()
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["per_class"]) == {"background", "leaf", "inter-row", "pipe", "trunk"}
    assert np.array(summary["confusion"]).sum() == 2 * 1920 * 1080
    assert (run / "confusion.png").stat().st_size > 10_000
    pictures = sorted((run / "Predictions" / "five").iterdir())
    assert [p.stem for p in pictures] == list(test.index[:-1])
    # the stand-alone command on a folder, with side-by-side pictures
    out = tmp_path / "eval"
    assert (
        main(["evaluate", "--model", str(run), "-d", str(data), "-o", str(out), "--side-by-side"])
        == 0
    )
    assert len(read_test_csv(out / "Test_five.csv")) == 11
    from PIL import Image

    with Image.open(next((out / "Predictions" / "five").iterdir())) as panel:
        assert panel.size == (3 * 1920, 1080)


def test_a_model_without_a_leaf_class_is_scored_without_leaf_traits(tmp_path: Path, capsys):
    import torch
    from PIL import Image

    from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model

    spec = ModelSpec(encoder="resnet18", classes=2, decoder_channels=(16, 16, 16, 16, 16))
    torch.manual_seed(0)
    export_model(build_model(spec), ModelInfo(spec, ["background", "stem"]), tmp_path / "stems")
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(data / f"c{i}.jpg")
        mask = np.zeros((64, 96), np.uint8)
        mask[:, 40:56] = 1  # a stem down the middle
        Image.fromarray(mask).save(data / f"c{i}_bin.png")
    out = tmp_path / "eval"
    code = main(["evaluate", "--model", str(tmp_path / "stems"), "-d", str(data), "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert printed.count("no class named leaf") == 1
    for leaf_figure in ("leaf cover MAE", "Canopy height", "Porosity", "Leaf hue"):
        assert leaf_figure not in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["leaf_cover_mae"] is None and summary["traits"] == {}
    assert summary["per_class"]["stem"]["IoU"] is not None
    test = read_test_csv(out / "Test_stems.csv")
    assert not {"Leaf cover", "Canopy height", "Porosity"} & set(test.columns.levels[0])
