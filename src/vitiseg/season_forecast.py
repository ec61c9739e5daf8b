"""What the canopy will be in the next days: the ``vitiseg forecast`` job (also run by
``vitiseg season --forecast``).

Reads a season's daily values (``season.csv`` of a ``vitiseg season`` folder, or a table),
forecasts each camera's traits with :mod:`vitiseg.canopy.forecast`, writes
``forecast.csv`` and draws the forecasts on the season's figures; :func:`backtest` scores
the method on the season itself (rolling origin), against persistence and a straight line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vitiseg.canopy.circular import around, circular_mean
from vitiseg.canopy.forecast import (
    BASELINES,
    CHOSEN,
    CI,
    DEFAULT,
    HORIZON,
    Method,
    backtest_series,
    forecast_series,
)
from vitiseg.canopy.season_curves import TRANSITION_COLUMNS
from vitiseg.canopy.trait_table import CIRCULAR, DAILY
from vitiseg.canopy.transitions import MAX_GAP
from vitiseg.errors import DataError
from vitiseg.report.season_figures import figure_name, plot_camera
from vitiseg.rules import FORECAST_DAYS, GAP_DAYS, OPEN_SHARE, check
from vitiseg.run import SeasonFolder
from vitiseg.util.atomic import atomic_path

COLUMNS = ["camera", "trait", "origin", "date", "horizon", "value", "lower", "upper", "method", "note"]  # fmt: skip
"""``forecast.csv``: ``origin`` the camera's last day with a photo, ``horizon`` days after
it; ``note`` why there is no forecast, or what to know about it."""
AUTHOR_TRAITS = ("canopy_height", "porosity", "leaf_hue", "inter_row_hue")
"""The four traits the data's author forecasts (nicolasgeffroy/agrocam_vine_chara)."""


