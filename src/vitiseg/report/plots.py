"""Small figures for the report page: cover scatter, cover distribution, metric curves."""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from vitiseg.report.embed import figure_uri, png_file_uri  # noqa: E402
from vitiseg.report.history import history_frame, plot_history  # noqa: E402
from vitiseg.run import Run  # noqa: E402


def cover_scatter_uri(true: np.ndarray, predicted: np.ndarray, what: str = "Leaf cover") -> str:
    """Predicted against true values, one point per photo, with the 1:1 line.

    The title gives the mean absolute error ``mean(|p - t|)`` and the bias ``mean(p - t)``.
    """
    true, predicted = np.asarray(true, float), np.asarray(predicted, float)
    if true.shape != predicted.shape:
        raise ValueError(f"true {true.shape} and predicted {predicted.shape} differ in shape")
    error = predicted - true
    top = max(1e-6, float(np.nanmax(np.concatenate([true, predicted]), initial=0.0))) * 1.05
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot([0, top], [0, top], color="0.6", lw=1, label="1:1")
    ax.scatter(true, predicted, s=18, alpha=0.75, color="#2e7d32", edgecolor="none")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.set_xlabel(f"True {what.lower()}")
    ax.set_ylabel(f"Predicted {what.lower()}")
    ax.set_title(
        f"{what}: MAE {np.nanmean(np.abs(error)):.3f}, bias {np.nanmean(error):+.3f}", fontsize=10
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return figure_uri(fig)


def histogram_uri(values: np.ndarray, what: str, bins: int = 20) -> str:
    """Distribution of one figure over photos, with its median marked."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    ax.hist(values, bins=bins, color="#2e7d32", alpha=0.85)
    if values.size:
        median = float(np.median(values))
        ax.axvline(median, color="black", lw=1, ls="--", label=f"median {median:.3f}")
        ax.legend(fontsize=8)
    ax.set_xlabel(what)
    ax.set_ylabel("Photos")
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return figure_uri(fig)


def history_uri(history: list[dict], class_names: list[str]) -> str:
    """The four per-class curves (IoU, accuracy, precision, recall) from ``history.json``."""
    frame = history_frame(history, len(class_names))
    with tempfile.TemporaryDirectory() as folder:
        path = Run(Path(folder)).metrics_plot
        plot_history(frame, path, class_names)
        return png_file_uri(path)
