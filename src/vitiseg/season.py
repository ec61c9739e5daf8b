"""Follow each camera through the season: the ``vitiseg season`` job.

Input: one row per photo with its traits (``canopy.csv`` of ``vitiseg predict``, see
:mod:`vitiseg.canopy.traits`, or rows measured here from masks made elsewhere). Each photo
gets its camera and day (:func:`cameras`, :func:`dates`) and its quality checks
(:mod:`vitiseg.data.photo_quality`); the curves and transition dates are
:mod:`vitiseg.canopy.season_curves`'s; the tables and figures are written here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from vitiseg.canopy.roles import Roles
from vitiseg.canopy.row import canopy_row
from vitiseg.canopy.season_curves import Season
from vitiseg.canopy.trait_table import DAILY
from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.data.layout import Pair, find_pairs
from vitiseg.data.masks import values_outside
from vitiseg.data.photo_quality import QUALITY_COLUMNS, measure_quality, quality_reasons
from vitiseg.data.photos import camera_in_name, collect_photos, parse_name
from vitiseg.engine.loaded import Model
from vitiseg.errors import ConfigError, DataError
from vitiseg.predict import PhotoPredictor, PredictReport, earlier_rows, predict_photos
from vitiseg.report.season_figures import figure_name, plot_camera, plot_cameras
from vitiseg.run import PredictFolder, SeasonFolder
from vitiseg.season_forecast import write_forecast
from vitiseg.util.atomic import atomic_path


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
    """The camera of each photo: ``name`` (the file name before its date, as
    :func:`vitiseg.data.photos.parse_name` reads it), ``folder`` (the photo's folder name)
    or ``regex`` (its first group, else the whole match, in the name).

    Raises:
        DataError: a photo the rule finds no camera in.
    """
    paths = files.map(Path)
    if rule == "folder":
        found = paths.map(lambda p: p.parent.name or None)
        how = "its folder"
    else:
        found = paths.map(lambda p: camera_in_name(p, regex))
        how = (
            f"camera={regex!r}" if regex else "its name (no date in it, or nothing before its date)"
        )
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


def write_season(
    result: Season, out: str | Path, forecast: pd.DataFrame | None = None
) -> list[Path]:
    """Write ``season.csv``, ``transitions.csv``, ``photos.csv`` and the figures; the
    figures of an earlier season in ``out/figures`` (cameras no longer in it) are removed.
    With a ``forecast`` (:func:`vitiseg.season_forecast.forecast`), ``forecast.csv`` too,
    drawn on the figures; without, an earlier season's ``forecast.csv`` is removed.

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
        plot_camera(result.season, result.transitions, camera, path, forecast)
        written.append(path)
    path = layout.figures / "leaf_cover_by_camera.png"
    plot_cameras(result.season, path)
    written.append(path)
    for earlier in set(layout.figures.glob("*.png")) - set(written):
        earlier.unlink()
    if forecast is not None:
        written.append(write_forecast(forecast, out))
    else:
        layout.forecast.unlink(missing_ok=True)
    return written


def with_unreadable(photos: pd.DataFrame, failed: list[tuple[Path, str]]) -> pd.DataFrame:
    """``photos`` (the rows of ``photos.csv``) and a row for each photo that could not be
    read: its file, its camera and day where its name gives them
    (:func:`vitiseg.data.photos.parse_name`), and ``dropped`` = ``unreadable: REASON``.

    Args:
        failed: ``(photo, message)`` pairs, as :class:`vitiseg.predict.PredictReport` lists them.
    """
    if not failed:
        return photos
    rows = []
    for path, message in failed:
        name = parse_name(Path(path).stem)
        reason = str(message).removeprefix(f"{path}: ")
        rows.append({
            "file": str(Path(path).resolve()), "camera": name.camera or "",
            "date": pd.Timestamp(name.taken).normalize() if name.taken else pd.NaT,
            "dropped": f"unreadable: {reason}",
        })  # fmt: skip
    added = pd.DataFrame(rows)
    return pd.concat([photos, added], ignore_index=True) if len(photos) else added


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
    model: Model, inputs: list[str], out: str | Path, recursive: bool = False,
    overwrite: bool = False,
) -> tuple[pd.DataFrame, PredictReport]:  # fmt: skip
    """Predict the photos of ``inputs`` into ``out/predictions`` (photos done by an earlier
    call with this model are reused, those of earlier calls not given again kept; another
    model's predictions are redone with ``overwrite``, else refused) and read every
    photo's row."""
    photos = collect_photos(inputs, recursive, exclude=Path(out))
    predictions = SeasonFolder(out).predictions
    worker = PhotoPredictor(model, predictions.root, False, False)
    kept = earlier_rows(predictions.root, photos, model)
    report = predict_photos(photos, worker, kept=kept, replace_other_models=overwrite)
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
