"""report.html: written by train, evaluate and predict, checked in headless Chromium.

The browser tests need Debian's ``chromium`` and Playwright for Python (the dev extra);
they skip, saying how to install them, where either is missing. Every browser test saves
a full-page screenshot into its tmp_path (kept when the test fails).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import AGROCAM, FAST_TRAIN, make_dataset, needs_shared_data, run_here

from vitiseg.report.html import detect_kind, write_report
from vitiseg.report.run_page import sample_ranked

ODD = "<b>rang é 3"  # a space, a non-ASCII letter and markup, in a photo's name
BUDGET = 5_000_000


def open_checked(browser, html: Path, screenshot: Path):
    """Open ``html``; assert no console error, no request off disk, every picture decoded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith(("file:", "data:")) else outside.append(r.url),
    )
    page.goto(html.resolve().as_uri(), wait_until="load")
    page.screenshot(path=str(screenshot), full_page=True)
    images = page.evaluate(
        "[...document.images].map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}))"
    )
    assert errors == []
    assert outside == []
    assert images, "the page shows no picture"
    assert [i["alt"] for i in images if not i["ok"]] == []
    return page, images


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A tiny trained run whose test split holds a photo named ``ODD``."""
    root = tmp_path_factory.mktemp("report")
    data = make_dataset(root / "data", n=8)
    (data / "img07.jpg").rename(data / f"{ODD}.jpg")
    (data / "img07_bin.png").rename(data / f"{ODD}_bin.png")
    names = [f"img{i:02d}" for i in range(7)] + [ODD]
    parts = ["train"] * 4 + ["valid"] * 2 + ["test"] * 2
    split = root / "split.csv"
    pd.DataFrame(
        {
            "name": names,
            "split": parts,
            "image": [f"{n}.jpg" for n in names],
            "mask": [f"{n}_bin.png" for n in names],
        }
    ).to_csv(split, index=False)
    result = run_here(
        "train", "-n", "r", "-d", str(data), "-o", str(root / "runs"), "-c", "3", "-e", "2",
        "--split", str(split), *FAST_TRAIN,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Report: " in result.stdout
    return root / "runs" / "r"


@pytest.fixture(scope="module")
def predict_folder(run_folder: Path, tmp_path_factory) -> Path:
    """``vitiseg predict`` over three photos, one of them unreadable."""
    root = tmp_path_factory.mktemp("predict")
    photos = make_dataset(root / "photos", n=2, seed=3)
    for mask in photos.glob("*_bin.png"):
        mask.unlink()
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    result = run_here(
        "predict", "--model", str(run_folder), str(photos), "-o", str(root / "P"),
        "--precision", "32",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # the broken photo
    assert "Report: " in result.stdout
    return root / "P"


@pytest.mark.slow
def test_train_writes_a_page_whose_class_table_is_summary_json(run_folder, browser, tmp_path):
    summary = json.loads((run_folder / "summary.json").read_text())
    page, images = open_checked(browser, run_folder / "report.html", tmp_path / "run.png")
    cells = page.evaluate(
        "[...document.querySelectorAll('#class-table td[data-metric]')]"
        ".map(td => [td.dataset.class, td.dataset.metric, td.dataset.value, td.textContent])"
    )
    assert len(cells) == len(summary["classes"]) * 4
    for name, metric, value, text in cells:
        expected = summary["per_class"][name][metric]
        assert float(value) == expected
        assert text == f"{expected:.3f}"
    alts = {i["alt"] for i in images}
    assert {"metric curves per epoch", "confusion matrix"} <= alts
    # the gallery holds both test photos, each as photo, truth and prediction
    assert sum(alt.endswith(("(photo)", "(truth)", "(prediction)")) for alt in alts) == 6


def test_odd_photo_names_are_shown_escaped(run_folder, browser, tmp_path):
    page, _ = open_checked(browser, run_folder / "report.html", tmp_path / "names.png")
    assert page.evaluate("document.querySelectorAll('main b').length") == 0
    assert ODD in page.inner_text("#gallery")
    assert ODD in page.inner_text("#photos")


@pytest.mark.slow
def test_evaluate_folder_page_shows_truth_from_the_photos_it_scored(run_folder, browser, tmp_path):
    data = run_folder.parent.parent / "data"
    result = run_here(
        "evaluate", "--model", str(run_folder), "-d", str(data), "-o", str(tmp_path / "E"),
        "--precision", "32",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert detect_kind(tmp_path / "E") == "evaluation"
    page, images = open_checked(browser, tmp_path / "E" / "report.html", tmp_path / "eval.png")
    truths = [i for i in images if i["alt"].endswith("(truth)")]
    assert len(truths) == 8  # every photo of -d, not only the run's test split
    assert page.query_selector("#missing") is None


@pytest.mark.slow
def test_predict_page_links_the_table_and_lists_the_failed_photo(predict_folder, browser, tmp_path):
    page, images = open_checked(browser, predict_folder / "report.html", tmp_path / "predict.png")
    href = page.evaluate("document.querySelector('a[href=\"canopy.csv\"]').href")
    assert href == (predict_folder / "canopy.csv").resolve().as_uri()
    assert "broken.jpg" in page.inner_text("#failed")
    overlays = [i for i in images if i["alt"].startswith("img")]
    assert len(overlays) == 2
    rows = len(pd.read_csv(predict_folder / "canopy.csv"))
    assert page.inner_text("#headline .value") == str(rows)


@pytest.mark.slow
def test_old_run_folder_page_says_what_is_missing(run_folder, browser, tmp_path):
    old = tmp_path / "old run"
    shutil.copytree(run_folder, old, ignore=shutil.ignore_patterns("checkpoints", "*.safetensors"))
    for name in ("summary.json", "metrics.png", "report-facts.json", "report.html"):
        (old / name).unlink()
    shutil.rmtree(old / "Predictions")
    result = run_here("report", str(old))
    assert result.returncode == 0, result.stderr
    page, images = open_checked(browser, old / "report.html", tmp_path / "old.png")
    missing = page.inner_text("#missing")
    assert "summary.json" in missing and "Predictions/r/" in missing
    assert "metrics.png" not in missing  # drawn again from history.json
    assert "metric curves per epoch" in {i["alt"] for i in images}
    assert page.query_selector("#class-table") is None
    assert "not recorded" in page.inner_text("#time")
    assert sorted(p.name for p in old.iterdir() if p.name.startswith(".")) == []  # no temp file


def test_older_predict_folder_page_says_speed_is_not_recorded(predict_folder, tmp_path):
    old = tmp_path / "P"
    shutil.copytree(predict_folder, old)
    (old / "report-facts.json").unlink()
    text = write_report(old).read_text(encoding="utf-8")
    assert "Speed and failed photos are not recorded" in text
    assert "broken.jpg" not in text


def test_a_failing_report_warns_and_leaves_the_command_alone(tmp_path, capsys, monkeypatch):
    from vitiseg.report import html

    def broken(*args):
        raise RuntimeError("template trouble")

    (tmp_path / "summary.json").write_text("{}")
    monkeypatch.setattr(html, "render", broken)
    assert html.report_after(tmp_path, "evaluate") is None
    assert "warning: no report.html written" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_an_unreadable_test_table_is_a_note_not_a_crash(tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "Test_x.csv").write_text("not, a, test table\n")
    text = write_report(tmp_path).read_text(encoding="utf-8")
    assert "Test_x.csv could not be read" in text


@pytest.mark.slow
def test_report_of_a_folder_that_is_not_one_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_here("report", str(tmp_path / "empty"))
    assert result.returncode == 2
    assert "not a vitiseg folder" in result.stderr and "Traceback" not in result.stderr
    result = run_here("report", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "no such folder" in result.stderr


def fake_run(folder: Path, data: Path, count: int, overlays: bool = True) -> Path:
    """A run folder whose ``count`` test photos cycle through the pairs of ``data``.

    Its config, split, per-photo table and summary are made up; each photo stands in for
    its own prediction overlay (a link, to save disk), unless not ``overlays``.
    """
    stems = sorted(p.stem for p in data.glob("*.jpg"))
    names = [f"photo_{i:03d}" for i in range(count)]
    sources = [stems[i % len(stems)] for i in range(count)]
    run = folder / "run"
    (run / "Predictions" / "x").mkdir(parents=True)
    (run / "config.yaml").write_text(
        yaml.safe_dump({"name": "x", "directory": str(data), "classes": 3})
    )
    pd.DataFrame(
        {"name": names, "split": "test", "image": [f"{s}.jpg" for s in sources],
         "mask": [f"{s}_bin.png" for s in sources]}
    ).to_csv(run / "split.csv", index=False)  # fmt: skip
    rng = np.random.default_rng(0)
    columns = pd.MultiIndex.from_tuples(
        [("IoU", f"Class {c}") for c in range(3)] + [("Leaf cover", "True"), ("Leaf cover", "Predicted")]
    )  # fmt: skip
    table = pd.DataFrame(rng.random((count + 1, 5)), columns=columns, index=[*names, "ALL"])
    table.to_csv(run / "Test_x.csv")
    classes = ["background", "leaf", "wood"]
    figures = {"IoU": 0.5, "Precision": 0.6, "Recall": 0.7, "F1": 0.65}
    summary = {"images": count, "classes": classes, "leaf_class": 1, "k": 0.7,
               "per_class": {c: figures for c in classes}, "mean": figures,
               "leaf_cover_mae": 0.1, "lai_mae": 0.2, "confusion": np.eye(3, dtype=int).tolist()}  # fmt: skip
    (run / "summary.json").write_text(json.dumps(summary))
    for name, source in zip(names, sources, strict=True) if overlays else ():
        (run / "Predictions" / "x" / f"{name}.png").symlink_to(data / f"{source}.jpg")
    return run


def written_within_budget(run: Path) -> None:
    started = time.monotonic()
    write_report(run)
    seconds = time.monotonic() - started
    size = (run / "report.html").stat().st_size
    print(f"report.html of {run}: {size / 1e6:.2f} MB, written in {seconds:.1f} s")
    assert size < BUDGET


@pytest.mark.slow
def test_a_hundred_test_photos_stay_under_5_mb_with_a_sampled_gallery(tmp_path, browser):
    from vitiseg.data.synthetic import write_synthetic

    write_synthetic(tmp_path / "data", n=25, size=(512, 384))
    run = fake_run(tmp_path, tmp_path / "data", 100)
    written_within_budget(run)
    page, images = open_checked(browser, run / "report.html", tmp_path / "hundred.png")
    assert "40 of the 100 test photos are shown" in page.inner_text("#gallery-note")
    assert len(page.query_selector_all("#gallery .shot")) == 40
    assert len(page.query_selector_all("#photos tr")) == 101  # all photos listed, plus header


@needs_shared_data
def test_a_hundred_full_hd_field_photos_stay_under_5_mb(tmp_path):
    written_within_budget(fake_run(tmp_path, AGROCAM, 100))


def test_twenty_thousand_test_photos_stay_under_5_mb(tmp_path):
    from vitiseg.data.synthetic import write_synthetic

    write_synthetic(tmp_path / "data", n=5, size=(256, 192))
    run = fake_run(tmp_path, tmp_path / "data", 20_000, overlays=False)  # 20k files: slow to delete
    written_within_budget(run)
    text = (run / "report.html").read_text(encoding="utf-8")
    assert "lists the 2000 worst of 20000; Test_x.csv holds them all" in text
    assert "the first 2000 of 20000 names" in text


def test_sample_keeps_the_worst_then_spreads_over_the_rest():
    assert sample_ranked(list(range(5)), 10) == [0, 1, 2, 3, 4]
    assert sample_ranked(list(range(100)), 6) == [0, 1, 2, 3, 51, 99]
    with pytest.raises(ValueError, match="at least 1"):
        sample_ranked([1], 0)


def test_html_in_a_class_name_is_escaped_in_the_written_file(tmp_path):
    run = fake_run(tmp_path, make_dataset(tmp_path / "data", n=2), 2)
    summary = json.loads((run / "summary.json").read_text())
    summary["classes"][1] = "<script>leaf"
    summary["per_class"]["<script>leaf"] = summary["per_class"].pop("leaf")
    (run / "summary.json").write_text(json.dumps(summary))
    text = write_report(run).read_text(encoding="utf-8")
    assert "<script>leaf" not in text and "&lt;script&gt;leaf" in text
    assert "http://" not in text and "https://" not in text  # nothing fetched from the network


@needs_shared_data
@pytest.mark.slow
def test_season_page_shows_curves_transitions_and_dropped_photos(browser, tmp_path):
    out = tmp_path / "season"
    result = run_here(
        "season", str(AGROCAM), "--masks", "--class-names",
        "background,leaf,inter-row,pipe,trunk", "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert detect_kind(out) == "season"  # before predict: the folder holds canopy.csv too
    page, images = open_checked(browser, out / "report.html", tmp_path / "season.png")
    cameras = pd.read_csv(out / "season.csv")["camera"].nunique()
    assert len(images) == cameras + 1  # one figure per camera, one for all
    transitions = pd.read_csv(out / "transitions.csv")
    assert len(page.query_selector_all("#transitions tr")) == len(transitions) + 1
    dropped = pd.read_csv(out / "photos.csv", keep_default_na=False).query("dropped != ''")
    for reason in dropped["dropped"]:
        assert reason in page.inner_text("#dropped")
    season = (
        pd.read_csv(out / "season.csv").query("segment >= 0").drop_duplicates(["camera", "date"])
    )
    long_gaps = sum(
        int((pd.to_datetime(rows["date"]).sort_values().diff().dt.days > 14).sum())  # --max-gap
        for _, rows in season.groupby("camera")
    )
    assert long_gaps > 0 and len(page.query_selector_all("#gaps tr")) == long_gaps + 1


def test_season_page_of_a_model_with_no_compared_trait_says_so(tmp_path):
    from vitiseg.report.page import Page
    from vitiseg.report.season_page import _model_traits

    stems = tmp_path / "stems"
    stems.mkdir()
    (stems / "summary.json").write_text(json.dumps({"traits": {}}))
    page = Page(tmp_path, "season")
    assert _model_traits({"model": str(stems)}, page) is None
    assert "none of the classes its traits are compared on" in page.notes[0]
    (stems / "summary.json").unlink()  # not evaluated: the advice to evaluate it
    page = Page(tmp_path, "season")
    _model_traits({"model": str(stems)}, page)
    assert "`vitiseg evaluate RUN` measures them" in page.notes[0]
