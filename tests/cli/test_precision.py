"""bf16 mixed precision trains as well as fp32 (from the same seed, on the same data)."""

import json
from pathlib import Path

import pytest

from vitiseg.cli import main
from vitiseg.data.synthetic import write_synthetic
from vitiseg.util.hardware import cpu_has_bf16, resolve_precision


@pytest.mark.slow
@pytest.mark.skipif(
    not cpu_has_bf16(), reason="this CPU has no native bf16: --precision auto never picks it here"
)
def test_bf16_and_fp32_reach_close_validation_iou(tmp_path: Path):
    write_synthetic(tmp_path / "data", n=14, size=(192, 128), seed=3)
    leaf = {}
    for precision in ("32", "bf16-mixed"):
        code = main(["train", "-n", precision, "-d", str(tmp_path / "data"), "-o", str(tmp_path / "out"),
                     "-c", "3", "--encoder", "resnet18", "--encoder-weights", "none", "--crop-size", "128",
                     "-e", "30", "-bs", "4", "-lr", "3e-3", "--workers", "0", "-p", "--no-test",
                     "--class-weights", "none", "--precision", precision])  # fmt: skip
        assert code == 0
        history = json.loads((tmp_path / "out" / precision / "history.json").read_text())
        leaf[precision] = max(row["val"]["IoU"][1] for row in history)
    assert leaf["32"] > 0.5, leaf  # it learnt something
    assert abs(leaf["32"] - leaf["bf16-mixed"]) < 0.1, leaf


def test_auto_precision_follows_the_hardware():
    assert resolve_precision("32") == "32"
    assert resolve_precision("auto", "cpu") == ("bf16-mixed" if cpu_has_bf16() else "32")


def test_onednn_capped_below_bf16_means_fp32(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # how an AVX2 laptop is emulated
    assert not cpu_has_bf16()
    assert resolve_precision("auto", "cpu") == "32"
