"""Picture of a row-normalised confusion matrix."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vitiseg.util.atomic import atomic_path  # noqa: E402


def plot_confusion(confusion: np.ndarray, class_names: list[str], path: Path) -> None:
    """Rows (true class) sum to 1; each cell shows its share."""
    totals = confusion.sum(1, keepdims=True)
    shares = np.divide(
        confusion, totals, out=np.zeros_like(confusion, dtype=float), where=totals > 0
    )
    size = 2 + 0.8 * len(class_names)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    for i in ticks:
        for j in ticks:
            colour = "white" if shares[i, j] > 0.5 else "black"
            ax.text(j, i, f"{shares[i, j]:.2f}", ha="center", va="center", color=colour, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title("Confusion matrix (rows sum to 1)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
