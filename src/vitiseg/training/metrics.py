"""Per-class figures from one confusion matrix accumulated over a whole epoch or test set.

The matrix has rows = true class, columns = predicted class. A figure whose denominator
is zero (e.g. precision of a class never predicted) is NaN, and means skip NaNs: an
absent class neither helps nor hurts, unlike the seed's zeros.
"""

from __future__ import annotations

import torch

METRICS = ("IoU", "Accuracy", "Precision", "Recall")


def _check(confusion: torch.Tensor) -> torch.Tensor:
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion matrix must be square (C, C), got {tuple(confusion.shape)}")
    return confusion.double()


def _counts(confusion: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """True positives, false positives, false negatives, true negatives per class."""
    cm = _check(confusion)
    tp = cm.diagonal()
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    tn = cm.sum() - tp - fp - fn
    return tp, fp, fn, tn


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / den.clamp(min=1), torch.full_like(num, float("nan")))


def iou(confusion: torch.Tensor) -> torch.Tensor:
    """TP / (TP + FP + FN) per class.

    Example:
        >>> iou(torch.tensor([[3, 1], [0, 4]])).tolist()
        [0.75, 0.8]
    """
    tp, fp, fn, _ = _counts(confusion)
    return _ratio(tp, tp + fp + fn)


def precision(confusion: torch.Tensor) -> torch.Tensor:
    """TP / (TP + FP) per class."""
    tp, fp, _, _ = _counts(confusion)
    return _ratio(tp, tp + fp)


def recall(confusion: torch.Tensor) -> torch.Tensor:
    """TP / (TP + FN) per class."""
    tp, _, fn, _ = _counts(confusion)
    return _ratio(tp, tp + fn)


def accuracy(confusion: torch.Tensor) -> torch.Tensor:
    """(TP + TN) / all pixels per class (one-vs-rest, as the seed defines it)."""
    tp, fp, fn, tn = _counts(confusion)
    return _ratio(tp + tn, tp + fp + fn + tn)


def f1(confusion: torch.Tensor) -> torch.Tensor:
    """2 TP / (2 TP + FP + FN) per class (the Dice score)."""
    tp, fp, fn, _ = _counts(confusion)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def per_class(confusion: torch.Tensor) -> dict[str, list[float]]:
    """The seed's four figures per class, keyed by name in :data:`METRICS` order."""
    functions = {"IoU": iou, "Accuracy": accuracy, "Precision": precision, "Recall": recall}
    return {name: functions[name](confusion).tolist() for name in METRICS}


def nanmean(values: list[float]) -> float:
    """Mean over the defined (non-NaN) values; NaN if none is."""
    tensor = torch.tensor(values, dtype=torch.float64)
    return float(tensor.nanmean())
