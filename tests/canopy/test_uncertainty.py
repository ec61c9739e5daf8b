"""`predict --uncertainty` and `--select K`: the class-balanced entropy, the spread rule,
the CLI."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_dataset, run_here

from vitiseg.canopy.uncertainty import ClassEntropy, camera_of, select_photos
from vitiseg.engine.network import load_model, normalize
from vitiseg.engine.tiling import Predictor


def entropy_of(logits: torch.Tensor) -> float:
    meter = ClassEntropy(logits.shape[0])
    meter.add(logits)
    return meter.value()


def test_entropy_of_uniform_and_of_certain_pixels():
    assert entropy_of(torch.zeros(3, 2, 5)) == pytest.approx(1.0)
    certain = torch.tensor([[[50.0]], [[0.0]], [[0.0]]])
    assert entropy_of(certain) == pytest.approx(0.0, abs=1e-12)


def test_entropy_hand_computed():
    logits = torch.tensor([[[0.0]], [[math.log(3)]]])  # p = (0.25, 0.75)
    expected = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75)) / math.log(2)
    assert entropy_of(logits) == pytest.approx(expected)  # 0.811


def test_each_predicted_class_weighs_the_same_whatever_its_area():
    # 99 sure pixels of class 0 (entropy ~0) and 1 uniform-ish pixel predicted class 1
    logits = torch.zeros(2, 1, 100)
    logits[0, 0, :99] = 30.0
    logits[1, 0, 99] = 1e-3
    meter = ClassEntropy(2)
    for band in logits.split(1, dim=2):  # added band by band, as prediction streams them
        meter.add(band)
    assert meter.value() == pytest.approx(0.5, abs=1e-3)  # (0 + 1) / 2, not 1 / 100
    assert entropy_of(logits) == pytest.approx(meter.value())


def test_entropy_needs_the_models_class_logits():
    with pytest.raises(ValueError, match="at least 2 classes"):
        ClassEntropy(1)
    with pytest.raises(ValueError, match=r"must be \(3, H, W\)"):
        ClassEntropy(3).add(torch.zeros(2, 4, 4))


def rows(*items):
    return [{"file": f, "datetime": d, "uncertainty": u} for f, d, u in items]


def test_select_spreads_over_cameras_and_days():
    table = rows(
        ("a_2024-05-01_100000.jpg", "2024-05-01T10:00:00", 0.9),
        ("a_2024-05-01_110000.jpg", "2024-05-01T11:00:00", 0.8),
        ("a_2024-05-01_120000.jpg", "2024-05-01T12:00:00", 0.7),
        ("a_2024-05-02_100000.jpg", "2024-05-02T10:00:00", 0.6),
        ("b_2024-05-01_100000.jpg", "2024-05-01T10:00:00", 0.5),
    )
    assert [r["file"] for r in select_photos(table, 3)] == [
        "a_2024-05-01_100000.jpg",
        "a_2024-05-02_100000.jpg",
        "b_2024-05-01_100000.jpg",
    ]
    chosen = select_photos(table, 4)
    assert [r["file"] for r in chosen] == [
        "a_2024-05-01_100000.jpg",
        "a_2024-05-02_100000.jpg",
        "b_2024-05-01_100000.jpg",
        "a_2024-05-01_110000.jpg",
    ]
    assert [r["rank"] for r in chosen] == [1, 2, 3, 4]
    assert chosen[2]["camera"] == "b" and chosen[1]["date"] == "2024-05-02"
    assert len(select_photos(table, 99)) == 5


def test_camera_from_a_pattern():
    assert camera_of("x/site-B_cam07_img.jpg", r"cam(\d+)") == "07"
    assert camera_of("79bt3wkh_2024-06-01_1.jpg") == "79bt3wkh"
    assert camera_of("IMG_0001.jpg") == "IMG_0001"  # no date, no camera: a group of its own


def test_predictor_uncertainty_is_the_class_balanced_entropy_of_its_logits(model_dir: Path):
    model, info = load_model(model_dir)
    image = np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    prediction = Predictor(model, info, "cpu").predict(image, uncertainty=True)
    x = normalize(torch.from_numpy(image).permute(2, 0, 1)[None], info.mean, info.std)
    with torch.inference_mode():
        logits = model(x)[0]
    p = logits.softmax(0)
    entropy, predicted = (-(p * p.log()).sum(0)) / math.log(3), logits.argmax(0)
    expected = np.mean([float(entropy[predicted == c].mean()) for c in predicted.unique()])
    assert prediction.uncertainty == pytest.approx(expected, rel=1e-4)
    assert 0 < prediction.uncertainty < 1
    assert Predictor(model, info, "cpu").predict(image).uncertainty is None


@pytest.mark.slow
def test_predict_select_writes_the_list(tmp_path: Path, model_dir: Path):
    photos = make_dataset(tmp_path / "photos", n=4)
    for mask in photos.glob("*_bin.png"):
        mask.unlink()
    out = tmp_path / "out"
    args = ("predict", "--model", str(model_dir), str(photos), "-o", str(out), "--precision",
            "32", "--device", "cpu", "--no-overlays")  # fmt: skip
    result = run_here(*args, "--select", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    with open(out / "canopy.csv") as handle:
        table = list(csv.DictReader(handle))
    values = sorted(float(r["uncertainty"]) for r in table)
    assert len(values) == 4 and all(0 < v < 1 for v in values)
    with open(out / "select.csv") as handle:
        chosen = list(csv.DictReader(handle))
    assert [int(r["rank"]) for r in chosen] == [1, 2]
    assert float(chosen[0]["uncertainty"]) == values[-1]  # the most uncertain comes first
    again = run_here(*args, "--select", "2")  # resumed: rows of the earlier run keep theirs
    assert again.returncode == 0 and "no uncertainty" not in again.stdout
    (out / "masks" / "img00.png").unlink()
    rerun_plain = run_here(*args)  # without --uncertainty: the others keep theirs
    assert rerun_plain.returncode == 0, rerun_plain.stderr[-2000:]
    with open(out / "canopy.csv") as handle:
        kept = {Path(r["file"]).stem: r["uncertainty"] for r in csv.DictReader(handle)}
    assert kept["img00"] == "" and all(kept[f"img0{i}"] for i in (1, 2, 3))
