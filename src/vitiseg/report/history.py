"""The training table in the seed's layout, and its 2x2 plot."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from vitiseg.training.metrics import METRICS  # noqa: E402
from vitiseg.util.atomic import atomic_path  # noqa: E402


def is_history(history: object) -> bool:
    """Whether ``history`` (read from ``history.json``) has the shape training writes: a
    list of epochs, each with its number and, for train and val, every metric for the
    same classes."""
    first = history[0] if isinstance(history, list) and history else None
    stage = first.get("val") if isinstance(first, dict) else None
    values = stage.get(METRICS[0]) if isinstance(stage, dict) else None
    num_classes = len(values) if isinstance(values, list) else -1

    def per_class(stage: object) -> bool:
        return isinstance(stage, dict) and all(
            isinstance(stage.get(m), list)
            and len(stage[m]) == num_classes
            and all(v is None or isinstance(v, int | float) for v in stage[m])
            for m in METRICS
        )

    return isinstance(history, list) and all(
        isinstance(row, dict)
        and isinstance(row.get("epoch"), int)
        and per_class(row.get("train"))
        and per_class(row.get("val"))
        for row in history
    )


def history_frame(history: list[dict], num_classes: int) -> pd.DataFrame:
    """One row per epoch; columns (metric, ``Class i``, Train/Val) as the seed's CSV."""
    columns = pd.MultiIndex.from_product(
        [list(METRICS), [f"Class {i}" for i in range(num_classes)], ["Train", "Val"]]
    )
    rows = [
        [
            row[stage][metric][c]
            for metric in METRICS
            for c in range(num_classes)
            for stage in ("train", "val")
        ]
        for row in history
    ]
    index = pd.Index([row["epoch"] for row in history], name="Epoch")
    return pd.DataFrame(rows, columns=columns, index=index)


def read_history_csv(path: str | Path) -> pd.DataFrame:
    """Read a ``Train_NAME.csv`` back with its three header rows."""
    return pd.read_csv(path, header=[0, 1, 2], index_col=0)


def plot_history(frame: pd.DataFrame, path: Path, class_names: list[str]) -> None:
    """The seed's 2x2 figure (IoU, Accuracy, Precision, Recall per class), at a readable size."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 9), sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes.flat, METRICS, strict=True):
        for c, class_name in enumerate(class_names):
            colour = colours[c % len(colours)]
            for stage, style in (("Train", "--"), ("Val", "-")):
                series = frame[(metric, f"Class {c}", stage)]
                ax.plot(
                    frame.index,
                    series,
                    style,
                    color=colour,
                    label=f"{class_name} ({stage.lower()})",
                )
        ax.set_title(metric)
        ax.set_xlabel("Epoch")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0, 0].legend(fontsize=8, ncol=2)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
