"""Pages mark a trait unreliable when its measured error is above its tolerance."""

import json
from pathlib import Path

import pandas as pd

from vitiseg.report.facts import record_facts
from vitiseg.report.html import render, write_report
from vitiseg.report.run_page import run_page, trait_rows
from vitiseg.report.season_page import season_page

ERRORS = {
    "porosity": {"mae": 0.061, "bias": -0.039, "photos": 8},
    "canopy_height": {"mae": 0.021, "bias": -0.003, "photos": 8},
    "inter_row_hue": {"mae": 6.5, "bias": -3.7, "photos": 8},
    "leaf_gcc": {"mae": 0.006, "bias": 0.002, "photos": 8},
}


def evaluation(folder: Path) -> Path:
    folder.mkdir(parents=True)
    summary = {"images": 8, "classes": ["background", "leaf"], "per_class": {}, "mean": {"IoU": 0.7},
               "confusion": [[1, 0], [0, 1]], "traits": ERRORS}  # fmt: skip
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_each_trait_is_judged_by_its_tolerance():
    verdicts = {row["label"]: row["reliable"] for row in trait_rows(ERRORS)}
    assert verdicts == {"Porosity": False, "Canopy height": True, "Inter-row hue": False, "Leaf gcc": None}  # fmt: skip


def test_the_evaluation_page_says_which_traits_are_unreliable(tmp_path: Path):
    page = run_page(evaluation(tmp_path / "eval"), "evaluation")
    html = render(page, "run.html.j2")
    assert "<strong>unreliable</strong>: MAE above 0.05" in html
    assert "<strong>unreliable</strong>: MAE above 5.0 deg" in html
    assert html.count("<strong>unreliable</strong>") == 2 and "within 0.05" in html


def test_a_season_predicted_by_a_model_shows_that_model_s_trait_errors(tmp_path: Path):
    model = evaluation(tmp_path / "run")
    season = tmp_path / "season"
    season.mkdir()
    pd.DataFrame({"camera": ["c", "c"], "date": ["2024-05-01", "2024-06-01"], "trait": "porosity",
                  "value": [0.3, 0.4], "smoothed": [0.3, 0.4], "segment": [0, 1]}).to_csv(season / "season.csv", index=False)  # fmt: skip
    record_facts(season, "season", {"model": str(model)})
    page = season_page(season)
    assert [row["reliable"] for row in page.sections["traits"]] == [False, True, False, None]
    assert page.sections["gaps"] == [("c", "2024-05-01", "2024-06-01", 30)]
    html = write_report(season).read_text()
    assert "How far each trait can be trusted" in html and "MAE above 0.05" in html


def test_a_season_of_true_masks_has_no_trait_errors(tmp_path: Path):
    season = tmp_path / "season"
    season.mkdir()
    record_facts(season, "season", None)
    assert season_page(season).sections["traits"] is None
