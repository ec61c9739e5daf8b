"""Fine-tuning: a run that starts from a trained vitiseg model (``--init``)."""

from pathlib import Path

import pytest
import torch
from conftest import make_dataset, run_here
from safetensors.torch import load_file

from vitiseg.config import TrainConfig
from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model
from vitiseg.errors import ConfigError
from vitiseg.training.init import from_init

NAMES = ["background", "leaf", "wood"]
SPEC = ModelSpec(encoder="mobilenet_v2", classes=3, decoder_channels=(16, 16, 16, 16, 16))


@pytest.fixture
def start(tmp_path: Path) -> Path:
    torch.manual_seed(5)
    export_model(build_model(SPEC), ModelInfo(SPEC, NAMES), tmp_path / "start")
    return tmp_path / "start"


def config(tmp_path: Path, **changes) -> TrainConfig:
    settings = {"classes": 3, **changes}
    return TrainConfig(name="tuned", directory=str(tmp_path / "data"), output=str(tmp_path / "runs"),
                       **settings)  # fmt: skip


def test_init_takes_the_models_network_weights_and_names(start: Path, tmp_path: Path):
    started, weights = from_init(config(tmp_path, init=str(start)))
    assert (started.encoder, started.decoder_channels) == ("mobilenet_v2", [16, 16, 16, 16, 16])
    assert started.encoder_weights == "none" and started.class_names == NAMES
    expected = load_file(start / "model.safetensors")
    assert all(torch.equal(weights[k], v) for k, v in expected.items())
    assert from_init(config(tmp_path)) == (config(tmp_path), None)  # no init: unchanged


def test_init_with_other_classes_says_what_differs(start: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match="its 3 classes are background, leaf, wood; this run's 3 "
                       "are background, leaf, trunk: give classes=3 and class_names="):  # fmt: skip
        from_init(config(tmp_path, init=str(start), class_names=["background", "leaf", "trunk"]))
    with pytest.raises(ConfigError, match="this run's 2 are Class 0, Class 1: give classes=3"):
        from_init(config(tmp_path, init=str(start), classes=2))


def test_the_bundled_model_is_an_init_by_its_name(tmp_path: Path):
    started, weights = from_init(config(tmp_path, init="vineyard", classes=5))
    assert started.encoder == "timm-tf_efficientnet_lite0"
    assert started.class_names == ["background", "leaf", "inter-row", "pipe", "trunk"]
    assert weights["segmentation_head.0.weight"].shape[0] == 5


@pytest.mark.slow
def test_train_init_starts_from_the_models_weights(start: Path, tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=6)
    result = run_here("train", "-n", "tuned", "-d", str(data), "-o", str(tmp_path / "runs"),
                      "-c", "3", "--init", str(start), "-e", "1", "-lr", "1e-12", "--no-ema",
                      "--crop-size", "64", "--workers", "0", "--precision", "32", "--no-test")  # fmt: skip
    assert result.returncode == 0, result.stderr
    tuned = load_file(tmp_path / "runs" / "tuned" / "model.safetensors")
    first = load_file(start / "model.safetensors")
    for name in ("encoder.features.0.0.weight", "segmentation_head.0.weight"):
        torch.testing.assert_close(tuned[name], first[name], atol=1e-6, rtol=0)
    assert "timm" not in (tmp_path / "runs" / "tuned" / "config.yaml").read_text()
    wrong = run_here("train", "-n", "other", "-d", str(data), "-o", str(tmp_path / "runs"),
                     "-c", "2", "--init", str(start), "-e", "1")  # fmt: skip
    assert wrong.returncode == 2 and "its 3 classes are background, leaf, wood" in wrong.stderr
    assert "give --classes 3 and --class-names" in wrong.stderr  # the flags, for the default -c 2
