"""How unsure a model is about a photo, and which photos to label next.

The per-photo uncertainty is the mean over pixels of the normalised entropy of the
class probabilities:

    u = mean_pixels( -sum_c p_c log p_c ) / log C        (0: certain, 1: uniform)

With ``--tta`` the probabilities are those of the averaged (photo + mirror) logits, so a
disagreement between the two views raises the entropy too.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

import torch


def pixel_entropy_sum(logits: torch.Tensor) -> float:
    """Sum over pixels of the normalised entropy of ``softmax(logits)``; logits (C, H, W).

    Example:
        >>> pixel_entropy_sum(torch.zeros(2, 1, 3))  # uniform over 2 classes: 1 per pixel
        3.0
    """
    if logits.ndim != 3 or logits.shape[0] < 2:
        raise ValueError(f"logits must be (C >= 2, H, W), got {tuple(logits.shape)}")
    log_p = logits.float().log_softmax(0)
    entropy = -(log_p.exp() * log_p).sum(0)
    return float(entropy.sum()) / math.log(logits.shape[0])


def camera_of(file: str, pattern: str | None = None) -> str:
    """The camera a photo comes from: the first group of ``pattern`` in its file name, else
    the file name up to its first ``_`` (Agrocam's ``CAMERA_DATE_TIME.jpg``).

    Example:
        >>> camera_of("vines/4j7g2wk9_2024-04-19_104603.jpg")
        '4j7g2wk9'
    """
    name = Path(file).name
    if pattern and (match := re.search(pattern, name)):
        return match.group(1) if match.groups() else match.group(0)
    return name.split("_", 1)[0]


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
