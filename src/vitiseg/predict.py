"""Apply an exported model to many photos: masks, overlays, probabilities and canopy.csv.

An output folder is a season that grows: each mask records the model that made it and the
photo it was made from (its path, size and modification time, in the PNG's text), so a
photo whose outputs exist, made by this model from this very file, is skipped (its canopy
row is recomputed from the saved mask) and an interrupted run resumes where it stopped; a
photo replaced since is redone. Masks of another model (or of a vitiseg that did not
record it) are redone only when asked (``overwrite``), and a photo whose outputs would
replace those of another photo still on disk under the same name is refused: nothing
earlier is replaced without a word. Rows of photos done by earlier runs and not given
again stay in ``canopy.csv`` (:func:`earlier_rows`). A photo that cannot be read is
reported and skipped; the others are still processed."""

from __future__ import annotations

import csv
import io
import logging
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from tqdm import tqdm

from vitiseg.canopy.row import canopy_row
from vitiseg.canopy.uncertainty import select_photos
from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.data.photos import Photo
from vitiseg.engine.loaded import Model
from vitiseg.engine.network import ModelInfo
from vitiseg.engine.tiling import Prediction
from vitiseg.errors import ConfigError, DataError
from vitiseg.report.overlay import overlay, palette_png
from vitiseg.run import CANOPY_TABLE, PredictFolder
from vitiseg.util.atomic import atomic_path, remove_temporaries, write_text
from vitiseg.util.prefetch import prefetch

log = logging.getLogger(__name__)

SELECTION_COLUMNS = ("rank", "file", "uncertainty", "camera", "date")
MODEL_STAMP, PHOTO_STAMP, SOURCE_STAMP = "vitiseg.model", "vitiseg.photo", "vitiseg.source"
"""The PNG text keys of a mask: the model that made it, its photo's size and time, and
its photo's resolved path."""
NOT_DONE, ASKED, CHANGED = "not done yet", "asked to (--overwrite)", "photo changed since"
ANOTHER_MODEL = "predicted by another model"
ANOTHER_PHOTO = "made from another photo of the same name"
GONE_PHOTO = "made from a photo of the same name no longer there, and not this one"


