"""The ONNX file contract: tensor names, metadata keys, file names, and reading them back.

What :mod:`vitiseg.export` writes and :mod:`vitiseg.engine.backends` reads, defined once, below
both (it needs only :class:`~vitiseg.engine.network.ModelInfo`): an exported file's input is the photo's pixels
(float32 RGB 0-255, NCHW), its output the logits, and vitiseg's ``model.json`` facts and
the class palette are in its ``metadata_props``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from vitiseg.data.palette import palette
from vitiseg.engine.bundled import sha256
from vitiseg.engine.network import ModelInfo
from vitiseg.errors import ConfigError, WeightsError

ONNX_FORMAT = "vitiseg-onnx/1"
INPUT, OUTPUT = "image", "logits"
INPUT_NOTE = "float32 RGB pixel values 0-255, NCHW, height and width multiples of 32"
EXTRA_HINT = "install the onnx extra: pip install 'vitiseg[onnx]' (onnx, onnxruntime, onnxscript)"
ONNX_FILE, ONNX_INT8_FILE = "model.onnx", "model.int8.onnx"
ONNX_BESIDE_MODEL = (ONNX_INT8_FILE, ONNX_FILE)
"""File names ``vitiseg export`` writes beside a model, in the order ``predict`` prefers."""


def is_onnx_file(path: str | Path) -> bool:
    """True for a path named like an ONNX model (``.onnx``, any case), rather than a run or
    model folder."""
    return Path(path).suffix.lower() == ".onnx"


def require_onnx(*modules: str) -> None:
    """Raise ConfigError naming the extra to install when an ONNX package is missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"{', '.join(missing)} not installed; {EXTRA_HINT}")


def weights_digest(path: str | Path) -> str:
    """SHA-256 of a weights file, to tell an ONNX file exported from other weights."""
    return sha256(Path(path))


def onnx_metadata(
    info: ModelInfo, output_stride: int, quantized: str | None = None, weights: str = ""
) -> dict[str, str]:
    """The ``metadata_props`` written into an exported file (all values are strings)."""
    return {
        "vitiseg.output_stride": str(output_stride),
        "vitiseg.weights_sha256": weights,
        "vitiseg.format": ONNX_FORMAT,
        "vitiseg.model": info.to_json(),
        "vitiseg.input": INPUT_NOTE,
        "vitiseg.normalised_inside": "true",
        "vitiseg.quantized": quantized or "none",
        "class_names": json.dumps(info.class_names),
        "scale": str(info.scale),
        "palette": json.dumps(palette(info.spec.classes).tolist()),
    }


def read_onnx_info(path: str | Path) -> ModelInfo:
    """The ``model.json`` facts stored in a vitiseg ONNX file.

    Raises:
        WeightsError: not an ONNX file, or an ONNX file vitiseg did not write.
    """
    require_onnx("onnx")
    import onnx  # optional (the onnx extra): checked just above

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise WeightsError(f"{path}: not a readable ONNX file ({exc.__class__.__name__})") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    if meta.get("vitiseg.format") != ONNX_FORMAT or "vitiseg.model" not in meta:
        found = meta.get("vitiseg.format", "no vitiseg metadata")
        raise WeightsError(
            f"{path}: not a vitiseg segmentation model ({found}); "
            f"export one with `vitiseg export RUN --format onnx`"
        )
    inputs = [i.name for i in proto.graph.input]
    if inputs != [INPUT]:
        raise WeightsError(f"{path}: expected one input named {INPUT!r}, found {inputs}")
    return ModelInfo.from_json(meta["vitiseg.model"], path)
