"""Export a trained model to ONNX, check it against PyTorch, quantise it to int8.

The ONNX file is enough on its own: its input is the photo's pixels (float32 RGB 0-255,
NCHW, height and width any multiples of 32), the normalisation ``(x - 255 mean) / (255
std)`` is the graph's first step, and vitiseg's ``model.json`` facts (class names,
scale, normalisation, architecture) and the class palette are stored in the file's
``metadata_props``. Its output is the logits (N, classes, H, W).

Needs the ``onnx`` extra (``pip install 'vitiseg[onnx]'``: onnx, onnxruntime, onnxscript).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from vitiseg.data.dataset import rescale
from vitiseg.data.imageio import decode_image
from vitiseg.data.photos import collect_photos
from vitiseg.engine.backends import OnnxBackend
from vitiseg.engine.network import ModelInfo, load_model, resolve_model_dir
from vitiseg.engine.onnx_contract import (
    INPUT,
    ONNX_FILE,
    ONNX_INT8_FILE,
    OUTPUT,
    onnx_metadata,
    read_onnx_info,
    require_onnx,
    weights_digest,
)
from vitiseg.engine.tiling import Predictor
from vitiseg.errors import ConfigError, VitisegError, WeightsError
from vitiseg.run import Run
from vitiseg.util.atomic import atomic_path

OPSET = 18
PARITY_TARGET = 0.999


class PixelModel(torch.nn.Module):
    """The network with its input normalisation: float 0-255 RGB (N, 3, H, W) -> logits."""

    def __init__(self, net: torch.nn.Module, info: ModelInfo) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(info.mean).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(info.std).view(1, 3, 1, 1) * 255.0)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Normalise 0-255 pixel values and return the network's logits (N, C, H, W)."""
        return self.net((image - self.mean) / self.std)


def _failing_layers(program, error: Exception) -> list[str]:
    """Module paths (e.g. ``net.decoder.blocks.0``) of the graph nodes an exporter error names."""
    text = str(error)
    overloads = re.findall(r"OpOverload\(op='([\w.]+)', overload='(\w+)'\)", text)
    targets = {f"{op}.{overload}" for op, overload in overloads}
    targets |= set(re.findall(r"target=torch\.ops\.([\w.]+)", text))
    names = set(re.findall(r"translating node %(\w+)", text))
    layers: list[str] = []
    for node in program.graph.nodes:
        if node.name in names or str(node.target) in targets:
            stack = list(node.meta.get("nn_module_stack", {}).values())
            label = f"{stack[-1][0]} ({stack[-1][1].rsplit('.', 1)[-1]})" if stack else None
            if label and label not in layers:
                layers.append(label)
    return layers


def export_onnx(
    net: torch.nn.Module, info: ModelInfo, path: str | Path, opset: int = OPSET, weights: str = ""
) -> Path:
    """Write ``net`` with its normalisation and facts as one ONNX file, atomically.

    Uses PyTorch's ``torch.export``-based exporter (``dynamo=True``): batch, height and
    width stay free (height and width multiples of 32).

    Raises:
        WeightsError: the network cannot be exported; names the layer(s) where found.
    """
    require_onnx("onnx", "onnxscript")
    model = PixelModel(net.float().eval(), info).eval()
    stride = net.encoder.output_stride  # height and width: multiples of it
    example = torch.full((2, 3, 2 * stride, 3 * stride), 128.0)  # not 1: export fixes sizes of 1
    dim = torch.export.Dim
    shapes = {"image": {0: dim("batch", min=1, max=1024),
                        2: stride * dim("height_steps", min=1, max=2048),
                        3: stride * dim("width_steps", min=1, max=2048)}}  # fmt: skip
    try:
        program = torch.export.export(model, (example,), dynamic_shapes=shapes, strict=False)
    except Exception as exc:
        raise WeightsError(f"{info.spec.arch}/{info.spec.encoder} cannot be traced for ONNX: "
                           f"{str(exc).strip().splitlines()[0]}") from None  # fmt: skip
    try:
        onnx_program = torch.onnx.export(
            program, input_names=[INPUT], output_names=[OUTPUT], opset_version=opset,
            dynamo=True, verbose=False, optimize=True,
        )  # fmt: skip
    except Exception as exc:
        layers = _failing_layers(program, exc)
        where = f" in layer {', '.join(layers)}" if layers else ""
        summary = next((ln for ln in str(exc).splitlines() if "No ONNX function" in ln), "")
        raise WeightsError(
            f"{info.spec.arch}/{info.spec.encoder} cannot be exported to ONNX{where}"
            f"{': ' + summary.split(': ', 1)[-1] if summary else ''}"
        ) from None
    onnx_program.model.metadata_props.update(onnx_metadata(info, stride, weights=weights))
    path = Path(path)
    with atomic_path(path) as tmp:
        onnx_program.save(tmp, external_data=False)
    return path


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels where two class masks agree: ``mean(a == b)``."""
    if a.shape != b.shape:
        raise ValueError(f"masks differ in size: {a.shape} and {b.shape}")
    return float((a == b).mean())


def parity(
    photos: list[np.ndarray], reference: Callable[[np.ndarray], np.ndarray],
    candidate: Callable[[np.ndarray], np.ndarray],
) -> float:  # fmt: skip
    """Share of all pixels of ``photos`` where the two predictors' class masks agree."""
    if not photos:
        raise ValueError("parity needs at least one photo")
    same = total = 0
    for photo in photos:
        a, b = reference(photo), candidate(photo)
        same += int(agreement(a, b) * a.size + 0.5)
        total += a.size
    return same / total


