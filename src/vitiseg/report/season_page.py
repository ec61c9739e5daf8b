"""What the page of a ``vitiseg season`` folder shows: counts, transition dates, the trait
curves per camera (its figures), and the photos the quality checks dropped, with reasons.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vitiseg.report.embed import png_file_uri
from vitiseg.report.page import Page
from vitiseg.run import SeasonFolder

DROPPED_LIMIT = 500


def _csv(path: Path, page: Page, consequence: str) -> pd.DataFrame | None:
    if not path.is_file():
        page.lack(path.name, consequence)
        return None
    try:
        return pd.read_csv(path, encoding="utf-8", keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        page.notes.append(f"{path.name} could not be read: {exc}")
        return None


def season_page(folder: Path, dropped_limit: int = DROPPED_LIMIT) -> Page:
    """Everything the season template shows for ``folder``."""
    page = Page(folder.resolve(), "season", title=f"vitiseg season {folder.resolve().name}")
    layout = SeasonFolder(folder)
    season = _csv(layout.tables["season"], page, "no daily traits")
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
    if transitions is not None:
        page.sections["transitions"] = transitions.astype(str).values.tolist()
        page.sections["transition_columns"] = list(transitions.columns)
    figures = layout.figures
    if figures.is_dir():
        page.sections["figures"] = [
            (path.stem, png_file_uri(path)) for path in sorted(figures.glob("*.png"))
        ]
    else:
        page.lack("figures/", "no trait curves")
    return page
