"""The one precision and device resolver, for training (Lightning's spelling) and inference."""

import torch

from vitiseg.util import hardware


def test_auto_precision_follows_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: True)
    assert hardware.resolve_precision("auto", "auto") == "bf16-mixed"
    assert hardware.inference_precision("auto", torch.device("cpu")) == "bf16"
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: False)
    assert hardware.resolve_precision("auto", "cpu") == "32"
    assert hardware.inference_precision("auto", torch.device("cpu")) == "32"


def test_given_precisions_pass_and_training_spellings_turn_into_inference_ones():
    assert hardware.resolve_precision("16-mixed") == "16-mixed"
    assert hardware.inference_precision("bf16-mixed", torch.device("cpu")) == "bf16"
    assert hardware.inference_precision("32-true", torch.device("cpu")) == "32"
    assert hardware.inference_precision("16", torch.device("cpu")) == "16"


def test_emulating_an_avx2_laptop_hides_bf16(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not hardware.cpu_has_bf16()
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert not hardware.cpu_has_bf16()


def test_auto_device_is_the_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert hardware.resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # named devices as they are
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert hardware.resolve_device("cuda:1") == torch.device("cuda", 1)
