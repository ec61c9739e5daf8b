"""Follow each camera through the season: quality checks, daily values, smoothing, transitions.

Input: one row per photo with its traits (``canopy.csv`` of ``vitiseg predict``, see
:mod:`vitiseg.canopy.traits`). Photos are grouped by camera and day; photos failing a quality
check are dropped (each with its reason); each trait gets one value per camera and day
(the median of the day's good photos; hues: their circular mean), then a smoothing spline
over the season (:func:`scipy.interpolate.make_smoothing_spline`, with a smoothing of about
:data:`SMOOTH_DAYS` days, or chosen by generalised cross-validation) and, for leaf cover and leaf gcc, the transition dates: the
days the smoothed curve first rises through 10, 25 and 50 % of its seasonal amplitude
(``min + level * (max - min)``, from the lowest point before the maximum), as phenocam
tools report them.

Quality checks, measured on a grey thumbnail (:data:`THUMB_WIDTH` pixels wide) of the photo:

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
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from vitiseg.canopy.circular import around, circular_mean
from vitiseg.canopy.roles import Roles
from vitiseg.canopy.row import canopy_row
from vitiseg.canopy.trait_table import CIRCULAR, DAILY, TRANSITIONS
from vitiseg.canopy.transitions import (
    CI,
    MAX_GAP,
    MIN_DAYS,
    REPLICATES,
    Dated,
    dated_transitions,
    evaluate,
    fit,
    runs,
)
from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.data.layout import Pair, find_pairs
from vitiseg.data.masks import values_outside
from vitiseg.data.photos import collect_photos
from vitiseg.engine.loaded import Model
from vitiseg.errors import ConfigError, DataError
from vitiseg.predict import PhotoPredictor, PredictReport, predict_photos
from vitiseg.report.season_figures import figure_name, plot_camera, plot_cameras
from vitiseg.run import PredictFolder, SeasonFolder
from vitiseg.util.atomic import atomic_path

DARK = 40.0
WHITE = 250
OVEREXPOSED = 0.25
BLUR = 0.35
MOVED = 0.05
THUMB_WIDTH = 320
SMOOTH_DAYS = 10.0
"""Default bandwidth of the smoothing spline, in days (see :func:`vitiseg.canopy.transitions.spline`)."""
QUALITY_COLUMNS = ("brightness", "overexposed", "sharpness", "shift")
NAME_CAMERA = r"^(.+?)[_\-. ]*\d{4}-?\d{2}-?\d{2}"
"""Default camera rule: the part of the file name before its date."""


@dataclass
class Season:
    """What :func:`summarise` found."""

    season: pd.DataFrame
    """Tidy: camera, date, trait, value, smoothed, photos, dropped."""
    transitions: pd.DataFrame
    """camera, trait, level, date."""
    photos: pd.DataFrame
    """Every photo: camera, date, quality measures, ``dropped`` reason ('' when kept)."""
    notes: list[str] = field(default_factory=list)


def read_predictions(folder: str | Path) -> pd.DataFrame:
    """``canopy.csv`` of a ``vitiseg predict`` output folder, with its trait columns.

    Raises:
        DataError: no such folder, no ``canopy.csv``, an empty one, or one without traits.
    """
    folder = Path(folder)
    table_path = PredictFolder(folder).table
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (give the output folder of `vitiseg predict`)")
    if not table_path.is_file():
        raise DataError(
            f"{folder}: no canopy.csv, so no predictions here; run `vitiseg predict --model MODEL "
            f"PHOTOS -o {folder}` first, or give `vitiseg season PHOTOS --model MODEL`"
        )
    table = pd.read_csv(table_path, keep_default_na=True, dtype={"file": str, "datetime": str})
    if table.empty:
        raise DataError(f"{table_path}: no photos in it")
    if "leaf_cover" not in table:
        raise DataError(
            f"{table_path}: no leaf_cover column: the masks have no leaf class (see leaf_class=)"
        )
    missing = [t for t in DAILY if t not in table]
    if missing:
        raise DataError(
            f"{table_path}: no {', '.join(missing)} columns (written by an older vitiseg); run "
            "the same `vitiseg predict` command again: it recomputes every row from the saved masks"
        )
    return table


def cameras(files: pd.Series, rule: str = "name", regex: str | None = None) -> pd.Series:
    """The camera of each photo: ``name`` (the file name before its date), ``folder`` (the
    photo's folder name) or ``regex`` (its first group, else the whole match, in the name).

    Raises:
        DataError: a photo the rule finds no camera in.
    """
    paths = files.map(Path)
    if rule == "folder":
        found = paths.map(lambda p: p.parent.name or None)
        how = "its folder"
    else:
        pattern = re.compile(regex if regex else NAME_CAMERA)
        how = f"camera={regex!r}" if regex else "its name (no date in it)"

        def match(path: Path) -> str | None:
            hit = pattern.search(path.stem)
            return None if not hit else (hit.group(1) if pattern.groups else hit.group(0))

        found = paths.map(match)
    bad = files[found.isna() | (found == "")]
    if len(bad):
        raise DataError(
            f"{len(bad)} photo(s) whose camera is not found from {how}, e.g. {bad.iloc[0]}: "
            "name them CAMERA_YYYY-MM-DD_HHMMSS.jpg, or use camera_from=folder or camera=REGEX"
        )
    return found.astype(str)


def dates(table: pd.DataFrame, date_from: str = "auto") -> pd.Series:
    """The day of each photo: from the ``datetime`` column (EXIF, else the file name) with
    ``auto``, from the file's modification time with ``mtime``.

    Raises:
        DataError: photos without a date (``auto``) or missing files (``mtime``).
    """
    if date_from == "mtime":
        try:
            stamps = table["file"].map(lambda f: datetime.fromtimestamp(Path(f).stat().st_mtime))
        except FileNotFoundError as exc:
            raise DataError(f"{exc.filename}: photo not found, so no modification time") from None
        return pd.to_datetime(stamps).dt.normalize()
    stamps = pd.to_datetime(table.get("datetime"), errors="coerce")
    bad = table["file"][stamps.isna()]
    if len(bad):
        raise DataError(
            f"{len(bad)} photo(s) without a date in EXIF or in the name, e.g. {bad.iloc[0]}: name "
            "them CAMERA_YYYY-MM-DD_HHMMSS.jpg, or pass date_from=mtime (the file's time)"
        )
    return stamps.dt.normalize()


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


def daily(photos: pd.DataFrame) -> pd.DataFrame:
    """One row per camera and day: each trait's median over the day's kept photos (hues:
    circular mean), ``photos`` kept and ``dropped``."""
    kept = photos[photos["dropped"] == ""]
    keys = ["camera", "date"]
    linear = [t for t in DAILY if t not in CIRCULAR]
    table = kept.groupby(keys)[linear].median()
    radians = np.radians(kept[list(CIRCULAR)].astype(float))
    parts = pd.concat(
        [np.sin(radians).add_suffix("_sin"), np.cos(radians).add_suffix("_cos")], axis=1
    )
    parts[keys] = kept[keys]
    means = parts.groupby(keys).mean()
    for trait in CIRCULAR:
        s, c = means[f"{trait}_sin"], means[f"{trait}_cos"]
        mean = np.degrees(np.arctan2(s, c)) % 360
        mean = np.where(mean > 360 - 1e-9, 0.0, mean)  # -1e-15 % 360 is 360
        table[trait] = np.where(np.hypot(s, c) > 1e-9, mean, np.nan)
    counts = photos.assign(kept=photos["dropped"] == "").groupby(keys)["kept"].agg(["sum", "size"])
    table = table.reindex(counts.index)
    table["photos"] = counts["sum"].astype(int)
    table["dropped"] = (counts["size"] - counts["sum"]).astype(int)
    return table.reset_index()


def smooth(
    days: np.ndarray,
    values: np.ndarray,
    circular: bool = False,
    bandwidth: float | None = SMOOTH_DAYS,
    max_gap: float = MAX_GAP,
) -> np.ndarray:
    """The smoothed values at ``days``: a smoothing spline per run of days without a gap
    longer than ``max_gap`` (:mod:`vitiseg.canopy.transitions`); nan in runs of fewer than
    :data:`~vitiseg.canopy.transitions.MIN_DAYS` days. Hues are smoothed unwrapped around the
    camera's circular mean (so a series crossing 0/360 stays continuous), then wrapped
    back to [0, 360).
    """
    days = days.astype(float)
    if not circular:
        return evaluate(fit(days, values, bandwidth, max_gap), days)
    centre = circular_mean(values)
    if np.isnan(centre):
        return np.full(len(days), np.nan)
    unwrapped = around(values, centre)
    return evaluate(fit(days, unwrapped, bandwidth, max_gap), days) % 360


def summarise(
    photos: pd.DataFrame,
    bandwidth: float | None = SMOOTH_DAYS,
    max_gap: float = MAX_GAP,
    ci: float = CI,
    replicates: int = REPLICATES,
) -> Season:
    """Daily values, smoothed curves and transition dates (with intervals) of every camera.

    Args:
        photos: one row per photo with ``camera``, ``date`` (day), the daily traits (:data:`vitiseg.canopy.trait_table.DAILY`) and a
            ``dropped`` reason ('' to keep it).
        bandwidth: smoothing in days (see :func:`smooth`); None for cross-validation.
        max_gap: days without a usable photo that split the curves.
        ci: the intervals' coverage (0.8: from the 10 % to the 90 % quantile).
        replicates: bootstrap replicates per curve (seeded: the same input gives the same
            intervals).
    """
    notes = []
    table = daily(photos)
    rows, transitions = [], []
    for number, (camera, group) in enumerate(table.groupby("camera", sort=True)):
        group = group.sort_values("date")
        start = group["date"].iloc[0]
        days = ((group["date"] - start).dt.days).to_numpy(float)
        with_values = int(group["leaf_cover"].notna().sum())
        if with_values < MIN_DAYS:
            notes.append(
                f"camera {camera}: {with_values} day(s) with kept photos, no smoothed curve or "
                f"transition dates (they need at least {MIN_DAYS} days)"
            )
        kept = days[group["leaf_cover"].notna().to_numpy()]
        for gap_start, gap_end in zip(kept[:-1], kept[1:], strict=True):
            if gap_end - gap_start > max_gap:
                notes.append(
                    f"camera {camera}: no usable photo from {start + pd.Timedelta(days=gap_start):%Y-%m-%d} "
                    f"to {start + pd.Timedelta(days=gap_end):%Y-%m-%d} ({gap_end - gap_start:.0f} days "
                    f"> {max_gap:g}): the curves stop there"
                )
        for trait in DAILY:
            values = group[trait].to_numpy(float)
            frame = {
                "camera": camera, "date": group["date"].to_numpy(), "trait": trait,
                "value": values, "smoothed": smooth(days, values, trait in CIRCULAR, bandwidth, max_gap),
                "lower": np.nan, "upper": np.nan, "segment": _segments(days, kept, max_gap),
                "photos": group["photos"].to_numpy(), "dropped": group["dropped"].to_numpy(),
            }  # fmt: skip
            if trait in TRANSITIONS and with_values >= MIN_DAYS:
                dated, frame["lower"], frame["upper"] = dated_transitions(
                    days, values, bandwidth, max_gap, ci, replicates, seed=number
                )
                transitions += [_transition_row(camera, trait, start, d) for d in dated]
            rows.append(pd.DataFrame(frame))
    season = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    columns = ["camera", "trait", "level", "date", "lower", "upper", "value", "reason"]
    return Season(season, pd.DataFrame(transitions, columns=columns), photos, notes)


def _segments(days: np.ndarray, kept: np.ndarray, max_gap: float) -> np.ndarray:
    """Which run of kept days each day belongs to (0, 1...), -1 inside a long gap."""
    out = np.full(len(days), -1)
    for number, run in enumerate(runs(kept, max_gap)):
        if len(run):
            out[(days >= kept[run[0]]) & (days <= kept[run[-1]])] = number
    return out


def _transition_row(camera: str, trait: str, start: pd.Timestamp, dated: Dated) -> tuple:
    """A transitions.csv row: dates from day numbers; the reason, with a gap's dates."""

    def when(day: float):
        return start + pd.Timedelta(days=round(day)) if np.isfinite(day) else pd.NaT

    reason = dated.reason
    if dated.gap:
        reason = f"in a gap of the photos, from {when(dated.gap[0]):%Y-%m-%d} to {when(dated.gap[1]):%Y-%m-%d}"  # fmt: skip
    return (camera, trait, dated.level, when(dated.day), when(dated.lower), when(dated.upper),
            dated.value, reason)  # fmt: skip


def prepare(
    table: pd.DataFrame,
    camera_from: str = "name",
    camera_regex: str | None = None,
    date_from: str = "auto",
    quality_checks: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """Photo rows -> rows with ``camera``, ``date``, quality measures and ``dropped``.

    Returns:
        The photos, and notes for the user.
    """
    photos = table.copy()
    photos["camera"] = cameras(photos["file"], camera_from, camera_regex)
    photos["date"] = dates(photos, date_from)
    notes = []
    if quality_checks:
        photos[list(QUALITY_COLUMNS)] = measure_quality(
            photos["file"], photos["camera"], photos["date"]
        )
    photos["dropped"] = quality_reasons(photos)
    if "porosity_rule" in photos and (photos["porosity_rule"] == "leaf-bottom").all():
        notes.append(
            "porosity measured down to the bottom of the leaves in every photo (no pipe or trunk found)"
        )
    return photos, notes


def check_output(out: str | Path, overwrite: bool = False, update: bool = False) -> None:
    """Refuse an output folder that already holds a season, unless ``overwrite``, or
    ``update`` and the season was made from its own predictions (``OUT/predictions``):
    then the earlier photos' rows are reused and only the curves are computed again.

    Raises:
        DataError: ``season.csv`` (or another season output) already there.
    """
    layout = SeasonFolder(out)
    there = [path.name for path in layout.tables.values() if path.exists()]
    own_predictions = layout.predictions.table.is_file()
    if there and not overwrite and not (update and own_predictions):
        raise DataError(
            f"{out} already holds a season ({', '.join(there)}); give overwrite=True to replace "
            "it, or another output= folder (a season made with model= is updated by running the "
            "same command again with the new photos)"
        )


def write_season(result: Season, out: str | Path) -> list[Path]:
    """Write ``season.csv``, ``transitions.csv``, ``photos.csv`` and the figures.

    Returns:
        The files written.
    """
    layout = SeasonFolder(out)
    written = []
    frames = {"season": result.season, "transitions": result.transitions, "photos": result.photos}
    for name, path in layout.tables.items():
        frame = frames[name].copy()
        if "date" in frame:
            frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.6g")
        written.append(path)
    for camera in sorted(result.season["camera"].unique()):
        path = layout.figures / figure_name(camera)
        plot_camera(result.season, result.transitions, camera, path)
        written.append(path)
    path = layout.figures / "leaf_cover_by_camera.png"
    plot_cameras(result.season, path)
    written.append(path)
    return written


def rows_from_masks(
    pairs: list[Pair], class_names: list[str], roles: Roles, k: float
) -> pd.DataFrame:
    """``canopy.csv`` rows computed from masks already made (true masks, another tool's),
    as ``vitiseg predict`` writes them from its own (:func:`vitiseg.canopy.row.canopy_row`).

    Args:
        pairs: photo/mask pairs (:func:`vitiseg.data.layout.find_pairs`).
    """
    rows = []
    for pair in tqdm(pairs, desc="Measuring masks", unit="photo", disable=None):
        mask = read_mask(pair.mask)
        if bad := values_outside(mask, len(class_names)):
            raise DataError(
                f"{pair.mask}: mask values {bad} are not among the {len(class_names)} classes "
                f"{', '.join(class_names)} (see class_names=)"
            )
        image = decode_image(pair.image)[0]
        try:
            rows.append(canopy_row(pair.image, mask, image, roles, class_names, k))
        except DataError as exc:
            raise DataError(f"{pair.mask}: {exc}") from None
    return pd.DataFrame(rows)


def predict_table(
    model: Model, inputs: list[str], out: str | Path, recursive: bool = False
) -> tuple[pd.DataFrame, PredictReport]:
    """Predict the photos of ``inputs`` into ``out/predictions`` (photos done by an earlier
    call are reused) and read every photo's row."""
    predictions = SeasonFolder(out).predictions
    worker = PhotoPredictor(model, predictions.root, False, False)
    report = predict_photos(collect_photos(inputs, recursive), worker, overwrite=False)
    return read_predictions(predictions.root), report


def require_class_names(class_names: list[str] | None) -> None:
    """Masks made elsewhere are measured only with their classes' names.

    Raises:
        ConfigError: no ``class_names``.
    """
    if not class_names:
        raise ConfigError(
            "masks=True needs class_names= (the mask values' names in order, e.g. "
            "background,leaf,inter-row,pipe,trunk)"
        )


def transition_text(row, ci: float) -> str:
    """``50% of its amplitude on 2024-05-03 (80% interval 2024-04-30 to 2024-05-06)``, or
    why a ``transitions.csv`` row has no date."""
    if pd.notna(row.lower):
        when = f"on {row.date:%Y-%m-%d} ({ci:.0%} interval {row.lower:%Y-%m-%d} to {row.upper:%Y-%m-%d})"  # fmt: skip
    else:
        when = f"on {row.date:%Y-%m-%d}" if pd.notna(row.date) else f"not dated: {row.reason}"
    return f"{row.level:.0%} of its amplitude {when}"


def masks_table(
    folders: list[str], class_names: list[str], roles: Roles, k: float, out: str | Path,
    mask_suffix: str | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Rows of the masks already made in ``folders`` (:func:`rows_from_masks`), also
    written to ``out/canopy.csv``."""
    require_class_names(class_names)
    pairs = [pair for folder in folders for pair in find_pairs(folder, mask_suffix)]
    table = rows_from_masks(pairs, class_names, roles, k)
    with atomic_path(SeasonFolder(out).canopy_table) as tmp:
        table.to_csv(tmp, index=False)
    return table
