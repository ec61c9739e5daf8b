"""Fine-tuning: a run that starts from a trained vitiseg model (``init=``), its network and
weights taken whole, encoder and decoder alike."""

from __future__ import annotations

import dataclasses

import torch

from vitiseg.config import TrainConfig
from vitiseg.engine.network import load_model
from vitiseg.errors import ConfigError


def from_init(config: TrainConfig) -> tuple[TrainConfig, dict[str, torch.Tensor] | None]:
    """``config`` with the network of its ``init`` model, and that model's weights (None and
    ``config`` unchanged without ``init``). A run without class names takes the model's
    when their number is the same.

    Raises:
        ConfigError: the classes differ (both lists named, and how to map them).
        WeightsError: no readable model at ``init``.
    """
    if not config.init:
        return config, None
    network, info = load_model(config.init)
    names = config.class_names or (
        info.class_names if config.classes == len(info.class_names) else None
    )
    if names != info.class_names:
        mine = ", ".join(config.names_of_classes)
        raise ConfigError(
            f"init={config.init}: its {len(info.class_names)} classes are "
            f"{', '.join(info.class_names)}; this run's {config.classes} are {mine}: give "
            f"classes={len(info.class_names)} and class_names= in its order, and class_map= to "
            "map your mask values onto its classes (e.g. class_map=0,1,4 puts raw value 2 in its class 4)"
        )
    spec = info.spec
    started = dataclasses.replace(
        config, arch=spec.arch, encoder=spec.encoder,
        decoder_channels=None if spec.decoder_channels is None else list(spec.decoder_channels),
        encoder_weights="none", class_names=list(names),
    )  # fmt: skip
    return started, network.state_dict()
