"""What the page of a ``vitiseg season`` folder shows: counts, the gaps that split the
curves, transition dates, the trait curves per camera (its figures), and the photos the
quality checks dropped, with reasons.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vitiseg.report.embed import png_file_uri
from vitiseg.report.facts import read_facts
from vitiseg.report.page import Page, check_columns, read_json
from vitiseg.report.run_page import trait_rows
from vitiseg.run import Run, SeasonFolder

DROPPED_LIMIT = 500


def _csv(path: Path, page: Page, consequence: str) -> pd.DataFrame | None:
    if not path.is_file():
        page.lack(path.name, consequence)
        return None
    try:
        return pd.read_csv(path, encoding="utf-8", keep_default_na=False, dtype={"camera": str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        page.notes.append(f"{path.name} could not be read: {exc}")
        return None


def season_page(folder: Path, dropped_limit: int = DROPPED_LIMIT) -> Page:
    """Everything the season template shows for ``folder``."""
    page = Page(folder.resolve(), "season", title=f"vitiseg season {folder.resolve().name}")
    layout = SeasonFolder(folder)
    season = _csv(layout.tables["season"], page, "no daily traits")
    if season is not None:
        check_columns(season, layout.tables["season"], dates=("date",))
    transitions = _csv(layout.tables["transitions"], page, "no transition dates")
    photos = _csv(layout.tables["photos"], page, "no list of dropped photos")
    counts = {}
    if season is not None and {"camera", "date"} <= set(season.columns):
        counts["cameras"] = season["camera"].nunique()
        counts["days"] = len(season.drop_duplicates(["camera", "date"]))
    if photos is not None and "dropped" in photos:
        dropped = photos[photos["dropped"].astype(str) != ""]
        counts["photos"] = len(photos)
        counts["dropped"] = len(dropped)
        columns = [c for c in ("file", "camera", "date", "dropped") if c in dropped]
        page.sections["dropped"] = dropped[columns].head(dropped_limit).astype(str).values.tolist()
        page.sections["dropped_columns"] = columns
        if len(dropped) > dropped_limit:
            page.notes.append(
                f"The first {dropped_limit} of {len(dropped)} dropped photos are listed; "
                "photos.csv holds them all."
            )
    page.sections["counts"] = counts
    page.sections["traits"] = _model_traits(read_facts(folder).get("season", {}), page)
    if season is not None and {"camera", "date", "segment"} <= set(season.columns):
        page.sections["gaps"] = gaps(season)
    if transitions is not None:
        page.sections["transitions"] = transitions.astype(str).values.tolist()
        page.sections["transition_columns"] = list(transitions.columns)
    if layout.forecast.is_file():
        forecast = _csv(layout.forecast, page, "no forecast")
        if forecast is not None:
            days, end, rows = forecast_rows(forecast)
            page.sections.update(forecast_days=days, forecast_end=end, forecast=rows)
    figures = layout.figures
    if figures.is_dir():
        page.sections["figures"] = [
            (path.stem, png_file_uri(path)) for path in sorted(figures.glob("*.png"))
        ]
    else:
        page.lack("figures/", "no trait curves")
    return page


def _model_traits(facts: dict, page: Page) -> list[dict] | None:
    """The trait errors measured for the model that predicted the photos (its run's test
    evaluation), with the unreliable ones marked; None for a season of true masks."""
    if not facts.get("model"):
        return None
    summary = read_json(Run(Path(facts["model"])).summary)
    if summary and summary.get("traits") == {}:
        page.notes.append(
            f"The model {facts['model']} has none of the classes its traits are compared on "
            "(no leaf, no inter-row): no trait error was measured."
        )
        return None
    if not summary or not summary.get("traits"):
        page.notes.append(
            f"No measured trait errors for the model {facts['model']} (its run folder has no "
            "summary.json with traits: `vitiseg evaluate RUN` measures them): read the "
            "figures without knowing how far they can be trusted."
        )
        return None
    return trait_rows(summary["traits"])


def forecast_rows(forecast: pd.DataFrame) -> tuple[int, str, list[tuple[str, ...]]]:
    """The days ``forecast.csv`` reaches past the season's last photo, its last day, and
    per camera and trait: the last day with a photo, the forecast a week after it and on
    the last day (each ``value (lower to upper)``), the method and the note (or why there
    is no forecast).

    Example:
        >>> table = pd.DataFrame({"camera": ["c"] * 2, "trait": ["leaf_cover"] * 2,
        ...     "origin": ["2024-06-01"] * 2, "date": ["2024-06-08", "2024-06-16"], "horizon": [7, 15], "value": [0.4, 0.45],
        ...     "lower": [0.35, 0.36], "upper": [0.45, 0.52], "method": ["damped"] * 2, "note": ["", ""]})
        >>> forecast_rows(table)
        (15, '2024-06-16', [('c', 'leaf_cover', '2024-06-01', '0.4 (0.35 to 0.45)', '0.45 (0.36 to 0.52)', 'damped', '')])
    """
    table = forecast.assign(horizon=pd.to_numeric(forecast["horizon"], errors="coerce"))
    for column in ("value", "lower", "upper"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    last_day = pd.to_datetime(table["date"], errors="coerce").max()
    days = (
        (last_day - pd.to_datetime(table["origin"], errors="coerce").max()).days
        if pd.notna(last_day)
        else 0
    )

    def shown(row) -> str:
        if row is None:
            return ""
        band = f" ({row.lower:.4g} to {row.upper:.4g})" if pd.notna(row.lower) else ""
        return f"{row.value:.4g}{band}"

    rows = []
    for (camera, trait), group in table.groupby(["camera", "trait"], sort=True):
        made = group[group["value"].notna()].set_index("horizon", drop=False)
        week = next(iter(made[made["horizon"] >= 7].itertuples()), None)
        last = next(iter(made.tail(1).itertuples()), None)
        rows.append((str(camera), str(trait), str(group["origin"].iloc[0]), shown(week), shown(last),
                     str(group["method"].iloc[0]), str(group["note"].iloc[0])))  # fmt: skip
    return int(days), "" if pd.isna(last_day) else f"{last_day:%Y-%m-%d}", rows


def gaps(season: pd.DataFrame) -> list[tuple[str, str, str, int]]:
    """``(camera, last day before, first day after, days between)`` for each gap that
    splits a camera's curves: ``season.csv``'s ``segment`` changes from one day with a
    usable photo to the next (days inside a gap have segment -1).

    Example:
        >>> table = pd.DataFrame({"camera": ["c"] * 4, "date": ["2024-05-01", "2024-05-03",
        ...     "2024-05-20", "2024-05-30"], "segment": [0, 0, -1, 1]})
        >>> gaps(table)
        [('c', '2024-05-03', '2024-05-30', 26)]
    """
    usable = ~season["segment"].astype(str).isin(["", "-1"])
    days = season[usable].drop_duplicates(["camera", "date"])
    found = []
    for camera, rows in days.sort_values(["camera", "date"]).groupby("camera", sort=True):
        dates, segments = list(rows["date"].astype(str)), list(rows["segment"].astype(str))
        for before, after, a, b in zip(dates, dates[1:], segments, segments[1:], strict=False):
            if a != b:
                between = (pd.Timestamp(after) - pd.Timestamp(before)).days - 1
                found.append((str(camera), before, after, between))
    return found
