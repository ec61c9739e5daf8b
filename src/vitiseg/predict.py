"""Apply an exported model to many photos: masks, overlays, probabilities and canopy.csv.

Photos whose outputs already exist are skipped (their canopy row is recomputed from the
saved mask), so an interrupted run resumes where it stopped. A photo that cannot be
read is reported and skipped; the others are still processed.
"""

from __future__ import annotations

import csv
import glob
import io
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from vitiseg import canopy
from vitiseg.atomic import atomic_path, write_text
from vitiseg.config import InferenceOptions
from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.data.layout import IMAGE_EXTENSIONS
from vitiseg.errors import DataError
from vitiseg.inference import Predictor
from vitiseg.model import ModelInfo
from vitiseg.prefetch import prefetch
from vitiseg.report.overlay import overlay, palette_png

_NAME_DATE = re.compile(
    r"(\d{4})[-_]?(\d{2})[-_]?(\d{2})(?:[_T -]?(\d{2})[-_:]?(\d{2})[-_:]?(\d{2}))?"
)
_EXIF_DATETIME_ORIGINAL, _EXIF_DATETIME, _EXIF_IFD = 36867, 306, 0x8769


@dataclass(frozen=True)
class Photo:
    """An input photo and the name its outputs take (its path under the input folder)."""

    path: Path
    key: str


@dataclass
class PredictReport:
    """What a predict run did."""

    done: int = 0
    skipped: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0


def collect_photos(inputs: list[str], recursive: bool = False) -> list[Photo]:
    """Files, folders (``recursive`` for sub-folders) and glob patterns -> photos, sorted.

    Raises:
        DataError: an input that does not exist, or two photos with the same output name.
    """
    photos: list[Photo] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = path.rglob("*") if recursive else path.iterdir()
            files = sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            photos += [Photo(p, p.relative_to(path).with_suffix("").as_posix()) for p in files]
        elif path.is_file():
            photos.append(Photo(path, path.stem))
        elif matches := sorted(glob.glob(item, recursive=recursive)):
            photos += [
                Photo(Path(m), Path(m).stem)
                for m in matches
                if Path(m).suffix.lower() in IMAGE_EXTENSIONS
            ]
        else:
            raise DataError(f"{item}: no such file, folder or matching pattern")
    seen: dict[str, Path] = {}
    for photo in photos:
        if photo.key in seen and seen[photo.key] != photo.path:
            raise DataError(
                f"{seen[photo.key]} and {photo.path} would both write outputs named {photo.key}; give their folder instead"
            )
        seen[photo.key] = photo.path
    if not photos:
        raise DataError(f"no photos ({', '.join(IMAGE_EXTENSIONS)}) in {', '.join(inputs)}")
    return list({p.key: p for p in photos}.values())


def photo_datetime(path: Path) -> str:
    """When the photo was taken: EXIF DateTimeOriginal, else a date in its name, else ''."""
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            value = exif.get_ifd(_EXIF_IFD).get(_EXIF_DATETIME_ORIGINAL) or exif.get(_EXIF_DATETIME)
        if value:
            return datetime.strptime(str(value).strip(), "%Y:%m:%d %H:%M:%S").isoformat()
    except (OSError, ValueError):
        pass
    match = _NAME_DATE.search(path.stem)
    if match:
        parts = [int(p) if p else 0 for p in match.groups()]
        try:
            return datetime(*parts).isoformat()
        except ValueError:
            return ""
    return ""


class PhotoPredictor:
    """Writes the outputs of one photo and gives its canopy.csv row."""

    def __init__(self, model_path: str | Path, out: Path, options: InferenceOptions, leaf_class: int | None,
                 k: float, overlays: bool, probabilities: bool, backend: str = "auto") -> None:  # fmt: skip
        from vitiseg.backends import load_engine

        self.engine = load_engine(model_path, backend, options.device, options.precision)
        info = self.engine.info
        self.info: ModelInfo = info
        self.precision = self.engine.precision
        self.predictor = Predictor(
            self.engine.model,
            info,
            str(self.engine.device),
            options.tile,
            options.overlap,
            options.batch_size,
            options.tta,
            self.precision,
        )
        self.out = out
        self.leaf = (
            leaf_class if leaf_class is not None else canopy.leaf_class_index(info.class_names)
        )
        self.k = k
        self.overlays = overlays
        self.probabilities = probabilities

    def outputs(self, photo: Photo) -> list[Path]:
        paths = [self.out / "masks" / f"{photo.key}.png"]
        if self.overlays:
            paths.append(self.out / "overlays" / f"{photo.key}.jpg")
        if self.probabilities:
            paths.append(self.out / "probabilities" / f"{photo.key}.png")
        return paths

    def row(self, photo: Photo, mask: np.ndarray) -> dict:
        covers = canopy.class_cover(mask, self.info.spec.classes)
        leaf = float(covers[self.leaf])
        row = {
            "file": str(photo.path),
            "width": mask.shape[1],
            "height": mask.shape[0],
            "datetime": photo_datetime(photo.path),
        }
        row |= {
            f"cover_{name}": round(float(c), 6)
            for name, c in zip(self.info.class_names, covers, strict=True)
        }
        return row | {
            "leaf_cover": round(leaf, 6),
            "lai_estimate": round(canopy.lai_from_cover(leaf, self.k), 4),
        }

    def run(self, photo: Photo, image: np.ndarray) -> dict:
        prediction = self.predictor.predict(
            image, probability_of=self.leaf if self.probabilities else None
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
        return self.row(photo, prediction.mask)


def _save(picture: Image.Image, path: Path, fmt: str) -> None:
    with atomic_path(path) as tmp:
        picture.save(tmp, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))


def _read(photo: Photo) -> tuple[np.ndarray, str | None]:
    return decode_image(photo.path)


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda r: r["file"]))
    write_text(path, buffer.getvalue())


def predict_photos(
    photos: list[Photo], worker: PhotoPredictor, overwrite: bool = False, workers: int = 2,
    table: str = "canopy.csv",
) -> PredictReport:  # fmt: skip
    """Predict every photo not done yet; write ``table`` as it goes (every 20 photos)."""
    report, rows = PredictReport(), []
    todo = []
    for photo in photos:
        if not overwrite and all(p.is_file() for p in worker.outputs(photo)):
            rows.append(worker.row(photo, read_mask(worker.outputs(photo)[0])))
            report.skipped += 1
        else:
            todo.append(photo)
    if report.skipped:
        print(
            f"{report.skipped} photo(s) already done in {worker.out}, skipped (--overwrite to redo them)"
        )
    started = time.monotonic()
    bar = tqdm(
        prefetch(todo, _read, workers=workers), total=len(todo), desc="Predicting", unit="photo"
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
