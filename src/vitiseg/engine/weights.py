"""Load weights from a local file into a model, by name and shape, without unpickling code.

Accepted: an smp/timm/torchvision encoder state dict, a vitiseg ``model.safetensors``,
or a Lightning ``.ckpt`` (its ``state_dict``); ``.safetensors`` or ``torch.load`` with
``weights_only=True``.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from vitiseg.errors import WeightsError

log = logging.getLogger(__name__)

_PREFIXES = ("module.", "model.", "net.", "backbone.")


@dataclass(frozen=True)
class LoadReport:
    """How a weights file matched the model."""

    loaded: int
    unmatched_in_file: int
    encoder_missing: int

    def __str__(self) -> str:
        return (
            f"loaded {self.loaded} tensors; {self.encoder_missing} encoder tensors kept their "
            f"initial values; {self.unmatched_in_file} tensors of the file were not used"
        )


def _load_plain(path: Path):
    """``torch.load`` limited to plain data; a pickle that would run code is refused."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "unsupported content"
        raise WeightsError(
            f"{path}: refused, the file holds more than tensors and loading it could run code "
            f"({reason}); save a state_dict instead"
        ) from None
    except Exception as exc:
        raise WeightsError(
            f"{path}: not a readable weights file ({exc.__class__.__name__})"
        ) from None


def check_checkpoint(path: str | Path) -> int:
    """Make sure a training checkpoint opens as plain data and holds a model's state.

    Returns:
        The number of epochs it had finished.

    Raises:
        WeightsError: missing, unreadable, code-carrying, or not a Lightning checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: checkpoint not found")
    checkpoint = _load_plain(path)
    if (
        not isinstance(checkpoint, dict)
        or "state_dict" not in checkpoint
        or "epoch" not in checkpoint
    ):
        raise WeightsError(f"{path}: not a vitiseg training checkpoint (no state_dict/epoch)")
    return int(checkpoint["epoch"]) + 1


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read tensors from a safetensors file or a weights-only torch file.

    Raises:
        WeightsError: missing file, or a pickle that needs more than plain tensors
            (which could run code, so it is refused).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    if path.suffix == ".safetensors":
        try:
            return load_file(path)
        except Exception as exc:
            raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from None
    state = _load_plain(path)
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: holds a {type(state).__name__}, not a state dict")
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def _candidates(key: str) -> list[str]:
    names = [key]
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            names.append(key[len(prefix) :])
    return names + [f"{into}{n}" for into in ("encoder.", "encoder.model.") for n in names]


def load_encoder_weights(model: torch.nn.Module, path: str | Path) -> LoadReport:
    """Copy every tensor of the file whose name and shape match one in ``model``.

    Raises:
        WeightsError: nothing in the file matches the model.
    """
    target = model.state_dict()
    matched: dict[str, torch.Tensor] = {}
    source = read_state_dict(path)
    for key, tensor in source.items():
        for name in _candidates(key):
            if name in target and target[name].shape == tensor.shape:
                matched[name] = tensor
                break
    if not matched:
        raise WeightsError(
            f"{path}: none of its {len(source)} tensors match this model's names and shapes "
            "(wrong encoder? check encoder=)"
        )
    model.load_state_dict(matched, strict=False)
    encoder_keys = [k for k in target if k.startswith("encoder.")]
    report = LoadReport(
        loaded=len(matched),
        unmatched_in_file=len(source) - len(matched),
        encoder_missing=sum(k not in matched for k in encoder_keys),
    )
    log.info("Encoder weights from %s: %s", path, report)
    return report
