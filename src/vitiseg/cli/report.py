"""`vitiseg report`: write FOLDER/report.html again, for a run, evaluate or predict folder."""

from __future__ import annotations

import argparse
import time

from vitiseg.cli import options as o


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``vitiseg report`` and its options to the sub-commands."""
    p = sub.add_parser(
        "report",
        help="write FOLDER/report.html: one page to open in a browser (or send)",
        description="Write FOLDER/report.html, a single self-contained page (pictures inside, "
        "no network): for a train run folder, its data, settings, training curves, test figures "
        "per class, confusion matrix and test photos worst first; for an evaluate folder, its "
        "test figures and photos; for a predict folder, its counts, speed, failures, overlays "
        "and leaf cover. train, evaluate and predict write it themselves; this writes it again "
        "(after an upgrade, or for a folder from an older vitiseg: the page says what is missing).",
    )
    p.add_argument(
        "folder",
        type=o.existing_folder,
        help="a run folder, an evaluate output folder or a predict folder",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``vitiseg report``: write ``FOLDER/report.html`` again; returns the exit code."""
    from vitiseg.report.html import write_report  # pandas, matplotlib: not at --help time

    started = time.monotonic()
    path = write_report(args.folder)
    size = path.stat().st_size / 1e6
    print(f"Report: {path} ({size:.1f} MB, {time.monotonic() - started:.1f} s)")
    return 0
