"""Apply an exported model to many photos: masks, overlays, probabilities and canopy.csv.

Photos whose outputs already exist are skipped (their canopy row is recomputed from the
saved mask), so an interrupted run resumes where it stopped. A photo that cannot be
read is reported and skipped; the others are still processed.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from vitiseg.canopy.row import canopy_row
from vitiseg.canopy.uncertainty import select_photos
from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.data.photos import Photo
from vitiseg.engine.loaded import Model
from vitiseg.engine.network import ModelInfo
from vitiseg.errors import DataError
from vitiseg.report.overlay import overlay, palette_png
from vitiseg.run import CANOPY_TABLE, PredictFolder
from vitiseg.util.atomic import atomic_path, remove_temporaries, write_text
from vitiseg.util.prefetch import prefetch

log = logging.getLogger(__name__)

SELECTION_COLUMNS = ("rank", "file", "uncertainty", "camera", "date")


@dataclass
class PredictReport:
    """What a predict run did."""

    done: int = 0
    skipped: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0

    @classmethod
    def of_all(cls, reports: list[PredictReport]) -> PredictReport:
        """The report of processes that shared one run (their wall time: the longest)."""
        return cls(
            sum(r.done for r in reports),
            sum(r.skipped for r in reports),
            [failure for r in reports for failure in r.failed],
            max((r.seconds for r in reports), default=0.0),
        )


class PhotoPredictor:
    """Writes the outputs of one photo and gives its canopy.csv row."""

    def __init__(
        self,
        model: Model,
        out: Path,
        overlays: bool,
        probabilities: bool,
        uncertainty: bool = False,
        earlier_uncertainty: dict[str, str] | None = None,
    ) -> None:
        self.model = model
        self.uncertainty = uncertainty
        self.earlier_uncertainty = earlier_uncertainty or {}
        self.info: ModelInfo = model.info
        self.out = out
        self.folder = PredictFolder(out)
        self.overlays = overlays
        self.probabilities = probabilities

    def outputs(self, photo: Photo) -> list[Path]:
        """The files a photo gets: its mask, then its overlay and probability map if asked."""
        paths = [self.folder.mask(photo.key)]
        if self.overlays:
            paths.append(self.folder.overlay(photo.key))
        if self.probabilities:
            paths.append(self.folder.probability(photo.key))
        return paths

    def row(self, photo: Photo, mask: np.ndarray, image: np.ndarray | None = None) -> dict:
        """The photo's canopy.csv row; the photo is read again if not given (for colours)."""
        if image is None:
            image = decode_image(photo.path)[0]
        model = self.model
        row = canopy_row(photo.path, mask, image, model.roles, model.class_names, model.k)
        if earlier := self.earlier_uncertainty.get(row["file"]):
            row["uncertainty"] = earlier  # a resumed photo keeps its uncertainty
        return row

    def run(self, photo: Photo, image: np.ndarray) -> dict:
        """Predict a photo, write its outputs and return its canopy.csv row."""
        prediction = self.model.predict(
            image,
            probability_of=self.model.leaf_class if self.probabilities else None,
            uncertainty=self.uncertainty,
        )
        paths = iter(self.outputs(photo))
        _save(palette_png(prediction.mask, self.info.spec.classes), next(paths), "PNG")
        if self.overlays:
            _save(
                Image.fromarray(overlay(image, prediction.mask, self.info.spec.classes)),
                next(paths),
                "JPEG",
            )
        if self.probabilities:
            _save(Image.fromarray(prediction.probability), next(paths), "PNG")
        row = self.row(photo, prediction.mask, image)
        row.pop("uncertainty", None)  # an earlier run's, for a photo redone now
        if prediction.uncertainty is not None:
            row["uncertainty"] = round(prediction.uncertainty, 6)
        return row


def _save(picture: Image.Image, path: Path, fmt: str) -> None:
    with atomic_path(path) as tmp:
        picture.save(tmp, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))


def _read(photo: Photo) -> tuple[np.ndarray, str | None]:
    return decode_image(photo.path)


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    buffer = io.StringIO()
    columns = list(dict.fromkeys(key for row in rows for key in row))  # some rows add columns
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda r: r["file"]))
    write_text(path, buffer.getvalue())


def predict_photos(
    photos: list[Photo], worker: PhotoPredictor, overwrite: bool = False, workers: int = 2,
    table: str = CANOPY_TABLE,
) -> PredictReport:  # fmt: skip
    """Predict every photo not done yet; write ``table`` as it goes (every 20 photos)."""
    report, rows = PredictReport(), []
    planned = [(photo, worker.outputs(photo)) for photo in photos]
    outputs = [path for _, paths in planned for path in paths]
    remove_temporaries([*outputs, worker.out / table])  # left by a killed run
    todo = []
    for photo, paths in planned:
        if not overwrite and all(p.is_file() for p in paths):
            rows.append(worker.row(photo, read_mask(paths[0])))
            report.skipped += 1
        else:
            todo.append(photo)
    if report.skipped:
        log.info(
            "%d photo(s) already done in %s, skipped (--overwrite to redo them)",
            report.skipped, worker.out,
        )  # fmt: skip
    started = time.monotonic()
    bar = tqdm(
        prefetch(todo, _read, workers=workers),
        total=len(todo),
        desc="Predicting",
        unit="photo",
        disable=None,
    )
    for photo, loaded in bar:
        if isinstance(loaded, Exception):
            message = str(loaded) if isinstance(loaded, DataError) else f"{photo.path}: {loaded}"
            report.failed.append((photo.path, message))
            bar.write(f"skipped: {message}")
            continue
        image, note = loaded
        if note:
            bar.write(f"warning: {note}")
        rows.append(worker.run(photo, image))
        report.done += 1
        if report.done % 20 == 0:
            _write_csv(worker.out / table, rows)
    report.seconds = time.monotonic() - started
    _write_csv(worker.out / table, rows)
    return report


def earlier_uncertainty(out: Path) -> dict[str, str]:
    """file -> uncertainty from an earlier run's ``canopy.csv`` in ``out``, kept for the
    photos it skips."""
    table = PredictFolder(out).table
    if not table.is_file():
        return {}
    with open(table, encoding="utf-8", newline="") as handle:
        return {r["file"]: r["uncertainty"] for r in csv.DictReader(handle) if r.get("uncertainty")}


def write_selection(out: Path, k: int, camera: str | None = None) -> tuple[list[dict], int]:
    """Write ``out/select.csv``: the ``k`` photos of ``out/canopy.csv`` most worth labelling
    next (:func:`vitiseg.canopy.uncertainty.select_photos`).

    Returns:
        The chosen rows, and how many photos had no uncertainty (done by an earlier run
        without it) and were not considered.
    """
    folder = PredictFolder(out)
    with open(folder.table, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    scored = [r for r in rows if r.get("uncertainty")]
    chosen = select_photos(scored, k, camera)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, SELECTION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(chosen)
    write_text(folder.selection, buffer.getvalue())
    return chosen, len(rows) - len(scored)