@dataclass
class PredictReport:
    """What a predict run did."""

    done: int = 0
    skipped: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0
    redone: dict[str, int] = field(default_factory=dict)
    """Photos whose earlier outputs were not reused, by reason."""

    @classmethod
    def of_all(cls, reports: list[PredictReport]) -> PredictReport:
        """The report of processes that shared one run (their wall time: the longest)."""
        return cls(
            sum(r.done for r in reports),
            sum(r.skipped for r in reports),
            [failure for r in reports for failure in r.failed],
            max((r.seconds for r in reports), default=0.0),
            dict(sum((Counter(r.redone) for r in reports), Counter())),
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
        if probabilities and model.leaf_class is None:
            raise ConfigError(
                "probabilities=True saves the leaf probability, and this model has no class "
                f"named leaf ({', '.join(model.class_names)}): give leaf_class="
            )
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
        row["model"] = model.identity
        if earlier := self.earlier_uncertainty.get(row["file"]):
            row["uncertainty"] = earlier  # a resumed photo keeps its uncertainty
        return row

    def predict(self, image: np.ndarray) -> Prediction:
        """The model's prediction for a photo (with what the outputs asked for need)."""
        return self.model.predict(
            image,
            probability_of=self.model.leaf_class if self.probabilities else None,
            uncertainty=self.uncertainty,
        )

    def finish(self, photo: Photo, image: np.ndarray, prediction: Prediction) -> dict:
        """Write a photo's outputs from its prediction and return its canopy.csv row. The
        stamped mask is written last: it marks the photo done (a run killed before it
        leaves the photo to be redone, never a stale overlay reused)."""
        mask_path, *paths = self.outputs(photo)
        paths = iter(paths)
        if self.overlays:
            _save(
                Image.fromarray(overlay(image, prediction.mask, self.info.spec.classes)),
                next(paths),
                "JPEG",
            )
        if self.probabilities:
            _save(Image.fromarray(prediction.probability), next(paths), "PNG")
        stamps = {MODEL_STAMP: self.model.identity, PHOTO_STAMP: photo_stamp(photo.path),
                  SOURCE_STAMP: str(photo.path.resolve())}  # fmt: skip
        _save(palette_png(prediction.mask, self.info.spec.classes), mask_path, "PNG", stamps)
        row = self.row(photo, prediction.mask, image)
        row.pop("uncertainty", None)  # an earlier run's, for a photo redone now
        if prediction.uncertainty is not None:
            row["uncertainty"] = round(prediction.uncertainty, 6)
        return row

    def reusable(self, photo: Photo, paths: list[Path]) -> tuple[str | None, str | None]:
        """Why the photo's earlier outputs cannot be reused (:data:`NOT_DONE`,
        :data:`ANOTHER_PHOTO`, :data:`ANOTHER_MODEL`, :data:`CHANGED`), or None when they
        can; and the path of the photo its mask was made from, where it records one."""
        if not all(p.is_file() for p in paths):
            return NOT_DONE, None
        stamps = mask_stamps(paths[0])
        source = stamps.get(SOURCE_STAMP)
        if source and source != str(photo.path.resolve()):
            if Path(source).is_file():
                return ANOTHER_PHOTO, source
            if stamps.get(PHOTO_STAMP) != photo_stamp(photo.path):  # gone, and not this photo
                return GONE_PHOTO, source
        if stamps.get(MODEL_STAMP) != self.model.identity:
            return ANOTHER_MODEL, source
        if stamps.get(PHOTO_STAMP) != photo_stamp(photo.path):
            return CHANGED, source
        return None, source


@dataclass
class Plan:
    """What :func:`plan_outputs` found: the photos to predict, those whose outputs are
    reused (with their mask), why photos are redone, and the earlier paths of photos moved
    since their mask was made (their old rows are replaced)."""

    todo: list[Photo] = field(default_factory=list)
    reused: list[tuple[Photo, Path]] = field(default_factory=list)
    redone: dict[str, int] = field(default_factory=dict)
    moved_from: set[str] = field(default_factory=set)


def plan_outputs(
    photos: list[Photo], worker: PhotoPredictor, overwrite: bool = False,
    replace_other_models: bool | None = None,
) -> Plan:  # fmt: skip
    """Which photos to predict and which earlier outputs to reuse (:meth:`PhotoPredictor.reusable`).

    Args:
        overwrite: redo every photo.
        replace_other_models: redo the masks of another model (default: ``overwrite``).

    Raises:
        DataError: masks of another model and not ``replace_other_models``, or outputs
            that belong to another photo of the same name (never replaced).
    """
    replace_other_models = overwrite if replace_other_models is None else replace_other_models
    plan, others, clashes = Plan(), [], []
    for photo in photos:
        paths = worker.outputs(photo)
        why, source = worker.reusable(photo, paths)
        if source and source != str(photo.path.resolve()):
            plan.moved_from.add(source)
        if why == ANOTHER_PHOTO or (why == GONE_PHOTO and not overwrite):
            clashes.append((photo, paths[0], source))
        elif why == ANOTHER_MODEL and not replace_other_models:
            others.append(paths[0])
        elif why is None and not overwrite:
            plan.reused.append((photo, paths[0]))
        else:
            plan.todo.append(photo)
            why = ASKED if why is None else why
            if why != NOT_DONE:
                plan.redone[why] = plan.redone.get(why, 0) + 1
    if clashes:
        photo, mask, source = clashes[0]
        raise DataError(
            f"{mask} was made from {source}, and {photo.path} has the same output name "
            f"({len(clashes)} photo(s) like it): write to another output folder, or rename one "
            "of them (outputs are named after the photo's path under the folder given); if the "
            "first photo is gone for good, overwrite=True redoes its outputs from this one"
        )
    if others:
        raise DataError(
            f"{len(others)} photo(s) in {worker.out} were predicted by another model, or by a "
            f"vitiseg that did not record which (e.g. {others[0]}): give overwrite=True to redo "
            "them with this one, or write to another output folder"
        )
    return plan


def photo_stamp(path: Path) -> str:
    """``SIZE:MTIME_NS`` of a file: what tells a photo replaced under the same name."""
    facts = path.stat()
    return f"{facts.st_size}:{facts.st_mtime_ns}"


def mask_stamps(path: Path) -> dict[str, str]:
    """The text a mask PNG carries (:data:`MODEL_STAMP`, :data:`PHOTO_STAMP`,
    :data:`SOURCE_STAMP`; none in masks of vitiseg before 0.2, taken as another model's)."""
    try:
        with Image.open(path) as image:
            return dict(getattr(image, "text", {}))
    except OSError:
        return {}


def _save(picture: Image.Image, path: Path, fmt: str, text: dict[str, str] | None = None) -> None:
    options = {"quality": 90} if fmt == "JPEG" else {}
    if text:
        options["pnginfo"] = PngInfo()
        for key, value in text.items():
            options["pnginfo"].add_text(key, value)
    with atomic_path(path) as tmp:
        picture.save(tmp, format=fmt, **options)


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


def without_moved(rows: list[dict], plan: Plan) -> list[dict]:
    """``rows`` less those of photos whose outputs now belong to the same photo under
    another path (:attr:`Plan.moved_from`)."""
    return [row for row in rows if str(Path(row["file"]).resolve()) not in plan.moved_from]


def predict_photos(
    photos: list[Photo], worker: PhotoPredictor, overwrite: bool = False, workers: int = 2,
    table: str = CANOPY_TABLE, kept: list[dict] | None = None,
    replace_other_models: bool | None = None,
) -> PredictReport:  # fmt: skip
    """Predict every photo not done yet (:func:`plan_outputs`, which may refuse); write
    ``table`` as it goes (every 20 photos), with the ``kept`` rows of earlier runs
    (:func:`earlier_rows`) less those of photos moved since."""
    plan = plan_outputs(photos, worker, overwrite, replace_other_models)
    report = PredictReport(skipped=len(plan.reused), redone=plan.redone)
    kept = without_moved(kept or [], plan)
    rows = [worker.row(photo, read_mask(mask)) for photo, mask in plan.reused]
    remove_temporaries([*(p for photo in photos for p in worker.outputs(photo)), worker.out / table])  # fmt: skip
    if report.skipped:
        log.info(
            "%d photo(s) already done in %s, skipped (--overwrite to redo them)",
            report.skipped, worker.out,
        )  # fmt: skip
    for why, count in report.redone.items():
        log.info("%d photo(s) redone: %s", count, why)
    started = time.monotonic()
    bar = tqdm(
        prefetch(plan.todo, _read, workers=workers),
        total=len(plan.todo),
        desc="Predicting",
        unit="photo",
        disable=None,
    )

    def finished(row: dict) -> None:
        rows.append(row)
        report.done += 1
        if report.done % 20 == 0:
            _write_csv(worker.out / table, kept + rows)

    # each photo's outputs and traits are made on a second thread while the model predicts
    # the next photo (at most one waits: bounded memory)
    with ThreadPoolExecutor(max_workers=1) as writer:
        waiting: Future | None = None
        for photo, loaded in bar:
            if isinstance(loaded, Exception):
                message = str(loaded) if isinstance(loaded, DataError) else f"{photo.path}: {loaded}"  # fmt: skip
                report.failed.append((photo.path, message))
                bar.write(f"skipped: {message}")
                continue
            image, note = loaded
            if note:
                bar.write(f"warning: {note}")
            prediction = worker.predict(image)
            if waiting is not None:
                finished(waiting.result())
            waiting = writer.submit(worker.finish, photo, image, prediction)
        if waiting is not None:
            finished(waiting.result())
    report.seconds = time.monotonic() - started
    _write_csv(worker.out / table, kept + rows)
    return report


def earlier_rows(out: Path, photos: list[Photo], model: Model) -> list[dict]:
    """The rows of ``out``'s ``canopy.csv`` whose photos are not among ``photos``: done by
    earlier runs, they stay in the table (a season grows run by run).

    Raises:
        DataError: some were predicted by another model (the table would mix two models);
            the message says how to redo them or where else to write.
    """
    table = PredictFolder(out).table
    if not table.is_file():
        return []
    given = {str(photo.path.resolve()) for photo in photos}
    with open(table, encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if str(Path(r["file"]).resolve()) not in given]
    other = [r for r in rows if r.get("model", model.identity) not in ("", model.identity)]
    if other:
        raise DataError(
            f"{table} holds {len(other)} photo(s) predicted by another model (e.g. "
            f"{other[0]['file']}) that this run does not include: give their photos too (they "
            "are redone with this model), or write to another output folder"
        )
    return rows


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
