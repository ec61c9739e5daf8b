"""One self-contained HTML page per folder: ``FOLDER/report.html``.

Each kind of folder has a detector (which files make it that kind), a builder (a function
``FOLDER -> Page`` that reads the files) and a Jinja2 template in ``templates/``. A new
kind (the season tables, say) is one more entry in :data:`KINDS`, placed before the kinds
whose files its folders also hold (the first kind detected wins). Pictures are embedded
as ``data:`` URIs, so the page opens from disk, sent by mail, with no network.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import jinja2

from vitiseg import __version__
from vitiseg.errors import DataError
from vitiseg.report.facts import record_facts
from vitiseg.report.page import Page
from vitiseg.report.predict_page import predict_page
from vitiseg.report.run_page import run_page
from vitiseg.report.season_page import season_page
from vitiseg.run import (
    CANOPY_TABLE,
    CONFIG_FILE,
    HISTORY_FILE,
    SPLIT_FILE,
    SUMMARY_FILE,
    TEST_CSV,
    TRAIN_CSV,
)
from vitiseg.util.atomic import write_text

REPORT_FILE = "report.html"


@dataclass(frozen=True)
class Kind:
    """A kind of folder and how its page is made."""

    detect: Callable[[Path], bool]
    build: Callable[[Path], Page]
    template: str
    what: str


def _has(*patterns: str) -> Callable[[Path], bool]:
    return lambda folder: any(next(folder.glob(p), None) is not None for p in patterns)


KINDS: dict[str, Kind] = {
    "season": Kind(
        _has("season.csv", "transitions.csv"), season_page, "season.html.j2", "season (season.csv)"
    ),
    "predict": Kind(
        _has(CANOPY_TABLE, "masks", "overlays"), predict_page, "predict.html.j2",
        f"predict ({CANOPY_TABLE})",
    ),
    "run": Kind(
        _has(CONFIG_FILE, HISTORY_FILE, SPLIT_FILE, TRAIN_CSV.format(name="*")),
        partial(run_page, kind="run"),
        "run.html.j2",
        f"train run ({CONFIG_FILE}, {HISTORY_FILE})",
    ),
    "evaluation": Kind(
        _has(SUMMARY_FILE, TEST_CSV.format(name="*")),
        partial(run_page, kind="evaluation"),
        "run.html.j2",
        f"evaluate ({SUMMARY_FILE})",
    ),
}  # fmt: skip


def detect_kind(folder: str | Path) -> str:
    """The first kind of :data:`KINDS` whose files ``folder`` holds.

    Raises:
        DataError: ``folder`` is not a folder, or none of the kinds' files are in it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    for name, kind in KINDS.items():
        if kind.detect(folder):
            return name
    raise DataError(
        f"{folder}: not a vitiseg folder; a report needs the output of "
        + ", ".join(k.what for k in KINDS.values())
    )


def _number(value, digits: int = 3) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    return f"{value:.{digits}f}"


def _when(value) -> str:
    """An ISO time as ``2025-06-01 14:03 (+02:00)``; anything else as it is."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    zone = moment.strftime(" (UTC%z)") if moment.tzinfo else ""
    return moment.strftime("%Y-%m-%d %H:%M") + zone


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vitiseg.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _number
    env.filters["when"] = _when
    env.filters["percent"] = lambda v: "n/a" if v is None else f"{100 * v:.1f} %"
    return env


def render(page: Page, template: str) -> str:
    """The page's HTML from ``template`` (autoescaped: names cannot inject markup)."""
    return (
        _environment()
        .get_template(template)
        .render(
            page=page,
            sections=page.sections,
            version=__version__,
            written=datetime.now().astimezone().isoformat(timespec="seconds"),
        )
    )


def write_report(folder: str | Path, command: str | None = None, facts: dict | None = None) -> Path:
    """Write ``FOLDER/report.html`` (atomically) for the kind of folder it is; return its path.

    Args:
        folder: a run, evaluate or predict output folder.
        command: the command that just wrote the folder; with ``facts`` (speed, failures)
            and this machine, it is kept in ``report-facts.json`` for later pages.
        facts: what only that command knows, JSON-serialisable.

    Raises:
        DataError: ``folder`` is none of the known kinds.
    """
    folder = Path(folder)
    kind = detect_kind(folder)
    if command:
        record_facts(folder, command, facts)
    page = KINDS[kind].build(folder)
    target = folder / REPORT_FILE
    write_text(target, render(page, KINDS[kind].template))
    return target


def report_after(folder: str | Path, command: str, facts: dict | None = None) -> Path | None:
    """:func:`write_report` at the end of a command: a failure is a warning, never its end."""
    try:
        path = write_report(folder, command, facts)
    except Exception as exc:  # the command's own results are written; the page is a bonus
        print(f"warning: no {REPORT_FILE} written in {folder}: {exc}", file=sys.stderr)
        return None
    print(f"Report: {path}")
    return path
