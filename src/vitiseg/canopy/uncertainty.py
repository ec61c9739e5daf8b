"""How unsure a model is about a photo, and which photos to label next.

The per-photo uncertainty is the class-balanced mean of the normalised pixel entropy:

    h(x) = -sum_c p_c(x) log p_c(x) / log C                 (0: certain, 1: uniform)
    u    = mean over the classes k the model predicts of mean_{x predicted k} h(x)

Each predicted class weighs the same, whatever its area, as in the mean IoU the photo
will be scored with: a thin trunk the model hesitates over counts as much as the wide
sky it is sure of. On the shared validation photos this ranks the photos the model gets
wrong (Spearman rho +0.76 with 1 - mIoU) where the plain mean entropy did not (-0.36):
`benchmarks/uncertainty.py`. With ``--tta`` the probabilities are those of the
averaged (photo + mirror) logits.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import torch

from vitiseg.data.photos import camera_in_name


class ClassEntropy:
    """Accumulates, band by band, each predicted class's pixels and their entropy.

    Example:
        >>> meter = ClassEntropy(2)
        >>> meter.add(torch.zeros(2, 1, 3))  # uniform: entropy 1 on every pixel
        >>> meter.value()
        1.0
    """

    def __init__(self, classes: int) -> None:
        if classes < 2:
            raise ValueError(f"entropy needs at least 2 classes, got {classes}")
        self.classes = classes
        self.sums = torch.zeros(classes, dtype=torch.float64)
        self.counts = torch.zeros(classes, dtype=torch.float64)

    def add(self, logits: torch.Tensor, predicted: torch.Tensor | None = None) -> None:
        """Add a band of logits (C, H, W); ``predicted`` is its argmax, if already known."""
        if logits.ndim != 3 or logits.shape[0] != self.classes:
            raise ValueError(f"logits must be ({self.classes}, H, W), got {tuple(logits.shape)}")
        log_p = logits.float().log_softmax(0)
        entropy = (-(log_p.exp() * log_p).sum(0) / math.log(self.classes)).flatten().double()
        predicted = (logits.argmax(0) if predicted is None else predicted).flatten().cpu()
        self.sums += torch.bincount(predicted, weights=entropy.cpu(), minlength=self.classes)
        self.counts += torch.bincount(predicted, minlength=self.classes).double()

    def value(self) -> float:
        """The mean over predicted classes of their pixels' mean entropy."""
        present = self.counts > 0
        return float((self.sums[present] / self.counts[present]).mean())


def camera_of(file: str, pattern: str | None = None) -> str:
    """The camera a photo comes from (:func:`vitiseg.data.photos.camera_in_name`), else its
    file name (a photo alone in its group).

    Example:
        >>> camera_of("vines/4j7g2wk9_2024-04-19_104603.jpg"), camera_of("IMG_0001.jpg")
        ('4j7g2wk9', 'IMG_0001')
    """
    return camera_in_name(file, pattern) or Path(file).stem


def select_photos(rows: list[dict], k: int, camera_pattern: str | None = None) -> list[dict]:
    """The ``k`` photos most worth labelling: most uncertain, spread over cameras and dates.

    Photos are grouped by (camera, day); groups are visited in the order of their most
    uncertain photo, taking one photo per group per round (each time its most uncertain
    one not taken yet), so a single camera or day cannot fill the list while others wait.
    Rows need ``file``, ``datetime`` (ISO, may be empty) and ``uncertainty``.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: -float(r["uncertainty"])):
        groups[(camera_of(row["file"], camera_pattern), str(row["datetime"])[:10])].append(row)
    ordered = sorted(groups.values(), key=lambda g: -float(g[0]["uncertainty"]))
    chosen: list[dict] = []
    for round_ in range(max(len(g) for g in ordered) if ordered else 0):
        for group in ordered:
            if round_ < len(group) and len(chosen) < k:
                row = group[round_]
                chosen.append(
                    {"rank": len(chosen) + 1, "file": row["file"],
                     "uncertainty": row["uncertainty"],
                     "camera": camera_of(row["file"], camera_pattern),
                     "date": str(row["datetime"])[:10]}
                )  # fmt: skip
    return chosen
