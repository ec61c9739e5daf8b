"""Training losses, computed in float32 on logits, ignoring padded pixels."""

from __future__ import annotations

import torch
from segmentation_models_pytorch import losses as smp_losses
from torch import nn

from vitiseg.data.masks import IGNORE_INDEX


class SumLoss(nn.Module):
    """Sum of several losses on the same (logits, target)."""

    def __init__(self, *parts: nn.Module) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The sum of the parts' losses on ``logits`` and ``target``."""
        return sum(part(logits, target) for part in self.parts)


def build_loss(name: str, class_weights: torch.Tensor | None = None) -> nn.Module:
    """``ce`` (weighted when weights are given), ``dice``, ``ce+dice``, ``focal``, ``lovasz``."""

    def ce() -> nn.Module:
        return nn.CrossEntropyLoss(weight=class_weights, ignore_index=IGNORE_INDEX)

    def dice() -> nn.Module:
        return smp_losses.DiceLoss("multiclass", ignore_index=IGNORE_INDEX)

    builders = {
        "ce": ce,
        "dice": dice,
        "ce+dice": lambda: SumLoss(ce(), dice()),
        "focal": lambda: smp_losses.FocalLoss("multiclass", ignore_index=IGNORE_INDEX),
        "lovasz": lambda: smp_losses.LovaszLoss("multiclass", ignore_index=IGNORE_INDEX),
    }
    if name not in builders:
        raise ValueError(f"unknown loss {name!r}; choose from {', '.join(builders)}")
    return builders[name]()
