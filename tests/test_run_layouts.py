"""Output folders' layouts: every file name of a run, a predict and a season folder."""

from pathlib import Path

import pytest

from vitiseg.errors import ConfigError
from vitiseg.run import PredictFolder, Run, SeasonFolder, checkpoint_of


def test_a_predict_folder_names_its_files(tmp_path: Path):
    folder = PredictFolder(tmp_path)
    assert folder.table == tmp_path / "canopy.csv" and folder.selection == tmp_path / "select.csv"
    assert folder.mask("north/cam_01") == tmp_path / "masks" / "north" / "cam_01.png"
    assert folder.overlay("a") == tmp_path / "overlays" / "a.jpg"
    assert folder.probability("a") == tmp_path / "probabilities" / "a.png"


def test_a_season_folder_names_its_tables_and_its_predictions(tmp_path: Path):
    folder = SeasonFolder(tmp_path)
    assert [p.name for p in folder.tables.values()] == ["season.csv", "transitions.csv", "photos.csv"]  # fmt: skip
    assert folder.predictions.table == tmp_path / "predictions" / "canopy.csv"
    assert folder.canopy_table == tmp_path / "canopy.csv" and folder.figures.name == "figures"


def test_resume_from_a_run_folder_takes_its_last_checkpoint(tmp_path: Path):
    assert checkpoint_of(tmp_path) == Run(tmp_path).last == tmp_path / "checkpoints" / "last.ckpt"
    ckpt = tmp_path / "checkpoints" / "run_10.ckpt"
    assert checkpoint_of(ckpt) == ckpt


def test_a_folder_without_settings_is_not_a_run(tmp_path: Path):
    with pytest.raises(ConfigError, match="not a vitiseg run folder"):
        Run.open(tmp_path)