def _crops(photos: list[np.ndarray], info: ModelInfo, size: int) -> list[np.ndarray]:
    """Up to two ``size`` crops (multiples of 32) of each photo at model scale, float NCHW."""
    crops = []
    for photo in photos:
        scaled, _ = rescale(photo, None, info.scale)
        h, w = (min(size, s // 32 * 32) for s in scaled.shape[:2])
        if h < 32 or w < 32:
            continue
        for y, x in {(0, 0), (scaled.shape[0] - h, scaled.shape[1] - w)}:
            crop = scaled[y : y + h, x : x + w].transpose(2, 0, 1)[None]
            crops.append(np.ascontiguousarray(crop, np.float32))
    if not crops:
        raise ConfigError("no calibration photo is at least 32 px a side at the model's scale")
    return crops


def quantize_int8(
    fp32: str | Path, path: str | Path, photos: list[np.ndarray], crop: int = 512
) -> Path:
    """Static int8 quantisation (QDQ, per-channel 7-bit weights) with ONNX Runtime's own
    tools, calibrated (min-max) on crops of ``photos`` at the model's scale.

    7-bit weights (``reduce_range``): on x86 CPUs without VNNI (AVX2 laptops) ONNX
    Runtime's u8 x s8 kernels add pairs of products in 16 bits, which can saturate with
    8-bit weights; its documentation advises the reduced range there. Measured on the CPU
    recipe's model, it cost nothing: mean IoU 0.7823 against 0.7824 for fp32 on the 25
    labelled photos (docs/predict-engines.md).

    Raises:
        WeightsError: ``fp32`` is not a vitiseg ONNX file.
    """
    require_onnx("onnx", "onnxruntime")
    import onnx  # optional (the onnx extra): checked just above
    from onnxruntime.quantization import (  # optional, as onnx
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )  # fmt: skip

    info = read_onnx_info(fp32)
    crops = _crops(photos, info, crop)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(crops)

        def get_next(self):
            item = next(self.items, None)
            return None if item is None else {INPUT: item}

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_static's notes (e.g. per-channel axes of an unfused BN)
    try:
        with tempfile.TemporaryDirectory(prefix="vitiseg-quant-") as tmp:
            prepared = Path(tmp) / "prepared.onnx"
            quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
            quantized = Path(tmp) / "int8.onnx"
            quantize_static(
                str(prepared), str(quantized), Reader(), quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                reduce_range=True,
            )  # fmt: skip
            proto = onnx.load(str(quantized))
            meta = {
                p.key: p.value
                for p in onnx.load(str(fp32), load_external_data=False).metadata_props
            }
            meta["vitiseg.quantized"] = f"int8 static, {len(crops)} crops"
            del proto.metadata_props[:]
            for key, value in meta.items():
                proto.metadata_props.add(key=key, value=value)
            with atomic_path(path) as out:
                onnx.save(proto, str(out))
    finally:
        root.setLevel(level)
    return Path(path)


def run_photos(model_dir: Path, parts: tuple[str, ...]) -> list[Path]:
    """Photos of a run's ``parts`` of its split (``split.csv``), if the run's data is still there."""
    run = Run(model_dir)
    try:
        return sorted(pair.image for part in parts for pair in run.split().get(part, []))
    except (OSError, VitisegError):
        return []


def _photo_paths(inputs: list[str]) -> list[Path]:
    return [photo.path for photo in collect_photos(inputs)]


def _read(paths: list[Path]) -> list[np.ndarray]:
    return [decode_image(p)[0] for p in paths]


def export_run(
    model: str | Path,
    output: str | Path | None = None,
    quantize: str | None = None,
    calibrate: list[str] | None = None,
    check: list[str] | None = None,
    check_photos: int = 4,
    calibration_photos: int = 8,
    overwrite: bool = False,
    tile: int = 2048,
    log: Callable[[str], None] = print,
) -> tuple[Path, float]:
    """Export a trained model to one ONNX file and check it; returns the file and the share
    of pixels whose class agrees with PyTorch's on the check photos.

    Output: ``model.onnx`` beside the model (``model.int8.onnx`` with ``quantize="int8"``)
    unless ``output`` is given. Check photos: ``check``, else the run's validation and test
    photos; calibration photos: ``calibrate``, else the run's training photos.

    Raises:
        ConfigError: the output exists (without ``overwrite``), no photos to check or
            calibrate on, or an unknown ``quantize``.
        WeightsError: the export fails (names the layer), or fp32 parity is below 99.9 %.
    """
    if quantize not in (None, "int8"):
        raise ConfigError(f"quantize={quantize!r}: only int8 is supported")
    require_onnx("onnx", "onnxscript", "onnxruntime")
    model_dir = resolve_model_dir(model)
    name = ONNX_INT8_FILE if quantize else ONNX_FILE
    out = Path(output) if output else model_dir / name
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} exists; give overwrite=True to replace it, or another output=")
    checks = _photo_paths(check) if check else run_photos(model_dir, ("valid", "test"))
    if not checks:
        raise ConfigError(
            f"no photos to check the export against: {model_dir} has no split.csv with "
            "validation or test photos on disk; give check=PHOTOS"
        )
    calibration: list[Path] = []
    if quantize:
        calibration = _photo_paths(calibrate) if calibrate else run_photos(model_dir, ("train",))
        if not calibration:
            raise ConfigError("no training photos to calibrate on; give calibrate=PHOTOS")
    net, info = load_model(model_dir)
    with tempfile.TemporaryDirectory(prefix="vitiseg-export-") as tmp:
        fp32 = out if not quantize else Path(tmp) / ONNX_FILE
        log(f"exporting {info.spec.arch}/{info.spec.encoder} to ONNX (opset {OPSET})...")
        export_onnx(net, info, fp32, weights=weights_digest(model_dir / "model.safetensors"))
        if quantize:
            log(
                f"quantising to int8, calibrated on {min(len(calibration), calibration_photos)} photo(s)..."
            )
            quantize_int8(fp32, out, _read(calibration[:calibration_photos]))
        reference = Predictor(net, info, "cpu", tile=tile, precision="32")
        candidate = Predictor(OnnxBackend(out), info, "cpu", tile=tile)
        photos = _read(checks[:check_photos])
        share = parity(
            photos, lambda p: reference.predict(p).mask, lambda p: candidate.predict(p).mask
        )
    log(f"class masks agree with PyTorch fp32 on {100 * share:.3f} % of the pixels of "
        f"{len(photos)} photo(s)")  # fmt: skip
    if not quantize and share < PARITY_TARGET:
        out.unlink(missing_ok=True)
        raise WeightsError(
            f"the ONNX model agrees with PyTorch on only {100 * share:.3f} % of pixels "
            f"(needed {100 * PARITY_TARGET:.1f} %); {out} removed"
        )
    return out, share
