"""Pictures as ``data:`` URIs, so a page carries them inside itself (no files, no network)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image

THUMB_WIDTH = 280
JPEG_QUALITY = 75


def data_uri(data: bytes, mime: str) -> str:
    """``data:MIME;base64,...`` for ``data`` (4/3 of its size, plus the prefix)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def png_file_uri(path: str | Path) -> str:
    """A PNG file on disk, embedded as it is."""
    return data_uri(Path(path).read_bytes(), "image/png")


def figure_uri(fig, dpi: int = 90) -> str:
    """A matplotlib figure as an embedded PNG; the figure is closed."""
    import matplotlib.pyplot as plt  # matplotlib: only for pages with figures

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return data_uri(buffer.getvalue(), "image/png")


def thumbnail(picture: np.ndarray | Image.Image, width: int = THUMB_WIDTH) -> Image.Image:
    """Shrink to ``width`` pixels wide (never enlarge), keeping the aspect ratio."""
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    if image.mode != "RGB":
        image = image.convert("RGB")
    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)


def jpeg_uri(picture: np.ndarray | Image.Image, width: int = THUMB_WIDTH) -> str:
    """A thumbnail ``width`` pixels wide as an embedded JPEG."""
    buffer = io.BytesIO()
    thumbnail(picture, width).save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return data_uri(buffer.getvalue(), "image/jpeg")


def shrink_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a class-index mask to ``size`` (width, height) by nearest neighbour."""
    return np.asarray(Image.fromarray(mask).resize(size, Image.Resampling.NEAREST))
