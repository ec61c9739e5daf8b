"""What the labelling page serves: the queue of photos, each with the mask it starts from
(saved, the model's guess, or empty), its regions, and saving the corrected mask.

The queue is the photos without a mask, the most uncertain first when a model gives
pre-labels (:mod:`vitiseg.canopy.uncertainty`: the class-balanced entropy that ranks the
photos a model gets wrong), else in name order; the photos that have a mask follow, to
correct. ``select`` keeps the K photos most worth labelling, spread over cameras and days
as ``vitiseg predict --select K`` chooses them.
"""

from __future__ import annotations

import collections
import logging
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from vitiseg.canopy.uncertainty import select_photos
from vitiseg.data.imageio import decode_image
from vitiseg.data.palette import palette
from vitiseg.data.photos import photo_datetime
from vitiseg.engine import bundled
from vitiseg.errors import ConfigError, DataError, WeightsError
from vitiseg.label.folder import LabelFolder, LabelPhoto
from vitiseg.label.regions import over_segment

log = logging.getLogger(__name__)

CLASSES_FILE = "classes.txt"
"""One class name per line, as ``vitiseg masks import`` writes it beside the masks."""
REGIONS_KEPT = 8
"""Photos whose regions stay in memory (about 4 MB each for a full-HD photo)."""


@dataclass
class QueueEntry:
    """A photo of the page's list, the uncertainty of the model's guess (if any) and
    whether the queue holds it (a photo without a mask when the page started)."""

    photo: LabelPhoto
    uncertainty: float | None = None
    queued: bool = True


class LabelJob:
    """The photos of a folder to label, in the order the page offers them.

    Args:
        folder: the photos and where their masks go.
        class_names: the classes by index.
        model: a loaded :class:`vitiseg.engine.loaded.Model` whose masks the photos start
            from (and whose uncertainty orders the queue), or None for empty masks.
        select: keep only the ``select`` photos without a mask most worth labelling.
        camera: with ``select``, a regular expression whose first group is the camera in a
            file name (default: the name up to its first ``_``).

    Raises:
        ConfigError: ``class_names`` has not one name per class of the model.
    """

    def __init__(
        self,
        folder: LabelFolder,
        class_names: list[str],
        model=None,
        select: int | None = None,
        camera: str | None = None,
    ) -> None:
        if model is not None and len(class_names) != model.classes:
            raise ConfigError(
                f"class_names={','.join(class_names)}: {len(class_names)} names for the "
                f"model's {model.classes} classes"
            )
        if len(class_names) < 2:
            raise ConfigError(f"class_names={','.join(class_names)}: give at least 2 classes")
        self.folder = folder
        self.class_names = list(class_names)
        self.colours = palette(len(class_names))
        self.model = model
        self._guesses: dict[str, bytes] = {}
        self.entries = self._queue(select, camera)
        self._by_name = {entry.photo.name: entry for entry in self.entries}
        self._regions: collections.OrderedDict[str, Future] = collections.OrderedDict()
        self._regions_lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vitiseg-regions")

    @property
    def classes(self) -> int:
        """The number of classes."""
        return len(self.class_names)

    def _queue(self, select: int | None, camera: str | None) -> list[QueueEntry]:
        photos = sorted(self.folder.photos.values(), key=lambda p: p.name)
        todo = [p for p in photos if not self.folder.labelled(p)]
        done = [QueueEntry(p, queued=False) for p in photos if self.folder.labelled(p)]
        if self.model is None:
            queue = [QueueEntry(p) for p in todo]
        else:
            queue = sorted(self._guess(todo), key=lambda e: -e.uncertainty)
        if select is not None and self.model is not None:
            rows = [{"file": e.photo.name, "datetime": photo_datetime(e.photo.path),
                     "uncertainty": e.uncertainty} for e in queue]  # fmt: skip
            chosen = [row["file"] for row in select_photos(rows, select, camera)] if rows else []
            by_name = {e.photo.name: e for e in queue}
            queue = [by_name[name] for name in chosen]
        elif select is not None:
            queue = queue[:select]
        return queue + done

    def _guess(self, photos: list[LabelPhoto]) -> list[QueueEntry]:
        """The model's mask of each photo (kept compressed) and its uncertainty; photos that
        cannot be read are left out, with a warning."""
        entries = []
        for photo in tqdm(photos, desc="Pre-labelling", unit="photo", disable=None):
            try:
                image, _ = decode_image(photo.path)
            except DataError as exc:
                log.warning("left out: %s", exc)
                continue
            prediction = self.model.predict(image, uncertainty=True)
            self._guesses[photo.name] = zlib.compress(prediction.mask.astype(np.uint8).tobytes(), 1)
            entries.append(QueueEntry(photo, float(prediction.uncertainty)))
        return entries

    def entry(self, name: str) -> QueueEntry:
        """The list's photo called ``name``.

        Raises:
            KeyError: no such photo in the list (or now a link out of the folder).
        """
        entry = self._by_name[name]
        self.folder.photo(name)
        return entry

    def listing(self) -> dict:
        """The page's list of photos (queue first), with the counts of labelled and left."""
        done, left = self.folder.counts()
        photos = [
            {"name": e.photo.name, "labelled": self.folder.labelled(e.photo),
             "queued": e.queued, "uncertainty": e.uncertainty}
            for e in self.entries
        ]  # fmt: skip
        return {"photos": photos, "labelled": done, "left": left}

    def jpeg(self, name: str, quality: int = 92) -> bytes:
        """The photo as the page shows it (EXIF orientation applied), in JPEG."""
        image, _ = decode_image(self.entry(name).photo.path)
        ok, encoded = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise DataError(f"{name}: could not be encoded for the page")
        return encoded.tobytes()

    def start_mask(self, name: str) -> tuple[np.ndarray, str]:
        """The mask the photo opens with, and where it comes from: ``saved`` (its mask file),
        ``model`` (the model's guess) or ``empty`` (every pixel class 0).

        Raises:
            DataError: a saved mask of another size or with unknown classes.
        """
        photo = self.entry(name).photo
        width, height = self.folder.size(photo)
        if self.folder.labelled(photo):
            return self.folder.read(photo, self.classes), "saved"
        if name in self._guesses:
            guess = np.frombuffer(zlib.decompress(self._guesses[name]), np.uint8)
            return guess.reshape(height, width), "model"
        return np.zeros((height, width), np.uint8), "empty"

    def regions(self, name: str) -> np.ndarray:
        """The photo's regions (:func:`vitiseg.label.regions.over_segment`), computed once
        and kept for the last :data:`REGIONS_KEPT` photos; the next photo's are prepared."""
        self.entry(name)
        future = self._regions_of(name)
        names = [e.photo.name for e in self.entries]
        following = names[(names.index(name) + 1) % len(names)]
        self._regions_of(following)
        return future.result()

    def _regions_of(self, name: str) -> Future:
        with self._regions_lock:
            if name in self._regions:
                self._regions.move_to_end(name)
                return self._regions[name]
            path = self._by_name[name].photo.path
            future = self._worker.submit(lambda: over_segment(decode_image(path)[0]))
            self._regions[name] = future
            while len(self._regions) > REGIONS_KEPT:
                self._regions.popitem(last=False)
            return future

    def save(self, name: str, mask: np.ndarray) -> Path:
        """Write the photo's mask (see :meth:`vitiseg.label.folder.LabelFolder.write`)."""
        return self.folder.write(self.entry(name).photo, mask, self.classes)

    def close(self) -> None:
        """Stop preparing regions."""
        self._worker.shutdown(wait=False, cancel_futures=True)


