"""Weights files: read by name and shape, never by running pickled code."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from vitiseg.engine.network import ModelSpec, build_model
from vitiseg.engine.weights import check_checkpoint, load_encoder_weights, read_state_dict
from vitiseg.errors import WeightsError


def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelSpec(encoder="resnet18", classes=2, decoder_channels=[16, 16, 8, 8, 8]))


def test_an_encoder_state_dict_under_another_prefix_is_loaded_by_name_and_shape(tmp_path: Path):
    source = small_model().encoder.state_dict()
    path = tmp_path / "encoder.pt"
    torch.save({"model": {f"backbone.{k}": v + 1 for k, v in source.items()}}, path)
    model = small_model()
    report = load_encoder_weights(model, path)
    assert report.loaded == len(source) and report.encoder_missing == 0
    torch.testing.assert_close(model.encoder.conv1.weight, source["conv1.weight"] + 1)


def test_a_pickle_that_would_run_code_is_refused(tmp_path: Path):
    path = tmp_path / "whole.pt"
    torch.save(torch.nn.Linear(2, 2), path)  # a whole module: loading it unpickles code
    with pytest.raises(WeightsError, match=r"whole.pt: refused, the file holds more than tensors"):
        read_state_dict(path)


def test_a_file_matching_nothing_says_so(tmp_path: Path):
    path = tmp_path / "other.safetensors"
    save_file({"head.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(WeightsError, match=r"none of its 1 tensors match .* \(wrong encoder\?"):
        load_encoder_weights(small_model(), path)


def test_a_checkpoint_needs_a_state_and_an_epoch(tmp_path: Path):
    good, bad = tmp_path / "good.ckpt", tmp_path / "bad.ckpt"
    torch.save({"state_dict": {}, "epoch": 4}, good)
    torch.save({"weights": {}}, bad)
    assert check_checkpoint(good) == 5
    with pytest.raises(WeightsError, match="not a vitiseg training checkpoint"):
        check_checkpoint(bad)
    with pytest.raises(WeightsError, match="checkpoint not found"):
        check_checkpoint(tmp_path / "missing.ckpt")