def daily_values(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Each camera's daily trait values, tidy: ``camera, date, trait, value``, one row per
    camera, trait and day, sorted (so nothing depends on the order of the rows given).

    Args:
        source: a ``vitiseg season`` folder (its ``season.csv``), or a table: tidy (``camera,
            date, trait, value``, as ``season.csv``) or wide (``camera, date`` and a column
            per trait). Several rows of one camera, day and trait are summarised as the
            season does: their median (hues: their circular mean).

    Raises:
        DataError: no such folder or table, columns missing, dates or values that are not.
    """
    if isinstance(source, str | Path):
        table, where = read_season(source), str(SeasonFolder(source).tables["season"])
    else:
        table, where = source, "the table"
    missing = [c for c in ("camera", "date") if c not in table]
    if missing:
        raise DataError(f"{where}: no {', '.join(missing)} column (a season's daily values)")
    if {"trait", "value"} <= set(table.columns):
        tidy = table[["camera", "date", "trait", "value"]]
        tidy = tidy[tidy["trait"].isin(DAILY)]
    else:
        traits = [t for t in DAILY if t in table]
        if not traits:
            raise DataError(f"{where}: no trait column ({', '.join(DAILY)}) nor trait/value columns")  # fmt: skip
        tidy = table.melt(["camera", "date"], traits, "trait", "value")
    tidy = tidy.assign(
        camera=tidy["camera"].astype(str),
        date=_column(tidy["date"], where, "date", pd.to_datetime).dt.normalize(),
        value=_column(tidy["value"], where, "value", pd.to_numeric),
    )
    keys = ["camera", "trait", "date"]
    if tidy.duplicated(keys).any():
        hues = tidy["trait"].isin(CIRCULAR)
        tidy = pd.concat([
            tidy[~hues].groupby(keys)["value"].median(),
            tidy[hues].groupby(keys)["value"].agg(lambda v: circular_mean(v.to_numpy(float))),
        ]).reset_index()  # fmt: skip
    return tidy.sort_values(keys, kind="stable").reset_index(drop=True)[["camera", "date", "trait", "value"]]  # fmt: skip


def _column(values: pd.Series, where: str, name: str, parse) -> pd.Series:
    """``values`` parsed (``pd.to_datetime``, ``pd.to_numeric``); empty cells stay missing.

    Raises:
        DataError: a cell that does not parse, with its line.
    """
    parsed = parse(values, errors="coerce")
    bad = parsed.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if name == "date":
        bad |= values.isna()
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise DataError(f"{where}: {name} {values.iloc[row]!r} on line {row + 2} is not a {name}")
    return parsed


def read_season(folder: str | Path) -> pd.DataFrame:
    """``season.csv`` of a ``vitiseg season`` folder.

    Raises:
        DataError: no such folder or no ``season.csv`` in it.
    """
    path = SeasonFolder(folder).tables["season"]
    if not Path(folder).is_dir():
        raise DataError(f"{folder}: no such folder (give the output folder of `vitiseg season`)")
    if not path.is_file():
        raise DataError(f"{folder}: no season.csv; run `vitiseg season PHOTOS -o {folder}` first")
    return pd.read_csv(path, dtype={"camera": str, "trait": str})


def forecast(
    source: str | Path | pd.DataFrame,
    days: int = HORIZON,
    ci: float = CI,
    max_gap: float = MAX_GAP,
    origin: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Each camera's traits for the ``days`` days after ``origin``, with a ``ci`` prediction
    interval (:mod:`vitiseg.canopy.forecast`).

    Args:
        source: a season folder or a table (:func:`daily_values`).
        days: days ahead.
        ci: coverage of the intervals (0.8: the forecast plus or minus the 80 % quantile of
            its past absolute errors).
        max_gap: days without a photo that restart a camera's history.
        origin: the day the forecast is made on (photos after it are left out); None: the
            season's last day. A camera whose last photo is older forecasts from that photo
            (said in ``note``), none when it is more than ``max_gap`` days older.

    Returns:
        ``forecast.csv``'s table (:data:`COLUMNS`): a row per camera, trait and day ahead,
        or one row with the ``note`` saying why a camera's trait has no forecast.

    Raises:
        ConfigError: a setting out of its range.
        DataError: no daily values.

    Example:
        >>> table = pd.DataFrame({"camera": "c", "date": pd.date_range("2024-05-01", periods=30),
        ...                       "leaf_cover": np.linspace(0.1, 0.4, 30)})
        >>> result = forecast(table, days=2)
        >>> result["date"].dt.strftime("%m-%d").tolist(), result["horizon"].tolist()
        (['05-31', '06-01'], [1, 2])
        >>> bool(((result["lower"] < result["value"]) & (result["value"] < result["upper"])).all())
        True
    """
    check("days", days, FORECAST_DAYS)
    check("ci", ci, OPEN_SHARE)
    check("max_gap", max_gap, GAP_DAYS)
    values = daily_values(source)
    if values["value"].notna().sum() == 0:
        raise DataError("no daily values to forecast")
    origin = values["date"].max() if origin is None else pd.Timestamp(origin).normalize()
    rows = []
    for (camera, trait), group in values.groupby(["camera", "trait"], sort=True):
        seen = group[(group["date"] <= origin) & group["value"].notna()]
        if seen.empty:
            rows.append(_note_row(camera, trait, pd.NaT, f"no value up to {origin:%Y-%m-%d}"))
            continue
        last, start = seen["date"].max(), seen["date"].min()
        lead = (origin - last).days
        if lead > max_gap:
            rows.append(_note_row(camera, trait, last, (
                f"last photo on {last:%Y-%m-%d}, {lead} days before the forecast origin "
                f"{origin:%Y-%m-%d} (more than max_gap={max_gap:g}): no forecast")))  # fmt: skip
            continue
        day_numbers = (seen["date"] - start).dt.days.to_numpy(float)
        made = forecast_series(day_numbers, seen["value"].to_numpy(float), trait, days, ci, max_gap, lead=lead)  # fmt: skip
        if made.reason:
            since = start + pd.Timedelta(days=made.since) if np.isfinite(made.since) else start
            rows.append(_note_row(camera, trait, last, f"{made.reason} (since {since:%Y-%m-%d})"))
            continue
        note = "" if not lead else (
            f"last photo on {last:%Y-%m-%d}, {lead} day(s) before the forecast origin "
            f"{origin:%Y-%m-%d}: forecast from it, {lead + 1} to {lead + days} days ahead")  # fmt: skip
        for k, ahead in enumerate(made.ahead):
            rows.append((camera, trait, last, last + pd.Timedelta(days=int(ahead)), int(ahead),
                         made.value[k], made.lower[k], made.upper[k], made.method, note))  # fmt: skip
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["horizon"] = table["horizon"].astype("Int64")
    return table


def _note_row(camera: str, trait: str, origin, note: str) -> tuple:
    return (camera, trait, origin, pd.NaT, None, np.nan, np.nan, np.nan, "", note)


def write_forecast(table: pd.DataFrame, folder: str | Path) -> Path:
    """Write ``forecast.csv`` (atomically) into a season folder; returns its path."""
    path = SeasonFolder(folder).forecast
    frame = table.copy()
    for column in ("origin", "date"):
        frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
    return path


def forecast_folder(
    folder: str | Path,
    days: int = HORIZON,
    ci: float = CI,
    max_gap: float = MAX_GAP,
    origin: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """``vitiseg forecast SEASON_DIR``: :func:`forecast` of the folder's season, written to
    its ``forecast.csv``, and its camera figures drawn again with the forecasts."""
    table = forecast(folder, days, ci, max_gap, origin)
    write_forecast(table, folder)
    layout = SeasonFolder(folder)
    season = read_season(folder)
    season["date"] = pd.to_datetime(season["date"])
    transitions_path = layout.tables["transitions"]
    transitions = pd.DataFrame(columns=TRANSITION_COLUMNS)
    if transitions_path.is_file():  # cameras named by digits stay names ("0012")
        transitions = pd.read_csv(transitions_path, dtype={"camera": str, "trait": str})
    for column in ("date", "lower", "upper"):
        transitions[column] = pd.to_datetime(transitions[column])
    for camera in sorted(season["camera"].unique()):
        plot_camera(season, transitions, camera, layout.figures / figure_name(camera), table)
    return table


def backtest(
    source: str | Path | pd.DataFrame,
    days: int = HORIZON,
    ci: float = CI,
    max_gap: float = MAX_GAP,
    methods: dict[str, tuple[Method, ...]] | None = None,
) -> pd.DataFrame:
    """Rolling-origin backtest of every camera and trait (:func:`vitiseg.canopy.forecast.backtest_series`):
    each trait's method and the baselines (persistence, a straight line) from every day
    with at least 15 days of history, 1 to ``days`` days ahead.

    Args:
        methods: per trait, the methods to score (default: its chosen one and the baselines).

    Returns:
        One row per camera, trait, method, origin and horizon: ``camera, trait, method,
        origin`` (a date), ``horizon, value, actual, error, half_width, inside``.
    """
    check("days", days, FORECAST_DAYS)
    check("ci", ci, OPEN_SHARE)
    check("max_gap", max_gap, GAP_DAYS)
    values = daily_values(source)
    frames = []
    for (camera, trait), group in values.dropna(subset=["value"]).groupby(["camera", "trait"], sort=True):  # fmt: skip
        start = group["date"].min()
        chosen = (methods or {}).get(trait) or (CHOSEN.get(trait, DEFAULT), *BASELINES)
        rows = backtest_series((group["date"] - start).dt.days.to_numpy(float),
                               group["value"].to_numpy(float), trait, chosen, days, ci, max_gap)  # fmt: skip
        rows["origin"] = start + pd.to_timedelta(rows["origin"], unit="D")
        frames.append(rows.assign(camera=camera, trait=trait))
    if not frames:
        raise DataError("no camera has the 15 days of history a backtest needs")
    rows = pd.concat(frames, ignore_index=True)
    return rows[["camera", "trait", *[c for c in rows.columns if c not in ("camera", "trait")]]]


def backtest_table(rows: pd.DataFrame, horizons: tuple[int, ...] = (1, 7, 15)) -> pd.DataFrame:
    """The backtest summed up per trait and horizon: each method's mean absolute error,
    the chosen method's against persistence's, and the share of actual values inside
    each method's band (``cover``)."""
    rows = rows[rows["horizon"].isin(horizons)].assign(absolute=rows["error"].abs())
    kinds = rows["method"].map(_kind)
    stats = rows.assign(kind=kinds).groupby(["trait", "horizon", "kind"], sort=False).agg(
        mae=("absolute", "mean"), cover=("inside", "mean"), n=("absolute", "size"))  # fmt: skip
    wide = stats.unstack("kind")
    table = pd.DataFrame(index=wide.index)
    for kind in ("chosen", "persistence", "straight line"):
        if ("mae", kind) in wide:
            table[f"{kind} MAE"] = wide[("mae", kind)]
            table[f"{kind} cover"] = wide[("cover", kind)]
    if {"chosen MAE", "persistence MAE"} <= set(table.columns):
        table.insert(1, "chosen / persistence", table["chosen MAE"] / table["persistence MAE"])
    table["n"] = wide[("n", "persistence")] if ("n", "persistence") in wide else wide["n"].max(axis=1)  # fmt: skip
    order = [t for t in DAILY if t in set(table.index.get_level_values("trait"))]
    return table.reindex(pd.MultiIndex.from_product([order, list(horizons)], names=["trait", "horizon"])).dropna(how="all")  # fmt: skip


def _kind(method: str) -> str:
    if method.startswith("persistence"):
        return "persistence"
    return "straight line" if method.startswith("straight line") else "chosen"


def halved_mse(rows: pd.DataFrame, values: pd.DataFrame, traits=AUTHOR_TRAITS) -> pd.Series:
    """The data's author's figure: the mean squared error over 1-15 days ahead of traits
    z-scored over the season (each trait's values minus their mean, over their standard
    deviation; hues around their circular mean), divided by 2 (his "sum of squares / (2 x
    batch)"), per method, over the ``traits`` present.

    Args:
        rows: :func:`backtest`'s rows.
        values: the season's :func:`daily_values` (for each trait's standard deviation).
    """
    spread = {}
    for trait in traits:
        seen = values.loc[values["trait"] == trait, "value"].dropna().to_numpy(float)
        if len(seen) > 1:
            centred = around(seen, circular_mean(seen)) if trait in CIRCULAR else seen
            spread[trait] = float(np.std(centred))
    used = rows[rows["trait"].isin(list(spread))]
    scaled = used["error"] / used["trait"].map(spread)
    return (scaled**2).groupby(used["method"].map(_kind)).mean() / 2


def forecast_lines(table: pd.DataFrame) -> list[str]:
    """What the command line prints of a forecast: per camera and trait, the last day's
    value and band, and the notes.

    Example:
        >>> table = pd.DataFrame([("c", "leaf_cover", pd.Timestamp("2024-06-01"),
        ...     pd.Timestamp("2024-06-16"), 15, 0.41, 0.35, 0.47, "damped trend", "")], columns=COLUMNS)
        >>> forecast_lines(table)
        ['  c leaf_cover on 2024-06-16 (15 days after 2024-06-01): 0.41 (interval 0.35 to 0.47), damped trend']
    """
    lines, noted = [], set()
    for (camera, trait), rows in table.groupby(["camera", "trait"], sort=True):
        made = rows[rows["value"].notna()]
        if made.empty:
            lines.append(f"  {camera} {trait}: no forecast: {rows['note'].iloc[0]}")
            continue
        last = made.loc[made["horizon"].idxmax()]
        band = f" (interval {last.lower:.4g} to {last.upper:.4g})" if pd.notna(last.lower) else " (no interval: too few errors seen)"  # fmt: skip
        lines.append(f"  {camera} {trait} on {last.date:%Y-%m-%d} ({last.horizon} days after "
                     f"{last.origin:%Y-%m-%d}): {last.value:.4g}{band}, {last.method}")  # fmt: skip
        if last.note and (camera, last.note) not in noted:  # a camera's note once
            lines.append(f"    note: {last.note}")
            noted.add((camera, last.note))
    return lines


@dataclass
class BacktestSummary:
    """:func:`backtest_summary`'s result: the table per trait and horizon, the author's
    figure per method, each trait's chosen method."""

    table: pd.DataFrame
    halved_mse: pd.Series
    methods: dict[str, str]
    origins: int

    def lines(self) -> list[str]:
        """The summary as the command line and the benchmark print it."""
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            text = self.table.to_string(float_format=lambda v: f"{v:.3g}")
        out = [f"Rolling-origin backtest: {self.origins} forecast origins (camera-days with at "
               "least 15 days of history), mean absolute error (MAE) and the share of values "
               "inside each method's band (cover)", text, "Methods chosen:"]  # fmt: skip
        out += [f"  {trait}: {method}" for trait, method in self.methods.items()]
        if len(self.halved_mse):
            figures = ", ".join(f"{kind} {value:.3f}" for kind, value in self.halved_mse.items())
            out.append(f"The author's figure (MSE / 2 of z-scored {', '.join(AUTHOR_TRAITS)}, 1-15 days "
                       f"ahead): {figures}")  # fmt: skip
        return out


def backtest_summary(
    source: str | Path | pd.DataFrame,
    days: int = HORIZON,
    ci: float = CI,
    max_gap: float = MAX_GAP,
    horizons: tuple[int, ...] | None = None,
) -> BacktestSummary:
    """``vitiseg forecast --backtest``: :func:`backtest` of a season, summed up by
    :func:`backtest_table` (at 1, 7 and ``days`` days by default) and :func:`halved_mse`."""
    values = daily_values(source)
    rows = backtest(values, days, ci, max_gap)
    horizons = horizons or tuple(sorted({h for h in (1, 7, days) if h <= days}))
    chosen = rows[rows["method"].map(_kind) == "chosen"].drop_duplicates("trait")
    methods = dict(zip(chosen["trait"], chosen["method"], strict=True))
    origins = len(rows[["camera", "origin"]].drop_duplicates())
    return BacktestSummary(
        backtest_table(rows, horizons), halved_mse(rows, values), methods, origins
    )
