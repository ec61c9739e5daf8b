"""`vitiseg export --format onnx` and `vitiseg predict --backend onnxruntime`."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import AGROCAM, ROOT, needs_shared_data, run_here
from PIL import Image

from vitiseg.data.synthetic import draw_vineyard
from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model, normalize
from vitiseg.errors import WeightsError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

NAMES = ["background", "leaf", "wood"]
SPEC = ModelSpec(encoder="resnet18", classes=3, decoder_channels=(32, 16, 16, 16, 16))


def tiny_model(folder: Path, scale: float = 1.0) -> Path:
    torch.manual_seed(0)
    export_model(build_model(SPEC), ModelInfo(SPEC, NAMES, scale=scale), folder)
    return folder


def agreement_printed(output: str) -> float:
    match = re.search(r"agree with PyTorch fp32 on ([\d.]+) %", output)
    assert match, output
    return float(match.group(1)) / 100


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    for i, (w, h) in enumerate([(160, 96), (130, 70), (200, 120)]):
        Image.fromarray(draw_vineyard(w, h, seed=i).photo).save(folder / f"p{i}.jpg")
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory, photos: Path) -> Path:
    """A tiny model folder with its model.onnx."""
    folder = tiny_model(tmp_path_factory.mktemp("model"))
    result = run_here("export", str(folder), "--check", str(photos))
    assert result.returncode == 0, result.stderr
    assert agreement_printed(result.stdout) >= 0.999
    return folder


def predict(model: Path, photos: Path, out: Path, *extra: str):
    """``vitiseg predict`` in fp32."""
    return run_here("predict", "--model", str(model), str(photos), "-o", str(out), "--precision", "32", *extra)  # fmt: skip


@pytest.mark.slow
def test_onnx_file_holds_normalisation_and_facts(exported: Path):
    path = exported / "model.onnx"
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(meta["class_names"]) == NAMES
    assert float(meta["scale"]) == 1.0
    assert json.loads(meta["palette"])[1] == [40, 200, 40]
    assert json.loads(meta["vitiseg.model"])["spec"]["encoder"] == "resnet18"
    # pixels 0-255 in, logits out, at sizes other than the export's example
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    net = build_model(SPEC).eval()
    net.load_state_dict(_weights(exported))
    x = torch.randint(0, 256, (1, 3, 96, 224), dtype=torch.uint8)
    logits = session.run(None, {"image": x.float().numpy()})[0]
    with torch.no_grad():
        expected = net(normalize(x, ModelInfo(SPEC, NAMES).mean, ModelInfo(SPEC, NAMES).std))
    assert logits.shape == (1, 3, 96, 224)
    assert np.abs(logits - expected.numpy()).max() < 1e-3


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


@pytest.mark.slow
def test_onnxruntime_predicts_what_torch_predicts_with_tiles_tta_and_resume(
    exported: Path, photos: Path, tmp_path: Path
):
    tiles = ("--tile", "64", "--tta")
    torch_run = predict(exported, photos, tmp_path / "torch", "--backend", "torch", *tiles)
    ort_run = predict(exported, photos, tmp_path / "ort", "--backend", "onnxruntime", *tiles)
    assert torch_run.returncode == 0 and ort_run.returncode == 0, ort_run.stderr
    assert "backend: onnxruntime fp32" in ort_run.stdout
    for name in ("p0", "p1", "p2"):
        a = np.array(Image.open(tmp_path / "torch" / "masks" / f"{name}.png"))
        b = np.array(Image.open(tmp_path / "ort" / "masks" / f"{name}.png"))
        assert a.shape == b.shape and (a == b).mean() >= 0.999
    table_t = pd.read_csv(tmp_path / "torch" / "canopy.csv")
    table_o = pd.read_csv(tmp_path / "ort" / "canopy.csv")
    assert list(table_t.columns) == list(table_o.columns) and len(table_o) == 3
    assert np.allclose(table_t["leaf_cover"], table_o["leaf_cover"], atol=1e-3)
    again = predict(exported, photos, tmp_path / "ort", "--backend", "onnxruntime", *tiles)
    assert again.returncode == 0 and "3 photo(s) already done" in again.stdout
    assert pd.read_csv(tmp_path / "ort" / "canopy.csv").equals(table_o)
    # the same weights, whichever engine ran them: the other's masks are reused
    assert set(table_t["model"]) == set(table_o["model"])
    crossed = predict(exported, photos, tmp_path / "ort", "--backend", "torch", *tiles)
    assert crossed.returncode == 0 and "3 photo(s) already done" in crossed.stdout


@pytest.mark.slow
def test_a_timm_encoder_is_saved_loaded_and_exported(photos: Path, tmp_path: Path):
    """``--encoder tu-NAME``: any timm model as the encoder (MobileNetV3, --encoder's example:
    hard-swish, squeeze-excite and depthwise layers exported)."""
    spec = ModelSpec(
        encoder="tu-mobilenetv3_large_100", classes=3, decoder_channels=(32, 16, 16, 16, 16)
    )
    torch.manual_seed(0)
    export_model(build_model(spec), ModelInfo(spec, NAMES), tmp_path / "m")
    result = run_here("export", str(tmp_path / "m"), "--check", str(photos))
    assert result.returncode == 0, result.stderr
    assert agreement_printed(result.stdout) >= 0.999
    with pytest.raises(WeightsError, match="timm has no model 'no-such-model'"):
        ModelSpec(encoder="tu-no-such-model")
    with pytest.raises(WeightsError, match="cannot feed a U-Net decoder"):
        ModelSpec(encoder="tu-vit_tiny_patch16_224")  # a timm model, without a feature pyramid


@pytest.mark.slow
def test_the_onnx_file_alone_is_enough(exported: Path, photos: Path, tmp_path: Path):
    alone = tmp_path / "elsewhere" / "vines.onnx"
    alone.parent.mkdir()
    shutil.copy(exported / "model.onnx", alone)
    result = predict(alone, photos / "p0.jpg", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "an ONNX file was given" in result.stdout
    with Image.open(tmp_path / "out" / "masks" / "p0.png") as mask:
        assert mask.size == (160, 96)


@pytest.mark.slow
def test_int8_export_agrees_and_is_the_default_without_bf16(
    tmp_path: Path, photos: Path, monkeypatch
):  # fmt: skip
    model = tiny_model(tmp_path / "model")
    result = run_here("export", str(model), "--quantize", "int8", "--calibrate", str(photos),
                     "--check", str(photos))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert agreement_printed(result.stdout) >= 0.9
    int8 = onnx.load(str(model / "model.int8.onnx"))
    assert any(node.op_type == "QuantizeLinear" for node in int8.graph.node)
    weights = [onnx.numpy_helper.to_array(t) for t in int8.graph.initializer if t.data_type == 3]
    assert weights and max(int(np.abs(w).max()) for w in weights) <= 64  # 7-bit: no saturation
    assert (model / "model.int8.onnx").stat().st_size < 0.4 * (
        model / "model.safetensors"
    ).stat().st_size
    for name, value in {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}.items():
        monkeypatch.setenv(name, value)  # a CPU without bf16, as cpu_has_bf16() reads it
    chosen = run_here("predict", "--model", str(model), str(photos), "-o", str(tmp_path / "o"))
    assert chosen.returncode == 0, chosen.stderr
    assert (
        "backend: onnxruntime int8 (model.int8.onnx) (fastest measured on a CPU without bf16)"
        in chosen.stdout
    )
    forced = predict(model, photos, tmp_path / "t", "--backend", "torch")
    assert "backend: torch 32" in forced.stdout
    torch.manual_seed(1)  # retrained: the ONNX file beside it is now stale
    export_model(build_model(SPEC), ModelInfo(SPEC, NAMES), model)
    stale = run_here("predict", "--model", str(model), str(photos), "-o", str(tmp_path / "s"))
    assert "exported from other weights" in stale.stdout
    assert "backend: torch 32" in stale.stdout


@needs_shared_data
@pytest.mark.slow
def test_parity_on_real_photos_at_a_reduced_scale(tmp_path: Path):
    model = tiny_model(tmp_path / "model", scale=0.25)
    real = sorted(AGROCAM.glob("*.jpg"))[:2]
    result = run_here("export", str(model), "--check", *map(str, real))
    assert result.returncode == 0, result.stderr
    assert agreement_printed(result.stdout) >= 0.999
    assert "of 2 photo(s)" in result.stdout


@pytest.mark.slow
def test_export_refuses_to_overwrite_and_needs_photos(exported: Path, photos: Path):
    again = run_here("export", str(exported), "--check", str(photos))
    assert again.returncode == 2 and "exists; give --overwrite" in again.stderr
    nothing = run_here("export", str(exported), "-o", str(exported / "other.onnx"))
    assert nothing.returncode == 2 and "give --check PHOTOS" in nothing.stderr


def test_a_layer_that_cannot_be_exported_is_named(tmp_path: Path):
    from vitiseg.export import export_onnx

    class Odd(torch.nn.Module):
        def forward(self, x):
            return x + torch.linalg.matrix_exp(x[..., :4, :4]).mean()

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), Odd())
    net.encoder = SimpleNamespace(output_stride=32)  # as smp networks say how far they halve
    with pytest.raises(WeightsError, match=r"in layer net\.1 \(Odd\).*linalg_matrix_exp"):
        export_onnx(net, ModelInfo(SPEC, NAMES), tmp_path / "odd.onnx")
    assert not (tmp_path / "odd.onnx").exists()


@pytest.mark.slow
def test_onnx_files_of_another_kind_are_refused(exported: Path, photos: Path, tmp_path: Path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )  # fmt: skip
    onnx.save(helper.make_model(graph), str(tmp_path / "other.onnx"))
    other = predict(tmp_path / "other.onnx", photos, tmp_path / "o1")
    assert other.returncode == 2 and "not a vitiseg segmentation model" in other.stderr
    (tmp_path / "junk.onnx").write_bytes(b"\x00not onnx at all" * 10)
    junk = predict(tmp_path / "junk.onnx", photos, tmp_path / "o2")
    assert junk.returncode == 2 and "not a readable ONNX file" in junk.stderr
    future = onnx.load(str(exported / "model.onnx"))
    future.opset_import[0].version = 99
    onnx.save(future, str(tmp_path / "future.onnx"))
    newer = predict(tmp_path / "future.onnx", photos, tmp_path / "o3")
    assert newer.returncode == 2 and "cannot run this file" in newer.stderr
    wrong = predict(exported / "model.onnx", photos, tmp_path / "o4", "--backend", "torch")
    assert wrong.returncode == 2 and "use --backend onnxruntime" in wrong.stderr


@pytest.mark.slow
def test_missing_onnxruntime_names_the_extra(exported: Path, photos: Path, tmp_path: Path):
    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"  # as if not installed
        "from vitiseg.cli import main\n"
        f"sys.exit(main(['predict', '--model', {str(exported)!r}, {str(photos)!r}, "
        f"'-o', {str(tmp_path / 'o')!r}, '--backend', 'onnxruntime']))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert "pip install 'vitiseg[onnx]'" in result.stderr
    assert "Traceback" not in result.stderr
