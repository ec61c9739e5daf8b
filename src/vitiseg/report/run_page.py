"""What the page of a train or evaluate folder shows, read from the files those commands wrote.

Nothing is recomputed: figures come from ``summary.json``, ``Test_NAME.csv`` and
``history.json``; pictures from the run's PNGs and the photos its ``split.csv`` names.
A file that is not there becomes a line in the page's "missing" box, never an error.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from vitiseg.canopy.roles import DEFAULT_LEAF
from vitiseg.canopy.trait_accuracy import reliable
from vitiseg.canopy.trait_table import BY_NAME
from vitiseg.data.imageio import decode_image, read_mask
from vitiseg.data.masks import parse_class_map, remap
from vitiseg.report.embed import jpeg_uri, png_file_uri, shrink_mask, thumbnail
from vitiseg.report.facts import read_facts
from vitiseg.report.history import is_history
from vitiseg.report.overlay import overlay
from vitiseg.report.page import Page, number, read_json, read_yaml
from vitiseg.report.plots import cover_scatter_uri, history_uri
from vitiseg.run import (
    CONFIG_FILE,
    CONFUSION_PLOT,
    HISTORY_FILE,
    METRICS_PLOT,
    SPLIT_FILE,
    SUMMARY_FILE,
    TEST_CSV,
    Run,
)

GALLERY_LIMIT = 40
LIST_LIMIT = 2000  # rows of the per-photo table, names per split: keeps the page under 5 MB
TABLE_METRICS = ("IoU", "Precision", "Recall", "F1")


def run_name(folder: Path, config: dict | None) -> str | None:
    """The NAME of ``Test_NAME.csv``: the config's, else the newest ``Test_*.csv``'s."""
    run = Run(folder)
    if config and config.get("name") and run.test_csv(str(config["name"])).is_file():
        return str(config["name"])
    if tests := run.test_names():
        return tests[-1]
    return str(config["name"]) if config and config.get("name") else None


def read_split_rows(path: Path) -> list[dict]:
    """Rows of a ``split.csv`` (name, split, image, mask), without checking the files."""
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
        return list(csv.DictReader(handle))


def read_test_table(path: Path) -> pd.DataFrame:
    """``Test_NAME.csv`` with its two header rows; the ``ALL`` row stays in."""
    table = pd.read_csv(path, header=[0, 1], index_col=0, encoding="utf-8")
    table.index = table.index.astype(str)
    return table


def run_page(folder: Path, kind: str = "run", gallery_limit: int = GALLERY_LIMIT) -> Page:
    """Everything the train/evaluate template shows for ``folder``."""
    run = Run(folder)
    page = Page(folder.resolve(), kind)
    facts = read_facts(folder)
    config = read_yaml(run.config_file)
    if kind == "run" and config is None:
        page.lack(CONFIG_FILE, "no data folder, model or settings")
    name = run_name(folder, config)
    page.title = f"vitiseg {'run' if kind == 'run' else 'evaluation'} {name or page.folder.name}"
    model = read_json(folder / "model.json")
    summary = read_json(run.summary)
    class_names = (
        (summary or {}).get("classes")
        or (config or {}).get("class_names")
        or (model or {}).get("class_names")
    )
    if not class_names:
        classes = int(
            (config or {}).get("classes") or (model or {}).get("spec", {}).get("classes") or 0
        )
        class_names = [f"Class {i}" for i in range(classes)]
    page.sections["commands"] = _commands(facts)
    photos = _photo_paths(folder, config, facts, page) if kind == "run" or facts else {}
    if kind == "run":
        page.sections["data"] = _data_section(folder, config)
        page.sections["model"] = _model_section(config, model)
        page.sections["training"] = _training_section(folder, class_names, page)
    test = run.test_csv(name) if name else None
    table = None
    if test and test.is_file():
        try:
            table = read_test_table(test)
        except (ValueError, IndexError, pd.errors.ParserError) as exc:
            page.notes.append(f"{test.name} could not be read ({exc}): no per-photo figures.")
    if summary is None:
        page.lack(
            SUMMARY_FILE,
            "no test figures: the run was trained with --no-test, or stopped before its test"
            " stage (`vitiseg evaluate RUN` writes them)",
        )
    if table is None and not (test and test.is_file()):
        page.lack(
            TEST_CSV.format(name=name or "NAME"), "no per-photo figures, gallery or cover scatter"
        )
    if summary is not None:
        page.sections["traits"] = trait_rows(summary.get("traits") or {})
        page.sections["classes"] = _class_table(summary, table, class_names)
        page.sections["confusion"] = _confusion_section(folder, summary, class_names, page)
    if table is not None:
        leaf = (summary or {}).get("leaf_class", DEFAULT_LEAF)  # None: no class is leaf
        ranked = _ranked_photos(table, len(class_names), leaf)
        page.sections["photos"] = ranked[:LIST_LIMIT]
        if len(ranked) > LIST_LIMIT:
            page.notes.append(
                f"The table of test photos lists the {LIST_LIMIT} worst of {len(ranked)}; "
                f"{run.test_csv(name).name} holds them all."
            )
        page.sections["scatter"] = _scatter(table)
        pictures = run.pictures(name or "")
        if not pictures.is_dir():
            page.lack(
                f"{run.pictures(name).relative_to(folder)}/", "no predicted pictures in the gallery"
            )
        page.sections["gallery"] = _gallery(
            ranked,
            photos,
            pictures,
            class_names,
            (config or {}).get("class_map"),
            gallery_limit,
            page,
        )
    return page


def _commands(facts: dict) -> list[dict]:
    """One row per command that recorded facts: when it finished, on which machine."""
    rows = []
    for command, entry in facts.items():
        if isinstance(entry, dict):
            rows.append(
                {
                    "command": command,
                    "model": entry.get("model"),
                    "finished": entry.get("finished", ""),
                    "machine": entry.get("machine", {}),
                }
            )
    return rows


def _photo_paths(folder: Path, config: dict | None, facts: dict, page: Page) -> dict:
    """name -> (photo, true mask) from ``split.csv`` (or what evaluate recorded)."""
    run = Run(folder)
    paths: dict[str, tuple[Path, Path]] = {}
    for command in ("evaluate", "train"):
        for name, (image, mask) in (facts.get(command, {}).get("photos") or {}).items():
            paths[name] = (Path(image), Path(mask))
    split = run.split_file
    if split.is_file():
        root = Path((config or {}).get("directory") or folder)
        for row in read_split_rows(split):
            if row.get("name") and row.get("image") and row.get("mask"):
                paths.setdefault(row["name"], (root / row["image"], root / row["mask"]))
    elif page.kind == "run":
        page.lack(SPLIT_FILE, "no split counts and no photos or true masks in the gallery")
    return paths


def _data_section(folder: Path, config: dict | None) -> dict:
    run = Run(folder)
    split = run.split_file
    rows = read_split_rows(split) if split.is_file() else []
    names: dict[str, list[str]] = {}
    for row in rows:
        names.setdefault(row.get("split") or "?", []).append(row.get("name") or "?")
    order = ["train", "valid", "test"] + sorted(set(names) - {"train", "valid", "test"})
    return {
        "directory": (config or {}).get("directory"),
        "splits": [
            (part, len(names[part]), names[part][:LIST_LIMIT]) for part in order if part in names
        ],
        "total": len(rows),
    }


SETTINGS = (
    "arch", "encoder", "encoder_weights", "decoder_channels", "classes", "class_names",
    "class_map", "loss", "class_weights", "epochs", "batch_size", "learning_rate",
    "weight_decay", "warmup", "ema", "crop_size", "crops_per_image", "augment", "scale",
    "precision", "accelerator", "devices", "num_nodes", "strategy", "seed", "max_time",
    "monitor", "patience",
)  # fmt: skip


def _model_section(config: dict | None, model: dict | None) -> dict:
    settings = [(key, config[key]) for key in SETTINGS if config and key in config]
    others = [(k, v) for k, v in (config or {}).items() if k not in SETTINGS]
    return {
        "spec": (model or {}).get("spec"),
        "exported": model is not None,
        "settings": settings,
        "other_settings": others,
    }


def _training_section(folder: Path, class_names: list[str], page: Page) -> dict | None:
    run = Run(folder)
    history = read_json(run.history)
    if not history or not is_history(history):
        page.lack(HISTORY_FILE, "no epoch table (training time, best epoch)")
        history = None
    section: dict = {}
    if (run.metrics_plot).is_file():
        section["curves"] = png_file_uri(run.metrics_plot)
    elif history and class_names:
        section["curves"] = history_uri(history, class_names)
    else:
        page.lack(METRICS_PLOT, "no metric curves")
    if history:
        val_miou = [number(np.nanmean(row["val"]["IoU"])) for row in history if "val" in row]
        best = (
            int(np.nanargmax([v if v is not None else -1 for v in val_miou])) if val_miou else None
        )
        section |= {
            "epochs": len(history),
            "minutes": sum(float(row.get("minutes") or 0) for row in history),
            "finished": datetime.fromtimestamp((run.history).stat().st_mtime)
            .astimezone()
            .isoformat(timespec="seconds"),
            "best_epoch": history[best]["epoch"] if best is not None else None,
            "best_miou": val_miou[best] if best is not None else None,
            "last_miou": val_miou[-1] if val_miou else None,
        }
    return section or None


def _class_table(summary: dict, table: pd.DataFrame | None, class_names: list[str]) -> dict:
    """Per class: the summary's IoU, precision, recall, F1, and cover from the ALL row."""
    per_class = summary.get("per_class", {})
    all_row = table.loc["ALL"] if table is not None and "ALL" in table.index else None
    rows = []
    for c, name in enumerate(class_names):
        figures = per_class.get(name, {})
        cover = {}
        if all_row is not None:
            for label, column in (("true", "True cover"), ("predicted", "Predicted cover")):
                cover[label] = number(all_row.get((column, f"Class {c}")))
        rows.append(
            {"name": name, "figures": {m: figures.get(m) for m in TABLE_METRICS}, "cover": cover}
        )
    mean = summary.get("mean", {})
    return {
        "metrics": TABLE_METRICS,
        "rows": rows,
        "mean": {m: mean.get(m) for m in TABLE_METRICS},
        "images": summary.get("images"),
        "leaf_cover_mae": summary.get("leaf_cover_mae"),
        "lai_mae": summary.get("lai_mae"),
        "k": summary.get("k"),
    }


