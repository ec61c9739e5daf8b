"""Score a model on photos with true masks: per-image table, overall figures, pictures.

Writes into ``out_dir``: ``Test_NAME.csv`` (the seed's columns per image plus an ``ALL``
row from the whole test set's confusion matrix), ``summary.json``, ``confusion.png`` and
``Predictions/NAME/IMAGE.png`` overlays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torchmetrics.functional.classification import multiclass_confusion_matrix
from tqdm import tqdm

from vitiseg.canopy import cover, trait_accuracy
from vitiseg.config import InferenceOptions
from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.data.layout import Pair
from vitiseg.data.masks import IGNORE_INDEX, remap, values_outside
from vitiseg.engine.loaded import Model
from vitiseg.errors import DataError
from vitiseg.report.confusion import plot_confusion
from vitiseg.report.overlay import overlay, side_by_side
from vitiseg.run import Run
from vitiseg.training import metrics
from vitiseg.util.atomic import atomic_path, write_text
from vitiseg.util.prefetch import prefetch

PER_CLASS = ("IoU", "Precision", "Recall", "Accuracy", "Predicted cover", "True cover")


@dataclass
class EvaluateOptions:
    """What to draw beside the metrics (canopy options belong to the :class:`Model`)."""

    side_by_side: bool = False
    overlays: bool = True


def confusion_of(truth: np.ndarray, prediction: np.ndarray, num_classes: int) -> np.ndarray:
    """Confusion matrix (rows true, columns predicted) over pixels not ignored.

    The same torchmetrics computation as training's, on one photo.
    """
    return multiclass_confusion_matrix(
        torch.from_numpy(prediction.astype(np.int64)),
        torch.from_numpy(truth.astype(np.int64)),
        num_classes,
        ignore_index=IGNORE_INDEX,
        validate_args=False,
    ).numpy()


def _row(confusion: np.ndarray, k: float, leaf: int | None) -> dict:
    cm = torch.from_numpy(confusion)
    figures = metrics.per_class(cm)
    true_cover = confusion.sum(1) / max(1, confusion.sum())
    predicted_cover = confusion.sum(0) / max(1, confusion.sum())
    row = {
        (name, f"Class {c}"): values[c]
        for name, values in (
            ("IoU", figures["IoU"]),
            ("Precision", figures["Precision"]),
            ("Recall", figures["Recall"]),
            ("Accuracy", figures["Accuracy"]),
            ("Predicted cover", predicted_cover),
            ("True cover", true_cover),
        )
        for c in range(confusion.shape[0])
    }
    if leaf is None:  # no class is leaf: no leaf cover nor LAI estimate
        return row
    row[("Leaf cover", "Predicted")] = predicted_cover[leaf]
    row[("Leaf cover", "True")] = true_cover[leaf]
    row[("LAI estimate", "Predicted")] = cover.lai_from_cover(predicted_cover[leaf], k)
    row[("LAI estimate", "True")] = cover.lai_from_cover(true_cover[leaf], k)
    return row


def _load_pair(pair: Pair, class_map) -> tuple[np.ndarray, np.ndarray]:
    image, _ = decode_image(pair.image)
    truth = remap(read_mask(pair.mask), class_map)
    if truth.shape != image.shape[:2]:
        raise DataError(f"{pair.mask}: mask size differs from its photo {pair.image.name}")
    return image, truth


def evaluate_run(run: Run, split: str = "test", **options) -> dict:
    """Score a training run's exported model on one of its splits, into the run folder
    (``Test_NAME.csv``, ``summary.json``...), as ``vitiseg train`` does after training.

    ``options`` are those of :func:`evaluate` (``options``, ``inference``).
    """
    return evaluate(run.root, run.pairs(split), run.root, run.config.name, run.class_map, **options)


def evaluate(
    model: Model | str | Path,
    pairs: list[Pair],
    out_dir: str | Path,
    name: str,
    class_map: tuple[int, ...] | None = None,
    options: EvaluateOptions | None = None,
    inference: InferenceOptions | None = None,
) -> dict:
    """Predict every pair at full resolution, score it, and write the evaluation files.

    ``model`` is a loaded :class:`~vitiseg.engine.loaded.Model` (its canopy options decide the
    leaf class and ``k``) or the path of an export, opened with ``inference``.

    Returns:
        The summary also written to ``summary.json``.
    """
    options = options or EvaluateOptions()
    if not isinstance(model, Model):
        model = Model(model, inference)
    classes, leaf, info = model.classes, model.leaf_class, model.info
    out = Run(Path(out_dir))
    total = np.zeros((classes, classes), np.int64)
    rows, index = [], []
    loaded = prefetch(pairs, lambda p: _load_pair(p, class_map))
    for pair, result in tqdm(loaded, total=len(pairs), desc="Testing", unit="image", disable=None):
        if isinstance(result, Exception):
            raise result
        image, truth = result
        if bad := values_outside(truth, classes, ignored=True):
            raise DataError(
                f"{pair.mask}: mask values {bad} are not classes of this model "
                f"(0..{classes - 1}); see class_map="
            )
        prediction = model.predict(image).mask
        confusion = confusion_of(truth, prediction, classes)
        total += confusion
        rows.append(_row(confusion, model.k, leaf))
        rows[-1] |= trait_accuracy.true_and_predicted(
            truth, prediction, image, model.roles, info.class_names
        )
        index.append(pair.name)
        if options.overlays:
            picture = (
                side_by_side(image, truth, prediction, classes)
                if options.side_by_side
                else overlay(image, prediction, classes)
            )
            with atomic_path(out.pictures(name) / f"{pair.name}.png") as tmp:
                # photos compress little: level 1 writes a full-HD side-by-side panel 2.6x
                # faster than level 6, 1 % larger (benchmarks/evaluate_pictures.py)
                Image.fromarray(picture).save(tmp, format="PNG", compress_level=1)
    rows.append(_row(total, model.k, leaf))
    index.append("ALL")
    table = pd.DataFrame(rows, index=pd.Index(index, name="Image"))
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    with atomic_path(out.test_csv(name)) as tmp:
        table.to_csv(tmp, encoding="utf-8", errors="surrogateescape")
    plot_confusion(total, info.class_names, out.confusion_plot)
    summary = _summary(total, table.iloc[:-1], info.class_names, leaf, model.k, len(pairs))
    summary["traits"] = trait_accuracy.trait_errors(table.iloc[:-1])
    write_text(out.summary, json.dumps(summary, indent=2))
    return summary


def _summary(
    total: np.ndarray,
    per_image: pd.DataFrame,
    class_names: list[str],
    leaf: int | None,
    k: float,
    n: int,
) -> dict:
    cm = torch.from_numpy(total)
    figures = {"IoU": metrics.iou(cm), "Precision": metrics.precision(cm), "Recall": metrics.recall(cm),
               "Accuracy": metrics.accuracy(cm), "F1": metrics.f1(cm)}  # fmt: skip
    per_class = {
        name: {metric: _number(values[c]) for metric, values in figures.items()}
        for c, name in enumerate(class_names)
    }
    return {
        "images": n,
        "classes": class_names,
        "leaf_class": leaf,
        "k": k,
        "per_class": per_class,
        "mean": {metric: _number(values.nanmean()) for metric, values in figures.items()},
        "leaf_cover_mae": _mae(per_image, "Leaf cover"),
        "lai_mae": _mae(per_image, "LAI estimate"),
        "confusion": total.tolist(),
    }


def _mae(per_image: pd.DataFrame, label: str) -> float | None:
    """Mean |predicted - true| of a column pair; None where the model has no such column."""
    if (label, "True") not in per_image:
        return None
    return _number((per_image[(label, "Predicted")] - per_image[(label, "True")]).abs().mean())


def _number(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def read_test_csv(path: str | Path) -> pd.DataFrame:
    """Read a ``Test_NAME.csv`` back with its two header rows."""
    return pd.read_csv(path, header=[0, 1], index_col=0)
