"""Option types checked against the engine and the hardware: architecture, encoder,
encoder weights, device, Lightning strategy (each imports its library on first use, not at
``--help`` time)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from vitiseg.cli.options import MISSING_PATH, typed
from vitiseg.engine.bundled import NAME as BUNDLED


def _model(text: str) -> str:
    if text == BUNDLED or Path(text).exists():
        return text
    raise argparse.ArgumentTypeError(
        f"{text}: no such file or folder (give a run folder, a model folder or .onnx file, "
        f"or {BUNDLED} for the model that ships with vitiseg)"
    )


model = typed(_model, "model", (MISSING_PATH,))
"""A trained model: a run or model folder, a ``.onnx`` file, or the bundled ``vineyard``."""
BUNDLED_HELP = (
    "run folder, model.safetensors with its model.json, a FILE.onnx from `vitiseg export`, "
    "or vineyard: the vineyard model that ships with vitiseg (docs/model-card.md; the default)"
)


def bundled_note() -> str:
    """The line saying the bundled model predicts (no ``--model`` given)."""
    return (
        f"model: vitiseg's bundled {BUNDLED} model (5 classes, docs/model-card.md); "
        "--model RUN for one trained on your photos"
    )


def _device(text: str) -> str:
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r}: give auto, cpu, cuda, cuda:N or mps")
    return text


device = typed(_device, "device", ("gpu7",))


def _strategy(text: str) -> str:
    from lightning.pytorch.strategies import (
        StrategyRegistry,
    )  # Lightning: only when the option is given

    known = ["auto", *StrategyRegistry.available_strategies()]
    if text not in known:
        raise argparse.ArgumentTypeError(f"{text!r}: choose one of {', '.join(sorted(known))}")
    return text


strategy = typed(_strategy, "strategy", ("no-such-strategy",))


def _architecture(text: str) -> str:
    from vitiseg.engine.network import ARCHITECTURES  # torch: only when the option is given

    if text not in ARCHITECTURES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: choose from {', '.join(sorted(ARCHITECTURES))}"
        )
    return text


architecture = typed(_architecture, "architecture", ("NoSuchNet",))


def _encoder(text: str) -> str:
    from vitiseg.engine.network import encoder_problem  # torch: only when the option is given

    problem = encoder_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


encoder = typed(
    _encoder, "encoder", ("no-such-encoder", "tu-no-such-model", "tu-vit_tiny_patch16_224")
)


def _encoder_weights(text: str) -> str:
    if text in ("imagenet", "none") or Path(text).is_file():
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: give imagenet, none, or an existing weights file")


encoder_weights = typed(_encoder_weights, "weights", (MISSING_PATH,))