def _confusion_section(folder: Path, summary: dict, class_names: list[str], page: Page) -> dict:
    run = Run(folder)
    section: dict = {}
    if (run.confusion_plot).is_file():
        section["picture"] = png_file_uri(run.confusion_plot)
    else:
        page.lack(CONFUSION_PLOT, "the confusion matrix only as a table")
    counts = np.asarray(summary.get("confusion") or [], dtype=float)
    if counts.ndim == 2 and counts.shape == (len(class_names), len(class_names)):
        totals = counts.sum(1, keepdims=True)
        shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        section["rows"] = [
            (name, [float(s) for s in shares[i]], int(totals[i, 0]))
            for i, name in enumerate(class_names)
        ]
        section["names"] = class_names
    return section


def _ranked_photos(table: pd.DataFrame, classes: int, leaf: int | None) -> list[dict]:
    """Test photos worst first by their mean IoU over classes (classes absent from both are skipped)."""
    photos = table.drop(index="ALL", errors="ignore")
    iou = photos[[("IoU", f"Class {c}") for c in range(classes) if ("IoU", f"Class {c}") in photos]]
    mean_iou = iou.mean(axis=1, skipna=True)

    def column(key: tuple[str, str]) -> list:
        return photos[key].tolist() if key in photos else [None] * len(photos)

    keys = ("name", "miou", "leaf_iou", "cover_true", "cover_predicted")
    values = zip(
        photos.index.astype(str),
        map(number, mean_iou.tolist()),
        map(number, column(("IoU", f"Class {leaf}"))),
        map(number, column(("Leaf cover", "True"))),
        map(number, column(("Leaf cover", "Predicted"))),
        strict=True,
    )
    rows = [dict(zip(keys, row, strict=True)) for row in values]
    rows.sort(key=lambda r: (r["miou"] is None, r["miou"] if r["miou"] is not None else 0.0))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def _scatter(table: pd.DataFrame) -> dict | None:
    photos = table.drop(index="ALL", errors="ignore")
    columns = [("Leaf cover", "True"), ("Leaf cover", "Predicted")]
    if not all(c in photos for c in columns) or photos.empty:
        return None
    true, predicted = (photos[c].to_numpy(float) for c in columns)
    error = predicted - true
    return {
        "picture": cover_scatter_uri(true, predicted),
        "mae": number(np.nanmean(np.abs(error))),
        "bias": number(np.nanmean(error)),
        "photos": len(photos),
    }


