"""What the page of a ``vitiseg predict`` folder shows: counts, speed, failures, overlays, covers.

Read from ``canopy.csv``, ``overlays/`` and the facts the predict command recorded
(speed and failed photos are known only when it did).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from vitiseg.data.photos import IMAGE_EXTENSIONS
from vitiseg.errors import DataError
from vitiseg.report.embed import jpeg_uri
from vitiseg.report.facts import read_facts
from vitiseg.report.page import Page, check_columns, number
from vitiseg.report.plots import histogram_uri
from vitiseg.run import PredictFolder

OVERLAY_LIMIT = 24


def predict_page(folder: Path, overlay_limit: int = OVERLAY_LIMIT) -> Page:
    """Everything the predict template shows for ``folder``."""
    page = Page(folder.resolve(), "predict", title=f"vitiseg predictions {folder.resolve().name}")
    facts = read_facts(folder).get("predict", {})
    layout = PredictFolder(folder)
    table = _read_canopy(layout.table, page)
    if table is not None:
        numbers = [c for c in table.columns if c.startswith("cover_")]
        check_columns(table, layout.table, (*numbers, "leaf_cover", "lai_estimate"))
    overlays, masks = layout.overlays, layout.masks
    overlay_files = (
        sorted(p for p in overlays.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        if overlays.is_dir()
        else []
    )
    page.sections["counts"] = {
        "rows": None if table is None else len(table),
        "masks": sum(1 for _ in masks.rglob("*.png")) if masks.is_dir() else 0,
        "overlays": len(overlay_files),
    }
    if not masks.is_dir():
        page.lack("masks/", "no predicted masks in this folder")
    page.sections["run"] = _run_facts(facts)
    if not facts:
        page.notes.append(
            "Speed and failed photos are not recorded in this folder (it was written by an "
            "older vitiseg, or by hand)."
        )
    if table is not None:
        page.sections["distribution"] = _distribution(table)
    if not overlays.is_dir():
        page.lack("overlays/", "no overlay pictures (predicted with --no-overlays?)")
    page.sections["overlays"] = _overlay_sample(overlays, overlay_files, table, overlay_limit)
    return page


def _read_canopy(path: Path, page: Page) -> pd.DataFrame | None:
    if not path.is_file():
        page.lack(path.name, "no leaf cover figures")
        return None
    try:
        return pd.read_csv(path, encoding="utf-8", encoding_errors="surrogateescape")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        page.notes.append(f"canopy.csv could not be read: {exc}")
        return None


def _run_facts(facts: dict) -> dict | None:
    if not facts:
        return None
    done, seconds = facts.get("done"), number(facts.get("seconds"))
    return {
        "done": done,
        "skipped": facts.get("skipped"),
        "failed": [(str(p), str(m)) for p, m in facts.get("failed") or []],
        "seconds": seconds,
        "rate": done / seconds if done and seconds else None,
        "model": facts.get("model"),
        "device": facts.get("device"),
        "precision": facts.get("precision"),
        "finished": facts.get("finished"),
        "machine": facts.get("machine") or {},
    }


def _distribution(table: pd.DataFrame) -> dict:
    """Histograms of leaf cover and the LAI estimate; summary statistics of every cover."""
    pictures = [
        histogram_uri(table[column].to_numpy(float), label)
        for column, label in (("leaf_cover", "Leaf cover"), ("lai_estimate", "LAI estimate"))
        if column in table
    ]
    columns = [c for c in table.columns if c.startswith("cover_")] + [
        c for c in ("leaf_cover", "lai_estimate") if c in table
    ]
    stats = []
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce").dropna()
        if values.empty:
            continue
        stats.append(
            {
                "name": column,
                "mean": float(values.mean()),
                "median": float(values.median()),
                "min": float(values.min()),
                "max": float(values.max()),
            }
        )
    return {"pictures": pictures, "stats": stats}


def _overlay_sample(
    overlays: Path, files: list[Path], table: pd.DataFrame | None, limit: int
) -> dict:
    """Overlays evenly spread from the lowest leaf cover to the highest."""
    covers = _cover_by_key(table)
    items = []
    for path in files:
        key = path.relative_to(overlays).with_suffix("").as_posix()
        items.append({"key": key, "path": path, "cover": covers.get(key)})
    items.sort(key=lambda i: (i["cover"] is None, i["cover"] or 0.0, i["key"]))
    shown = items
    if len(items) > limit:
        picks = np.linspace(0, len(items) - 1, limit).round().astype(int)
        shown = [items[i] for i in dict.fromkeys(picks.tolist())]
    for item in shown:
        try:
            with Image.open(item["path"]) as picture:
                item["picture"] = jpeg_uri(picture.convert("RGB"), width=320)
        except (OSError, SyntaxError, ValueError) as exc:  # PIL's ways to fail on a bad file
            raise DataError(
                f"{item['path']}: not a readable overlay ({exc.__class__.__name__}); delete it, "
                "or predict its photo again with --overwrite"
            ) from None
    return {"items": shown, "shown": len(shown), "total": len(items)}


def _cover_by_key(table: pd.DataFrame | None) -> dict[str, float]:
    """Overlay key (photo path under the input folder, no extension) -> leaf cover."""
    if table is None or "file" not in table or "leaf_cover" not in table:
        return {}
    found: dict[str, float] = {}
    for file, cover in zip(table["file"].astype(str), table["leaf_cover"], strict=True):
        parts = Path(file).with_suffix("").as_posix().split("/")
        for i in range(len(parts)):  # the key is a tail of the photo's path
            found.setdefault("/".join(parts[i:]), number(cover))
    return found
