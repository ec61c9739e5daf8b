"""Two-process DDP on CPU (gloo), launched through the CLI as a user would."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FAST_TRAIN, make_dataset, run_cli
from test_unlabeled import rounds_in, unlabeled_folder

from vitiseg.data.imageio import read_image, read_mask
from vitiseg.data.split import read_split
from vitiseg.engine.network import load_model
from vitiseg.engine.tiling import Predictor
from vitiseg.evaluate import confusion_of


@pytest.mark.slow
def test_two_processes_sum_one_confusion_matrix_label_once_and_write_one_run(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=16)
    photos = unlabeled_folder(tmp_path / "unlabeled", corrupt=False)
    result = run_cli("train", "-n", "d", "-d", str(data), "-o", str(tmp_path / "out"), "-c", "3", "-e", "2",
                     "-bs", "2", "--devices", "2", "--strategy", "ddp", "--accelerator", "cpu",
                     "--unlabeled", str(photos), *FAST_TRAIN)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "out" / "d"
    # one process labels, after epoch 1 (50 % of the schedule; none after the last epoch)
    assert result.stdout.count("Pseudo-labels after 50% of the schedule") == 1
    assert result.stdout.count("Pseudo-labels after") == 1
    assert len(list((run / "pseudo-labels" / "round-1").rglob("*.png"))) == 5
    assert rounds_in(run / "checkpoints" / "last.ckpt") == 1
    # one process validated samples 0, 2, 4..., the other 1, 3, 5...: the logged matrix must
    # be their sum, equal to one process predicting every validation photo with the same
    # model (model.safetensors: the best epoch's)
    best = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)["epoch"]
    logged = np.array(json.loads((run / "history.json").read_text())[best]["val_confusion"])
    model, info = load_model(run)
    predictor = Predictor(model, info, device="cpu", precision="32")
    expected = sum(
        confusion_of(read_mask(pair.mask), predictor.predict(read_image(pair.image)).mask, 3)
        for pair in read_split(run / "split.csv", data)["valid"]
    )
    assert (
        logged.sum() == expected.sum() == 5 * 96 * 64
    )  # every validation pixel of the 5 photos, once
    np.testing.assert_allclose(logged, expected, atol=0.001 * logged.sum())
    assert result.stdout.count("Epoch: 2/2") == 1 and result.stdout.count("Run folder:") == 1
    files = sorted(
        str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file()
    )
    assert [f for f in files if "Predictions" not in f and "pseudo-labels" not in f] == sorted(
        f"d/{name}" for name in (
            "Test_d.csv", "Train_d.csv", "checkpoints/best.ckpt", "checkpoints/last.ckpt", "config.json",
            "config.yaml", "confusion.png", "history.json", "metrics.png", "model.json", "model.safetensors",
            "report-facts.json", "report.html", "split.csv", "summary.json",
        )
    )  # fmt: skip