def trait_rows(errors: dict) -> list[dict]:
    """The trait errors of an evaluation (``summary.json``'s ``traits``) as table rows:
    label, unit, MAE, bias, photos, and whether the trait is ``reliable`` (within its
    tolerance; None where it has none)."""
    rows = []
    for column, figures in errors.items():
        trait = BY_NAME.get(column)
        if trait is None or not isinstance(figures, dict):
            continue
        rows.append({
            "label": trait.title, "unit": " deg" if trait.circular else "",
            "mae": figures.get("mae"), "bias": figures.get("bias"), "photos": figures.get("photos"),
            "tolerance": trait.tolerance, "reliable": reliable(column, figures.get("mae")),
        })  # fmt: skip
    return rows


def sample_ranked(rows: list, limit: int) -> list:
    """All rows when they fit; else the worst ``limit // 2``, then the rest evenly spaced.

    Example:
        >>> [r for r in sample_ranked(list(range(10)), 4)]
        [0, 1, 2, 9]
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if len(rows) <= limit:
        return list(rows)
    worst = limit // 2
    rest = rows[worst:]
    picks = np.linspace(0, len(rest) - 1, limit - worst).round().astype(int)
    return list(rows[:worst]) + [rest[i] for i in dict.fromkeys(picks.tolist())]


def _gallery(
    ranked: list[dict], photos: dict, pictures: Path, class_names: list[str],
    class_map_text: str | None, limit: int, page: Page,
) -> dict:  # fmt: skip
    """Photo | truth | prediction thumbnails for the worst photos (a sample beyond ``limit``)."""
    shown = sample_ranked(ranked, limit)
    try:
        class_map = parse_class_map(class_map_text, len(class_names)) if class_map_text else None
    except Exception:  # an older or hand-edited config: show the raw mask values
        class_map = None
    unreachable = []
    items = []
    for row in shown:
        panels = []
        image = None
        image_path, mask_path = photos.get(row["name"], (None, None))
        if image_path is not None and image_path.is_file():
            image, _ = decode_image(image_path)
            small = thumbnail(image)
            panels.append(("photo", jpeg_uri(small)))
            if mask_path is not None and mask_path.is_file():
                truth = remap(read_mask(mask_path), class_map)
                truth = shrink_mask(truth, small.size)
                panels.append(
                    ("truth", jpeg_uri(overlay(np.asarray(small), truth, len(class_names))))
                )
        else:
            unreachable.append(row["name"])
        predicted = pictures / f"{row['name']}.png"
        if predicted.is_file():
            with Image.open(predicted) as picture:
                picture = picture.convert("RGB")
                if image is not None and picture.width == 3 * image.shape[1]:  # --side-by-side
                    w = image.shape[1]
                    picture = picture.crop((2 * w, 0, 3 * w, picture.height))
                panels.append(("prediction", jpeg_uri(picture)))
        items.append({**row, "panels": panels})
    if unreachable:
        page.notes.append(
            f"{len(unreachable)} of the {len(shown)} photos in the gallery are not where split.csv "
            "says (data folder moved?): their photo and true mask are left out."
        )
    return {
        "items": items,
        "shown": len(items),
        "total": len(ranked),
        "sampled": len(items) < len(ranked),
    }