def class_names_for(folder: LabelFolder, model, class_names: list[str] | None) -> list[str]:
    """The page's classes: ``class_names``, else the model's, else those of the
    ``classes.txt`` beside the masks or the photos.

    Raises:
        ConfigError: none of them.
    """
    if class_names:
        return list(class_names)
    if model is not None:
        return list(model.class_names)
    for where in (folder.mask_dir, folder.root):
        listed = where / CLASSES_FILE
        if listed.is_file():
            names = [n.strip() for n in listed.read_text(encoding="utf-8").splitlines()]
            return [n for n in names if n]
    raise ConfigError(
        "without a model the classes are not known: give class_names=background,leaf,... "
        f"(or a model, or a {CLASSES_FILE} beside the masks)"
    )


def load_model(model: str | Path | None):
    """The model whose masks the photos start from: ``model`` (a run or model folder, an
    ONNX file), the bundled vineyard model for ``vineyard`` where it is installed (None
    with a note where it is not), None for ``None``.

    Raises:
        WeightsError: ``model`` names weights that cannot be read.
    """
    if model is None:
        return None
    if bundled.names_bundled(model):
        try:
            bundled.bundled_folder()
        except WeightsError as exc:
            log.info("no pre-labels: %s", exc)
            return None
    from vitiseg.engine.loaded import Model  # torch: only when a model gives pre-labels

    return Model(None if bundled.names_bundled(model) else model)


def open_job(
    photos: str | Path,
    model: str | Path | None = bundled.NAME,
    mask_dir: str | Path | None = None,
    class_names: list[str] | None = None,
    select: int | None = None,
    camera: str | None = None,
) -> LabelJob:
    """The labelling job of the folder ``photos``: its photos, their masks (in ``mask_dir``
    if given), the classes (``class_names``, else the model's) and the pre-labels of
    ``model`` (the bundled vineyard model by default, where installed; None: none).

    Example:
        >>> job = open_job("Dataset", model="Result/M", select=20)    # doctest: +SKIP
        >>> job.listing()["left"]                                      # doctest: +SKIP
        20
    """
    folder = LabelFolder(photos, mask_dir)
    loaded = load_model(model)
    return LabelJob(folder, class_names_for(folder, loaded, class_names), loaded, select, camera)
