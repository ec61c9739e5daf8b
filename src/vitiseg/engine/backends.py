"""Which engine runs the network: PyTorch, or ONNX Runtime on an exported ONNX file.

:class:`OnnxBackend` is a callable from a batch of windows (N, 3, h, w) of pixel values
0-255 to float32 logits (N, C, h, w); :class:`vitiseg.engine.tiling.Predictor` uses it in
place of a PyTorch network, with the same tiling, blending, flip TTA and scale.

``auto`` chooses by measurement (``python benchmarks/predict.py``, README "Predict on a
CPU without bf16"): on a GPU, and on a CPU with native bf16, PyTorch; on a CPU without
bf16, the ONNX file exported beside the model (``model.int8.onnx``, else ``model.onnx``)
through ONNX Runtime when there is one and onnxruntime is installed, else PyTorch fp32.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vitiseg.config import BACKENDS
from vitiseg.engine.network import ModelInfo, load_model, resolve_model_dir
from vitiseg.engine.onnx_contract import (
    EXTRA_HINT,
    INPUT,
    ONNX_BESIDE_MODEL,
    OUTPUT,
    is_onnx_file,
    read_onnx_info,
    require_onnx,
    weights_digest,
)
from vitiseg.errors import ConfigError, WeightsError
from vitiseg.util.hardware import cpu_has_bf16, inference_precision, resolve_device


class OnnxBackend:
    """An ONNX Runtime session over a vitiseg ONNX file.

    Args:
        path: the ``.onnx`` file written by ``vitiseg export``.
        device: ``cpu``, or ``cuda`` where onnxruntime-gpu provides CUDA.
        threads: intra-op threads (None: as many as PyTorch uses, one per core by default).

    Raises:
        ConfigError: onnxruntime is not installed (names the extra).
        WeightsError: not a vitiseg ONNX file, or one this ONNX Runtime cannot run.
    """

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        require_onnx("onnxruntime", "onnx")
        import onnxruntime as ort  # optional (the onnx extra): checked just above

        self.path = Path(path)
        self.info: ModelInfo = read_onnx_info(path)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads or torch.get_num_threads()
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0][:300]
            raise WeightsError(
                f"{path}: ONNX Runtime {ort.__version__} cannot run this file ({first}); "
                "export it again with this vitiseg, or upgrade onnxruntime"
            ) from None
        meta = self.session.get_modelmeta().custom_metadata_map
        self.quantized = meta.get("vitiseg.quantized", "none") != "none"
        self.weights_sha256 = meta.get("vitiseg.weights_sha256", "")
        """The SHA-256 of the safetensors file it was exported from ('' if not recorded)."""
        self.output_stride = int(meta["vitiseg.output_stride"])  # sides: multiples of it

    @property
    def name(self) -> str:
        """The backend as messages name it, e.g. ``onnxruntime int8 (model.int8.onnx)``."""
        return f"onnxruntime {'int8' if self.quantized else 'fp32'} ({self.path.name})"

    def __call__(self, windows: torch.Tensor) -> torch.Tensor:
        """Pixel values 0-255 (N, 3, h, w), any dtype -> float32 logits (N, C, h, w)."""
        x = np.ascontiguousarray(windows.cpu().numpy(), np.float32)
        return torch.from_numpy(self.session.run([OUTPUT], {INPUT: x})[0])


@dataclass
class Engine:
    """What runs the model: network or ONNX backend, its facts, device, precision, name."""

    model: torch.nn.Module | OnnxBackend
    info: ModelInfo
    device: torch.device
    precision: str
    name: str
    reason: str


def _onnx_beside(path: Path, strict: bool = False) -> Path | None:
    """The exported ONNX file beside a model, if it was exported from these weights.

    Raises:
        WeightsError: with ``strict``, an ONNX file is there but cannot be read (without
            it, the file is named in a note and skipped).
    """
    try:
        directory = resolve_model_dir(path)
    except WeightsError:
        return None
    found = [directory / n for n in ONNX_BESIDE_MODEL if (directory / n).is_file()]
    if not found or importlib.util.find_spec("onnx") is None:
        return None
    import onnx  # optional (the onnx extra): found just above

    digest = weights_digest(directory / "model.safetensors")
    for onnx_path in found:
        try:
            meta = {
                p.key: p.value
                for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props
            }
        except Exception as exc:  # protobuf and onnx fail in many ways on a corrupt file
            reason = f"{onnx_path}: unreadable ONNX file ({exc.__class__.__name__})"
            if strict:
                raise WeightsError(
                    f"{reason}; export it again with `vitiseg export {directory} --format onnx`"
                ) from None
            print(f"note: {reason}; not used")
            continue
        if meta.get("vitiseg.weights_sha256") == digest:
            return onnx_path
        print(
            f"note: {onnx_path} was exported from other weights than {directory / 'model.safetensors'}; not used"
        )
    return None


def _onnxruntime_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def load_engine(model_path: str | Path, backend: str, device: str, precision: str) -> Engine:
    """Load ``model_path`` (run folder, model folder, or ``.onnx`` file) for ``backend``.

    A 16-bit ``precision`` asked for (not ``auto``) runs PyTorch: ONNX Runtime runs fp32.

    Raises:
        ConfigError: an unknown backend, a backend that does not fit the file or the
            precision, or onnxruntime missing (names the extra to install).
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend={backend!r}: choose from {', '.join(BACKENDS)}")
    path = Path(model_path)
    is_onnx = is_onnx_file(path)
    torch_device = resolve_device(device)
    if is_onnx and backend == "torch":
        raise ConfigError(f"{path} is an ONNX file: use backend=onnxruntime (or auto)")
    half = precision != "auto" and inference_precision(precision, torch_device) != "32"
    if half and (is_onnx or backend == "onnxruntime"):
        raise ConfigError(
            f"precision={precision}: ONNX Runtime runs the exported file in fp32 (int8 when "
            "quantised), never 16-bit; give precision=32 or auto, or the model's folder "
            "with backend=torch"
        )
    if is_onnx or backend == "onnxruntime":
        if not _onnxruntime_installed():
            raise ConfigError(f"backend=onnxruntime needs onnxruntime; {EXTRA_HINT}")
        onnx_path = path if is_onnx else _onnx_beside(path, strict=True)
        if onnx_path is None:
            raise ConfigError(
                f"{path}: no model.onnx here; run `vitiseg export {path} --format onnx` "
                "first, or give --model FILE.onnx"
            )
        engine = OnnxBackend(onnx_path, str(torch_device))
        reason = "asked for" if backend == "onnxruntime" else "an ONNX file was given"
        return Engine(engine, engine.info, torch.device("cpu"), "32", engine.name, reason)
    if backend == "auto" and torch_device.type == "cpu" and not cpu_has_bf16() and not half:
        onnx_path = _onnx_beside(path)
        if onnx_path is not None and _onnxruntime_installed():
            engine = OnnxBackend(onnx_path)
            reason = "fastest measured on a CPU without bf16"
            return Engine(engine, engine.info, torch_device, "32", engine.name, reason)
    net, info = load_model(path)
    chosen = inference_precision(precision, torch_device)
    if backend == "torch":
        reason = "asked for"
    elif torch_device.type == "cpu" and not cpu_has_bf16():
        reason = (
            "CPU without bf16; `vitiseg export MODEL --format onnx --quantize int8 "
            "--calibrate PHOTOS` and onnxruntime make it faster"
        )
    else:
        reason = "bf16 on this CPU" if torch_device.type == "cpu" else "GPU"
    return Engine(net, info, torch_device, chosen, f"torch {chosen}", reason)
