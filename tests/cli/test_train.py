"""`vitiseg train` end to end on generated photos: run folder, CSV, resume, refusals."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import (
    FAST_ENCODER,
    FAST_TRAIN,
    assert_same_outcome,
    make_dataset,
    run_cli,
    run_here,
    run_outcome,
    tree_snapshot,
)
from safetensors.torch import load_file

from vitiseg.cli import main
from vitiseg.engine.network import load_model
from vitiseg.report.history import read_history_csv


def train(*args: str) -> int:
    return main(["train", *FAST_TRAIN, "--class-weights", "none", *args])


@pytest.mark.slow
def test_the_seeds_example_command_writes_a_complete_run(tmp_path: Path):
    data = make_dataset(tmp_path / "Dataset", n=10, classes=2)
    result = run_here(
        "train", "--name", "Modele_1", "--epochs", "2", "--batch_size", "4", "--pré-load",
        "--directory", str(data), "-o", str(tmp_path / "Result"), "--classes", "2",
        "--learning_rate", "1e-3", "--save", "1", *FAST_TRAIN,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "Result" / "Modele_1"
    for name in (
        "config.yaml", "split.csv", "Train_Modele_1.csv", "metrics.png", "model.safetensors",
        "model.json", "config.json", "checkpoints/last.ckpt", "checkpoints/best.ckpt",
        "checkpoints/Modele_1_1.ckpt", "checkpoints/Modele_1_2.ckpt",
    ):  # fmt: skip
        assert (run / name).is_file(), name
    assert "Epoch: 2/2 Time:" in result.stdout and "MIoU:" in result.stdout
    frame = read_history_csv(run / "Train_Modele_1.csv")
    assert list(frame.index) == [1, 2]
    assert frame.columns.levels[0].tolist() == ["Accuracy", "IoU", "Precision", "Recall"]
    assert frame[("IoU", "Class 1", "Val")].between(0, 1).all()
    split = pd.read_csv(run / "split.csv")
    assert split["split"].value_counts().to_dict() == {"train": 4, "valid": 4, "test": 2}


@pytest.mark.parametrize("extra", [[], ["--ema", "0.8"]], ids=["plain", "ema"])
@pytest.mark.slow
def test_resumed_run_ends_with_the_same_table_and_weights(tmp_path: Path, extra: list[str]):
    data = make_dataset(tmp_path / "data", n=10)
    out = tmp_path / "out"
    args = ["-n", "r", "-d", str(data), "-o", str(out), "-c", "3", "-e", "4", "-s", "2"]
    assert train(*args, "-lr", "3e-3", *extra) == 0
    run = out / "r"
    straight = run_outcome(run)
    assert main(["train", "-r", "-m", str(run / "checkpoints" / "r_2.ckpt")]) == 0
    assert_same_outcome(run_outcome(run), straight)


def test_the_moving_average_is_kept_and_exported(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=10)
    out = tmp_path / "out"
    args = ["-n", "e", "-d", str(data), "-o", str(out), "-c", "3", "-e", "2", "-bs", "2"]
    assert train(*args, "--ema", "0.5") == 0
    state = torch.load(out / "e" / "checkpoints" / "best.ckpt", weights_only=True)
    average, current = state["state_dict"], state["current_model_state"]
    key = "model.segmentation_head.0.weight"
    assert not torch.equal(average[key], current[key])  # the average is not the last weights
    exported = load_file(out / "e" / "model.safetensors")
    torch.testing.assert_close(exported[key.removeprefix("model.")], average[key].float())


@pytest.mark.slow
def test_resume_with_more_epochs_extends_the_run(tmp_path: Path, capsys):
    data = make_dataset(tmp_path / "data", n=10)
    out = tmp_path / "out"
    assert train("-n", "x", "-d", str(data), "-o", str(out), "-c", "3", "-e", "2") == 0
    assert main(["train", "-r", str(out / "x"), "-e", "3"]) == 0
    assert "schedule rebuilt" in capsys.readouterr().out
    assert list(read_history_csv(out / "x" / "Train_x.csv").index) == [1, 2, 3]


def test_an_earlier_run_is_never_overwritten_by_accident(tmp_path: Path, capsys):
    data = make_dataset(tmp_path / "data", n=10)
    out = tmp_path / "out"
    assert train("-n", "a", "-d", str(data), "-o", str(out), "-c", "3", "-e", "1") == 0
    before = tree_snapshot(out / "a")
    assert train("-n", "a", "-d", str(data), "-o", str(out), "-c", "3", "-e", "1") == 2
    assert "already holds a run" in capsys.readouterr().err
    assert tree_snapshot(out / "a") == before
    assert (
        train("-n", "a", "-d", str(data), "-o", str(out), "-c", "3", "-e", "1", "--overwrite") == 0
    )


def test_exported_model_loads_without_training_code(tmp_path: Path, capsys):
    data = make_dataset(tmp_path / "data", n=10)
    out = tmp_path / "out"
    assert train("-n", "m", "-d", str(data), "-o", str(out), "-c", "3", "-e", "1",
                 "--class-names", "soil,leaf,wood", "--decoder-channels", "48,40,32,24,8") == 0  # fmt: skip
    assert f"Unet / {FAST_ENCODER}, decoder 48,40,32,24,8 " in capsys.readouterr().out
    model, info = load_model(out / "m")
    assert info.class_names == ["soil", "leaf", "wood"]
    assert info.spec.decoder_channels == (48, 40, 32, 24, 8)
    assert model.segmentation_head[0].in_channels == 8
    best = torch.load(out / "m" / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    assert torch.equal(
        model.state_dict()["segmentation_head.0.weight"], best["model.segmentation_head.0.weight"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-c", "1"], "-c/--classes: must be at least 2"),
        (["-c", "3", "--class-map", "0,1"], "--class-map has 2 entries"),
        (["-c", "3", "--class-names", "a,b"], "2 names for 3 classes"),
        (["-c", "3", "--crop-size", "100"], "multiple of 32"),
        (["-c", "3", "--decoder-channels", "64,32"], "decoder widths must be 5 positive"),
        (["-c", "3", "--warmup", "1.5"], "--warmup: must be in (0, 1)"),
        (["-c", "3", "--arch", "FPN", "--decoder-channels", "8,8,8,8,8"], "apply to Unet"),
    ],
)
def test_bad_options_exit_2_with_a_message(dataset: Path, tmp_path: Path, capsys, args, message):
    assert train("-n", "bad", "-d", str(dataset), "-o", str(tmp_path / "o"), *args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow
def test_offline_imagenet_weights_give_one_line(dataset: Path, tmp_path: Path):
    # a process of its own: all it writes to stderr, its libraries' log handlers included
    result = run_cli("train", "-n", "w", "-d", str(dataset), "-o", str(tmp_path), "-c", "3",
                     "--encoder", "resnet18", "--encoder-weights", "imagenet", "--workers", "0", "--crop-size", "64")  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--encoder-weights none" in lines[0], result.stderr


@pytest.mark.slow
def test_csv_logger_records_each_epochs_figures(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=8)
    args = ["train", "-n", "l", "-d", str(data), "-o", str(tmp_path), "-c", "3", "-e", "2",
            "--no-test", "--logger", "csv", *FAST_TRAIN]  # fmt: skip
    assert main(args) == 0
    (table,) = (tmp_path / "l" / "logs").rglob("metrics.csv")
    logged = pd.read_csv(table)
    validation = logged.dropna(subset=["val_mIoU"])
    assert list(validation["epoch"]) == [0, 1]
    assert {"val_IoU_0", "train_IoU_0", "train_loss"} <= set(logged.columns)
    history = read_history_csv(tmp_path / "l" / "Train_l.csv")
    np.testing.assert_allclose(
        validation["val_IoU_0"], history[("IoU", "Class 0", "Val")], atol=1e-6
    )


@pytest.mark.skipif(
    importlib.util.find_spec("mlflow") is not None, reason="mlflow is installed here"
)
def test_a_logger_whose_package_is_missing_says_what_to_install(tmp_path: Path, capsys):
    data = make_dataset(tmp_path / "data", n=8)
    args = ["train", "-n", "l", "-d", str(data), "-o", str(tmp_path / "o"), "-c", "3",
            "--logger", "mlflow", *FAST_TRAIN]  # fmt: skip
    assert main(args) == 2
    assert "pip install mlflow" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
