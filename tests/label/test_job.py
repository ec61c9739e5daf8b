"""The labelling job: the queue's order, the masks photos open with, the classes."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import run_here
from label_helpers import CLASSES, photo_folder

from vitiseg.engine import bundled
from vitiseg.engine.loaded import Model
from vitiseg.errors import ConfigError
from vitiseg.label import open_job


def test_with_a_model_the_queue_is_the_unlabelled_photos_most_uncertain_first(
    tmp_path: Path, model_dir: Path
):
    data = photo_folder(tmp_path / "p", n=5, unlabelled=(0, 2, 3))
    job = open_job(data, model=model_dir)
    model = Model(model_dir)
    expected = {
        name: model.predict(data / name, uncertainty=True)
        for name in ("img00.jpg", "img02.jpg", "img03.jpg")
    }
    order = sorted(expected, key=lambda n: -expected[n].uncertainty)
    listing = job.listing()
    assert [p["name"] for p in listing["photos"]] == [*order, "img01.jpg", "img04.jpg"]
    assert [p["queued"] for p in listing["photos"]] == [True] * 3 + [False] * 2
    for name in order:
        mask, source = job.start_mask(name)
        assert source == "model"
        assert np.array_equal(mask, expected[name].mask)
    assert job.start_mask("img01.jpg")[1] == "saved"
    assert job.class_names == ["background", "leaf", "wood"]


def test_select_keeps_the_k_most_uncertain(tmp_path: Path, model_dir: Path):
    data = photo_folder(tmp_path / "p", n=5, unlabelled=(0, 1, 2, 3, 4))
    everything = [p["name"] for p in open_job(data, model=model_dir).listing()["photos"]]
    job = open_job(data, model=model_dir, select=2)
    # one camera ("img00.jpg" up to its first _) and no date: the two most uncertain
    assert [p["name"] for p in job.listing()["photos"]] == everything[:2]


def test_without_a_model_photos_open_empty_in_name_order(tmp_path: Path):
    data = photo_folder(tmp_path / "p", n=4, unlabelled=(3, 1))
    job = open_job(data, model=None, class_names=CLASSES)
    assert [p["name"] for p in job.listing()["photos"]] == [
        "img01.jpg", "img03.jpg", "img00.jpg", "img02.jpg",
    ]  # fmt: skip
    mask, source = job.start_mask("img01.jpg")
    assert source == "empty" and mask.shape == (64, 96) and not mask.any()


def test_the_classes_come_from_classes_txt_without_a_model(tmp_path: Path):
    data = photo_folder(tmp_path / "p")
    (data / "classes.txt").write_text("background\nleaf\nwood\npost\n")
    assert open_job(data, model=None).class_names == ["background", "leaf", "wood", "post"]


def test_without_a_model_or_class_names_the_classes_are_asked_for(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"give class_names=background,leaf"):
        open_job(photo_folder(tmp_path / "p"), model=None)


def test_class_names_must_match_the_models_classes(tmp_path: Path, model_dir: Path):
    with pytest.raises(ConfigError, match=r"class_names=a,b: 2 names for the model's 3 classes"):
        open_job(photo_folder(tmp_path / "p"), model=model_dir, class_names=["a", "b"])


def test_without_the_bundled_model_the_page_starts_from_empty_masks(
    tmp_path: Path, monkeypatch, caplog
):
    monkeypatch.setattr(bundled, "FOLDER", tmp_path / "no-model")
    bundled.bundled_folder.cache_clear()
    try:
        with caplog.at_level(logging.INFO, logger="vitiseg"):
            job = open_job(photo_folder(tmp_path / "p"), class_names=CLASSES)
    finally:
        bundled.bundled_folder.cache_clear()
    assert job.model is None
    assert "no pre-labels: the bundled vineyard model is missing" in caplog.text


def test_the_command_refuses_a_model_and_no_model_together(tmp_path: Path, model_dir: Path):
    result = run_here("label", str(photo_folder(tmp_path / "p")), "--model", str(model_dir), "--no-model")  # fmt: skip
    assert result.returncode == 2
    assert "vitiseg label: error: --model" in result.stderr and "--no-model" in result.stderr


def test_the_command_says_which_classes_it_needs(tmp_path: Path):
    result = run_here("label", str(photo_folder(tmp_path / "p")), "--no-model")
    assert result.returncode == 2
    assert "give --class-names background,leaf" in result.stderr
