"""Which engine runs an exported model, and the one-line refusals of the ones that cannot."""

import shutil
from pathlib import Path

import pytest

from vitiseg.engine import backends
from vitiseg.errors import ConfigError, WeightsError
from vitiseg.util import hardware


def bf16(monkeypatch, present: bool) -> None:
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: present)
    monkeypatch.setattr(backends, "cpu_has_bf16", lambda: present)


def test_auto_on_a_cpu_without_bf16_runs_torch_in_fp32_and_says_what_is_faster(model_dir, monkeypatch):  # fmt: skip
    bf16(monkeypatch, False)
    engine = backends.load_engine(model_dir, "auto", "cpu", "auto")
    assert (engine.name, engine.precision) == ("torch 32", "32")
    assert "--quantize int8" in engine.reason and engine.info.class_names[1] == "leaf"


def test_auto_on_a_cpu_with_bf16_runs_torch_in_bf16(model_dir, monkeypatch):
    bf16(monkeypatch, True)
    engine = backends.load_engine(model_dir, "auto", "cpu", "auto")
    assert (engine.name, engine.precision, engine.reason) == ("torch bf16", "bf16", "bf16 on this CPU")  # fmt: skip


def test_a_precision_asked_for_is_kept(model_dir, monkeypatch):
    bf16(monkeypatch, True)
    assert backends.load_engine(model_dir, "torch", "cpu", "32").precision == "32"


def test_an_unknown_backend_or_an_onnx_file_for_torch_is_refused(model_dir, tmp_path: Path):
    with pytest.raises(ConfigError, match=r"^backend='tensorrt': choose from auto, torch, onnxruntime$"):  # fmt: skip
        backends.load_engine(model_dir, "tensorrt", "cpu", "auto")
    with pytest.raises(ConfigError, match=r"model.onnx is an ONNX file: use backend=onnxruntime"):
        backends.load_engine(tmp_path / "model.onnx", "torch", "cpu", "auto")


def test_onnxruntime_without_an_export_says_how_to_make_one(model_dir):
    with pytest.raises(ConfigError, match=r"no model.onnx here; run `vitiseg export .* --format onnx`"):  # fmt: skip
        backends.load_engine(model_dir, "onnxruntime", "cpu", "auto")


def test_a_corrupt_onnx_file_beside_the_model_is_named_or_skipped(model_dir, tmp_path, monkeypatch, capsys):  # fmt: skip
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    (folder / "model.onnx").write_bytes(b"\x00not onnx at all")
    with pytest.raises(WeightsError, match=r"model.onnx: unreadable ONNX file .* export it again"):
        backends.load_engine(folder, "onnxruntime", "cpu", "auto")
    bf16(monkeypatch, False)  # auto would take an ONNX file here: it notes this one and moves on
    assert backends.load_engine(folder, "auto", "cpu", "auto").name == "torch 32"
    assert "unreadable ONNX file" in capsys.readouterr().out
