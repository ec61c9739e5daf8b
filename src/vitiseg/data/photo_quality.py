"""Photo quality checks of a camera's season, measured on a grey thumbnail of each photo.

The thumbnail is :data:`THUMB_WIDTH` pixels wide. A photo is dropped when it is:

- ``too dark``: mean grey level below :data:`DARK` (of 255);
- ``over-exposed``: more than :data:`OVEREXPOSED` of the pixels at :data:`WHITE` or above;
- ``blurred``: sharpness (variance of the Laplacian) below :data:`BLUR` times the median
  sharpness of the camera's photos;
- ``camera moved``: the view (edges, phase correlation) jumped by more than :data:`MOVED`
  of the width since the closest of the camera's last three well-exposed photos (a photo
  after a one-off jump or a blurred photo is not flagged). Comparing with the previous
  photos rather than the first keeps a growing canopy from looking like a move, which
  allows a finer threshold: a 15 % crop-and-resize shifts the view by about 9 %. On the
  55 shared field photos (``python benchmarks/camera_moved.py``), against the first photo
  with a 10 % threshold, 5 photos were flagged, 2 of them of a camera whose posts had not
  moved; now 5 again, all of the camera whose view visibly jumps (an upside-down first
  photo, a close-up of weeds...), none of the two static cameras.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from vitiseg.errors import DataError

DARK = 40.0
WHITE = 250
OVEREXPOSED = 0.25
BLUR = 0.35
MOVED = 0.05
THUMB_WIDTH = 320
QUALITY_COLUMNS = ("brightness", "overexposed", "sharpness", "shift")


def thumbnail(path: str | Path) -> np.ndarray:
    """A grey float32 picture of the photo :data:`THUMB_WIDTH` pixels wide (JPEGs decoded
    at reduced size)."""
    with Image.open(path) as image:
        width, height = image.size
        image.draft("L", (THUMB_WIDTH, max(1, height * THUMB_WIDTH // width)))
        grey = image.convert("L")
        size = (THUMB_WIDTH, max(1, round(grey.height * THUMB_WIDTH / grey.width)))
        return np.asarray(grey.resize(size, Image.Resampling.BOX), np.float32)


def _edges(grey: np.ndarray) -> np.ndarray:
    return cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))


def _view_shift(reference: np.ndarray, edges: np.ndarray, window: np.ndarray) -> float:
    """How far the view moved between two edge pictures, as a share of their width."""
    (dx, dy), _ = cv2.phaseCorrelate(reference, edges, window)
    return math.hypot(dx, dy) / edges.shape[1]


def measure_quality(files: pd.Series, camera: pd.Series, day: pd.Series) -> pd.DataFrame:
    """Per photo: ``brightness`` (mean grey), ``overexposed`` (share at :data:`WHITE`+),
    ``sharpness`` (variance of the Laplacian) and ``shift`` (view shift from the closest of
    the camera's last three well-exposed photos, as a share of the thumbnail's width; nan
    for its first).

    Raises:
        DataError: a photo that is missing or unreadable.
    """
    measures = pd.DataFrame(index=files.index, columns=list(QUALITY_COLUMNS), dtype=float)
    references: dict[str, np.ndarray] = {}
    order = day.sort_values(kind="stable").index
    for i in tqdm(
        order, desc="Checking photos", unit="photo", disable=True if len(order) < 50 else None
    ):
        try:
            grey = thumbnail(files[i])
        except (OSError, ValueError) as exc:
            raise DataError(
                f"{files[i]}: cannot read the photo for the quality checks ({exc}); give "
                "quality_checks=False to summarise without them"
            ) from None
        brightness = float(grey.mean())
        overexposed = float((grey >= WHITE).mean())
        edges = _edges(grey)
        shift = math.nan
        good = brightness >= DARK and overexposed <= OVEREXPOSED
        earlier = [r for r in references.get(camera[i], []) if r.shape == edges.shape]
        if earlier:
            window = cv2.createHanningWindow(edges.shape[::-1], cv2.CV_32F)
            shift = min(_view_shift(r, edges, window) for r in earlier)
        if (
            good
        ):  # the last three: a photo after a one-off jump or blur is compared with earlier ones
            references[camera[i]] = [*references.get(camera[i], [])[-2:], edges]
        measures.loc[i] = (
            brightness,
            overexposed,
            float(cv2.Laplacian(grey, cv2.CV_32F).var()),
            shift,
        )
    return measures


def quality_reasons(photos: pd.DataFrame) -> pd.Series:
    """Why each photo is dropped ('' when kept), from its quality measures and camera.

    Blur compares a photo with the median of its camera; movement with its previous
    well-exposed photo (the ``shift`` measure).
    """
    reasons = pd.Series("", index=photos.index, dtype=object)
    if not set(QUALITY_COLUMNS) <= set(photos):
        return reasons
    by_camera = photos.groupby("camera")
    sharp = by_camera["sharpness"].transform("median")
    checks = (
        (photos["brightness"] < DARK, f"too dark (mean grey {{brightness:.0f}} < {DARK:g})"),
        (photos["overexposed"] > OVEREXPOSED,
         f"over-exposed ({{overexposed:.0%}} of pixels white > {OVEREXPOSED:.0%})"),
        (photos["sharpness"] < BLUR * sharp,
         f"blurred (sharpness {{sharpness:.0f}} < {BLUR:g} x the camera's median)"),
        (photos["shift"] > MOVED,
         f"camera moved (view shifted {{shift:.1%}} of the width from the camera's last photos, > {MOVED:.0%})"),
    )  # fmt: skip
    for failed, text in checks:
        for i in photos.index[failed.fillna(False).to_numpy(bool)]:
            if not reasons[i]:
                reasons[i] = text.format(**photos.loc[i, list(QUALITY_COLUMNS)].to_dict())
    return reasons
