"""Procedural vineyard photos with exact masks: the demo's data, and test data anywhere.

A side view of a trellised vine row, as fixed field cameras see it: sky and far rows,
textured ground, posts and wires, trunks rising to a cordon, and a canopy of leaves of
varying green, size and shade, with gaps. Classes follow the seed: 0 background
(sky, ground, posts, wires), 1 leaves, 2 wood (trunks and cordons). Each photo is also
written as a colour annotation in the seed's convention (white background, blue leaves,
red trunks, green cordons) for ``vitiseg masks convert --preset seed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from vitiseg.util.atomic import atomic_path

CLASS_NAMES = ("background", "leaf", "wood")
BACKGROUND, LEAF, WOOD = 0, 1, 2
ANNOTATION_COLOURS = {
    "background": (255, 255, 255),
    "leaf": (0, 0, 255),
    "trunk": (255, 0, 0),
    "cordon": (0, 255, 0),
}


@dataclass
class Canvas:
    """A photo being drawn, its class mask and its colour annotation."""

    photo: np.ndarray
    mask: np.ndarray
    annotation: np.ndarray

    @classmethod
    def blank(cls, width: int, height: int) -> Canvas:
        """A ``width`` x ``height`` canvas: black photo, background mask, white annotation."""
        return cls(
            np.zeros((height, width, 3), np.uint8),
            np.zeros((height, width), np.uint8),
            np.full((height, width, 3), 255, np.uint8),
        )


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Noise in [-1, 1] varying over about ``cell`` pixels."""
    small = rng.uniform(-1, 1, (max(2, height // cell), max(2, width // cell))).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def _sky_and_ground(canvas: Canvas, rng: np.random.Generator, horizon: int) -> None:
    height, width = canvas.mask.shape
    top, low = np.array([110, 160, 225]), np.array([200, 220, 240])
    t = np.linspace(0, 1, horizon)[:, None, None]
    canvas.photo[:horizon] = (top * (1 - t) + low * t).astype(np.uint8)
    clouds = np.clip(_smooth_noise(rng, horizon, width, 40), 0, 1)[..., None] * 60
    canvas.photo[:horizon] = np.clip(canvas.photo[:horizon] + clouds, 0, 255).astype(np.uint8)
    far = horizon - rng.integers(8, 25) + (_smooth_noise(rng, 1, width, 60)[0] * 6).astype(int)
    soil = np.array(rng.choice([[120, 95, 70], [150, 125, 90], [105, 90, 60]]), np.float32)
    texture = _smooth_noise(rng, height, width, 6) * 18 + _smooth_noise(rng, height, width, 50) * 22
    grass = np.clip(_smooth_noise(rng, height, width, 30), 0, 1)[..., None] * np.array(
        [-40, 25, -40]
    )
    ground = soil + texture[..., None] + grass
    rows = np.arange(height)[:, None]
    below = rows >= far[None, :]
    canvas.photo[below] = np.clip(ground[below], 0, 255).astype(np.uint8)
    # far vine rows: dark green bands near the horizon, background for the mask
    for band in range(3):
        y = horizon - 6 + band * 7
        thickness = 3 + band * 2
        colour = (np.array([45, 75, 40]) * (0.8 + 0.15 * band)).astype(int).tolist()
        ys = (y + _smooth_noise(rng, 1, width, 20)[0] * 2).astype(int)
        for x in range(0, width, 2):
            cv2.line(canvas.photo, (x, int(ys[x])), (x, int(ys[x]) + thickness), colour, 2)


def _trellis(
    canvas: Canvas, rng: np.random.Generator, ground_line: int, cordon_y: int, posts: list[int]
) -> None:
    height, width = canvas.mask.shape
    post_colour = rng.choice([[150, 150, 150], [110, 85, 60]]).tolist()
    post_top = cordon_y - rng.integers(height // 6, height // 4)
    for x in posts:
        cv2.rectangle(canvas.photo, (x - 4, post_top), (x + 4, ground_line + 6), post_colour, -1)
        cv2.line(
            canvas.photo,
            (x - 3, post_top),
            (x - 3, ground_line + 6),
            [min(255, c + 40) for c in post_colour],
            1,
        )
    for wire_y in (cordon_y - 2, cordon_y - (cordon_y - post_top) // 2, post_top + 6):
        sag = rng.integers(0, 4)
        for x0, x1 in zip([0, *posts], [*posts, width], strict=True):
            mid = (x0 + x1) // 2
            points = np.array([[x0, wire_y], [mid, wire_y + sag], [x1, wire_y]], np.int32)
            cv2.polylines(canvas.photo, [points], False, (70, 70, 70), 1, cv2.LINE_AA)


def _wood(
    canvas: Canvas, rng: np.random.Generator, ground_line: int, cordon_y: int, trunks: list[int]
) -> None:
    width = canvas.mask.shape[1]
    bark = np.array(rng.choice([[95, 70, 50], [80, 60, 45], [110, 85, 60]]))
    for x in trunks:
        thickness = int(rng.integers(7, 13))
        points = [
            (x + int(rng.integers(-4, 5)), y)
            for y in np.linspace(ground_line + 4, cordon_y, 6).astype(int)
        ]
        colour = np.clip(bark + rng.integers(-15, 15, 3), 0, 255).tolist()
        for a, b in zip(points, points[1:], strict=False):
            cv2.line(canvas.photo, a, b, colour, thickness)
            cv2.line(canvas.mask, a, b, WOOD, thickness)
            cv2.line(canvas.annotation, a, b, ANNOTATION_COLOURS["trunk"], thickness)
    ys = cordon_y + (_smooth_noise(rng, 1, width, 80)[0] * 4).astype(int)
    xs = np.arange(min(trunks) - 40, max(trunks) + 40, 6).clip(0, width - 1)
    thickness = int(rng.integers(5, 9))
    for a, b in zip(xs, xs[1:], strict=False):
        colour = np.clip(bark + rng.integers(-12, 12, 3), 0, 255).tolist()
        cv2.line(canvas.photo, (int(a), int(ys[a])), (int(b), int(ys[b])), colour, thickness)
        cv2.line(canvas.mask, (int(a), int(ys[a])), (int(b), int(ys[b])), WOOD, thickness)
        cv2.line(
            canvas.annotation,
            (int(a), int(ys[a])),
            (int(b), int(ys[b])),
            ANNOTATION_COLOURS["cordon"],
            thickness,
        )


def _canopy(
    canvas: Canvas, rng: np.random.Generator, cordon_y: int, top: int, leaf_size: float
) -> None:
    height, width = canvas.mask.shape
    density = _smooth_noise(rng, 1, width, 50)[0]  # gaps where it is low
    gap_level = rng.uniform(-0.6, -0.1)
    hue = rng.uniform(0.85, 1.15)
    count = int(width * (cordon_y - top) / (leaf_size**2) * 1.6)
    for _ in range(count):
        x = int(rng.integers(0, width))
        if density[x] < gap_level:
            continue
        y = int(rng.normal((top + cordon_y) / 2, (cordon_y - top) / 3.2))
        if not top - leaf_size < y < cordon_y + leaf_size * 1.5:
            continue
        axes = (int(leaf_size * rng.uniform(0.6, 1.2)), int(leaf_size * rng.uniform(0.45, 0.9)))
        shade = np.clip(
            0.55 + 0.6 * (1 - (y - top) / max(1, cordon_y - top)) + rng.normal(0, 0.12), 0.35, 1.25
        )
        green = np.array([60 * hue, 140, 45 / hue]) * shade + rng.normal(0, 10, 3)
        colour = np.clip(green, 0, 255).tolist()
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(canvas.photo, (x, y), axes, angle, 0, 360, colour, -1, cv2.LINE_AA)
        vein = np.clip(np.array(colour) * 0.75, 0, 255).tolist()
        cv2.ellipse(canvas.photo, (x, y), (axes[0], 1), angle, 0, 360, vein, 1)
        cv2.ellipse(canvas.mask, (x, y), axes, angle, 0, 360, LEAF, -1)
        cv2.ellipse(canvas.annotation, (x, y), axes, angle, 0, 360, ANNOTATION_COLOURS["leaf"], -1)


def _light(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = photo.shape[:2]
    gain = rng.uniform(0.75, 1.2)
    side = np.linspace(rng.uniform(0.85, 1.0), rng.uniform(0.95, 1.1), width)[None, :, None]
    warmth = np.array([rng.uniform(0.95, 1.08), 1.0, rng.uniform(0.9, 1.05)])
    lit = photo.astype(np.float32) * gain * side * warmth + rng.normal(0, 3, photo.shape)
    return np.clip(lit, 0, 255).astype(np.uint8)


def draw_vineyard(width: int = 512, height: int = 384, seed: int = 0) -> Canvas:
    """Draw one vineyard photo with its mask and colour annotation (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    canvas = Canvas.blank(width, height)
    horizon = int(height * rng.uniform(0.22, 0.36))
    _sky_and_ground(canvas, rng, horizon)
    ground_line = int(height * rng.uniform(0.78, 0.9))
    cordon_y = int(height * rng.uniform(0.55, 0.66))
    spacing = int(width * rng.uniform(0.16, 0.28))
    offset = int(rng.integers(0, spacing))
    trunks = [
        x for x in range(offset, width + spacing, spacing) if 0 <= x < width and rng.random() > 0.1
    ]
    trunks = trunks or [width // 2]
    posts = list(
        range(int(rng.integers(10, width // 3)), width, int(width * rng.uniform(0.45, 0.7)))
    )
    _trellis(canvas, rng, ground_line, cordon_y, posts)
    _wood(canvas, rng, ground_line, cordon_y, trunks)
    canopy_top = int(horizon + (cordon_y - horizon) * rng.uniform(0.0, 0.35))
    _canopy(canvas, rng, cordon_y, canopy_top, leaf_size=height * rng.uniform(0.018, 0.03))
    canvas.photo = _light(canvas.photo, rng)
    return canvas


def write_synthetic(
    out: str | Path, n: int = 40, size: tuple[int, int] = (512, 384), seed: int = 0
) -> list[str]:
    """Write ``n`` photos ``OUT/vineyard_XXX.jpg`` + ``_bin.png`` masks + ``OUT/annotations/``.

    Returns the names written.
    """
    out = Path(out)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    names = []
    for index in tqdm(range(n), desc="Drawing vineyards", unit="photo", disable=None, leave=False):
        canvas = draw_vineyard(*size, seed=seed * 100_003 + index)
        name = f"vineyard_{index:03d}"
        for path, array, fmt in (
            (out / f"{name}.jpg", canvas.photo, "JPEG"),
            (out / f"{name}_bin.png", canvas.mask, "PNG"),
            (out / "annotations" / f"{name}.png", canvas.annotation, "PNG"),
        ):
            with atomic_path(path) as tmp:
                Image.fromarray(array).save(
                    tmp, format=fmt, **({"quality": 92} if fmt == "JPEG" else {})
                )
        names.append(name)
    return names
