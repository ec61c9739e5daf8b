"""Training faults (NaN loss, full disk), untrusted files, and model.json checks."""

import errno
import json
import os
from pathlib import Path

import pytest
import torch
from conftest import FAST_TRAIN, make_dataset, run_here

from vitiseg.cli import main
from vitiseg.config import TrainConfig
from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model, load_model
from vitiseg.errors import WeightsError
from vitiseg.training import callbacks, module


def train(data: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "train",
            "-n",
            "f",
            "-d",
            str(data),
            "-o",
            str(out),
            "-c",
            "3",
            "-bs",
            "2",
            "--no-test",
            *FAST_TRAIN,
            *extra,
        ]
    )


def test_nan_loss_stops_with_epoch_step_and_advice(tmp_path: Path, monkeypatch, capsys):
    real = module.build_loss
    calls = {"n": 0}

    def failing_loss(name, weights=None):
        loss = real(name, weights)

        def compute(logits, target):
            calls["n"] += 1
            value = loss(logits, target)
            return value * float("nan") if calls["n"] == 3 else value  # epoch 2, step 1

        return compute

    monkeypatch.setattr(module, "build_loss", failing_loss)
    code = train(make_dataset(tmp_path / "data"), tmp_path / "out", "-e", "3")
    err = capsys.readouterr().err
    assert code == 1
    assert "loss became nan at epoch 2, step 1" in err
    assert "lower learning rate" in err and "--precision 32" in err and "-r -m" in err
    last = torch.load(tmp_path / "out" / "f" / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0 and len(last["vitiseg_history"]) == 1  # the good epoch 1


def test_full_disk_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch, capsys):
    real_save = torch.save

    def save(obj, path):
        if obj.get("epoch", 0) >= 1:  # every save of epoch 2 finds the disk full
            Path(path).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, path)

    monkeypatch.setattr(callbacks.torch, "save", save)
    code = train(make_dataset(tmp_path / "data"), tmp_path / "out", "-e", "3")
    err = capsys.readouterr().err
    assert code == 1
    assert "disk full while saving" in err and "previous version of that file is intact" in err
    checkpoints = tmp_path / "out" / "f" / "checkpoints"
    monkeypatch.undo()
    assert torch.load(checkpoints / "best.ckpt", weights_only=True)["epoch"] == 0
    assert not list(checkpoints.glob(".*.tmp"))  # the half-written temporary file is gone


class Payload:
    """Pickles as a call to os.system: what a malicious checkpoint would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def evil_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    TrainConfig(name="run", directory=str(make_dataset(tmp_path / "data")), classes=3).save(
        run / "config.yaml"
    )
    marker = tmp_path / "code_ran"
    path = run / "checkpoints" / "last.ckpt"
    torch.save({"epoch": 0, "state_dict": {}, "extra": Payload(marker)}, path)
    return path, marker


def test_the_payload_is_live_when_unpickled_naively(evil_checkpoint):
    path, marker = evil_checkpoint
    torch.load(path, weights_only=False)  # runs the payload: it touches the marker file
    assert marker.exists()  # so the refusals below are meaningful


def test_resuming_from_a_code_carrying_checkpoint_is_refused(evil_checkpoint):
    path, marker = evil_checkpoint
    result = run_here("train", "-r", "-m", str(path))
    assert result.returncode == 2
    assert "refused" in result.stderr and "could run code" in result.stderr
    assert not marker.exists()


def test_code_carrying_encoder_weights_are_refused(evil_checkpoint, tmp_path: Path):
    path, marker = evil_checkpoint
    data = tmp_path / "data"
    result = run_here("train", "-n", "x", "-d", str(data), "-o", str(tmp_path / "o"), "-c", "3",
                      "--encoder", "resnet18", "--encoder-weights", str(path), "--workers", "0")  # fmt: skip
    assert result.returncode == 2 and "refused" in result.stderr
    assert not marker.exists()


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    spec = ModelSpec(encoder="resnet18", classes=3)
    export_model(build_model(spec), ModelInfo(spec, ["a", "b", "c"]), tmp_path / "m")
    return tmp_path / "m"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["spec"].update(arch="Evil"), "unknown architecture 'Evil'"),
        (lambda d: d["spec"].update(encoder="nope"), "unknown encoder 'nope'"),
        (lambda d: d["spec"].update(classes=4), "model.json says 4 classes, weights have 3"),
        (lambda d: d.update(class_names=["a"]), "1 class names for 3 classes"),
        (lambda d: d.update(scale="big"), "mean, std and scale must be numbers"),
    ],
)
def test_model_json_is_validated(exported: Path, change, message):
    data = json.loads((exported / "model.json").read_text())
    change(data)
    if message.startswith("model.json says"):
        data["class_names"] = ["a", "b", "c", "d"]
    (exported / "model.json").write_text(json.dumps(data))
    with pytest.raises(WeightsError, match=message):
        load_model(exported)


def test_weights_saved_from_one_encoder_give_identical_outputs(tmp_path: Path):
    torch.manual_seed(1)
    spec = ModelSpec(encoder="resnet18", classes=3)
    source = build_model(spec).eval()
    torch.save(source.encoder.state_dict(), tmp_path / "encoder.pt")
    fresh = build_model(spec, str(tmp_path / "encoder.pt")).eval()
    fresh.decoder.load_state_dict(source.decoder.state_dict())
    fresh.segmentation_head.load_state_dict(source.segmentation_head.state_dict())
    x = torch.rand(1, 3, 64, 64)
    torch.testing.assert_close(fresh(x), source(x), rtol=0, atol=0)


def test_weights_that_match_nothing_are_refused(tmp_path: Path):
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="none of its 1 tensors match"):
        build_model(ModelSpec(encoder="resnet18", classes=3), str(tmp_path / "other.pt"))


def test_a_timm_models_own_weights_fill_its_tu_encoder(tmp_path: Path):
    """``--encoder tu-NAME --encoder-weights PATH`` with the state dict of timm's NAME
    (as timm saves it, e.g. downloaded ImageNet weights)."""
    import timm

    torch.manual_seed(2)
    source = timm.create_model("mobilenetv3_large_100", pretrained=False)
    torch.save(source.state_dict(), tmp_path / "timm.pt")
    model = build_model(
        ModelSpec(encoder="tu-mobilenetv3_large_100", classes=3), str(tmp_path / "timm.pt")
    )
    encoder = {k.removeprefix("encoder.model."): v for k, v in model.state_dict().items()}
    for name, tensor in source.state_dict().items():
        if name in encoder:  # all but the classifier
            torch.testing.assert_close(encoder[name], tensor, rtol=0, atol=0)
    assert len(source.state_dict()) - sum(n in encoder for n in source.state_dict()) <= 4
