"""`vitiseg season`: grouping, quality checks, daily values, smoothing, transitions, CLI."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import AGROCAM, needs_shared_data, run_here, tree_snapshot
from PIL import Image

from vitiseg import season
from vitiseg.canopy import trait_table
from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model
from vitiseg.errors import DataError

NAMES5 = "background,leaf,inter-row,pipe,trunk"


def test_camera_is_the_name_before_its_date_or_the_folder_or_a_regex():
    files = pd.Series(["a/4j7g2wk9_2024-04-19_104603_7_18.jpg", "b/plot-3 20240501.jpg"])
    assert season.cameras(files).tolist() == ["4j7g2wk9", "plot-3"]
    assert season.cameras(files, "folder").tolist() == ["a", "b"]
    assert season.cameras(files, regex=r"^(\w)").tolist() == ["4", "p"]


def test_a_photo_without_camera_is_refused():
    with pytest.raises(DataError, match="camera is not found .* camera_from=folder"):
        season.cameras(pd.Series(["x/IMG_0001.jpg"]))


def test_photos_without_date_are_refused_with_what_to_do():
    table = pd.DataFrame(
        {"file": ["cam_a.jpg", "cam_b.jpg"], "datetime": ["2024-05-01T10:00:00", None]}
    )
    with pytest.raises(DataError, match=r"1 photo\(s\) without a date .* date_from=mtime"):
        season.dates(table)


def test_date_from_mtime(tmp_path: Path):
    path = tmp_path / "p.jpg"
    path.write_bytes(b"x")
    stamp = pd.Timestamp("2024-06-03 15:00").timestamp()
    import os

    os.utime(path, (stamp, stamp))
    table = pd.DataFrame({"file": [str(path)], "datetime": [None]})
    assert season.dates(table, "mtime").iloc[0] == pd.Timestamp("2024-06-03")


# ---- command line ----------------------------------------------------------------------


def write_predict_folder(folder: Path, days: dict[str, list[str]]) -> Path:
    """A canopy.csv as `vitiseg predict` writes it, with real little photos."""
    folder.mkdir(parents=True)
    rows = []
    rng = np.random.default_rng(0)
    scene = np.asarray(
        Image.fromarray(rng.integers(40, 220, (45, 80, 3)).astype(np.uint8)).resize((320, 180))
    )
    for camera, dates in days.items():
        for i, day in enumerate(dates):
            path = folder / f"{camera}_{day}_120000.jpg"
            Image.fromarray(scene).save(path, quality=95)
            row = {"file": str(path), "width": 320, "height": 180, "datetime": f"{day}T12:00:00"}
            rows.append(
                row | {t: 0.1 + 0.05 * i for t in trait_table.DAILY} | {"porosity_rule": "pipe"}
            )
    pd.DataFrame(rows).to_csv(folder / "canopy.csv", index=False)
    return folder


DAYS = [f"2024-05-{d:02d}" for d in range(1, 8)]


@pytest.mark.slow
def test_season_writes_its_tables_and_figures(tmp_path: Path):
    predicted = write_predict_folder(tmp_path / "pred", {"camA": DAYS, "camB": DAYS[:1]})
    out = tmp_path / "season"
    result = run_here("season", str(predicted), "-o", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "season.csv")
    assert set(table["camera"]) == {"camA", "camB"}
    a = table[(table["camera"] == "camA") & (table["trait"] == "leaf_cover")]
    assert a["value"].tolist() == pytest.approx([0.1 + 0.05 * i for i in range(7)])
    assert a["smoothed"].notna().all() and (a["photos"] == 1).all()
    assert table[table["camera"] == "camB"]["smoothed"].isna().all()
    assert "camera camB: 1 day(s) with kept photos, no smoothed curve" in result.stdout
    for name in ("camA.png", "camB.png", "leaf_cover_by_camera.png"):
        assert (out / "figures" / name).stat().st_size > 10_000
    transitions = pd.read_csv(out / "transitions.csv")
    assert set(transitions["trait"]) == {"leaf_cover", "leaf_gcc"}
    assert (pd.read_csv(out / "photos.csv")["dropped"].isna()).all()


@pytest.mark.slow
def test_dropped_photos_are_listed_with_their_reason(tmp_path: Path):
    predicted = write_predict_folder(tmp_path / "pred", {"camA": DAYS})
    dark = predicted / f"camA_{DAYS[3]}_120000.jpg"
    Image.fromarray(np.full((180, 320, 3), 10, np.uint8)).save(dark)
    out = tmp_path / "season"
    result = run_here("season", str(predicted), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert f"dropped {dark}: too dark (mean grey 10 < 40)" in result.stdout
    photos = pd.read_csv(out / "photos.csv", keep_default_na=False)
    assert photos.set_index("file").loc[str(dark), "dropped"].startswith("too dark")
    day = pd.read_csv(out / "season.csv").query("trait == 'leaf_cover' and date == @DAYS[3]")
    assert math.isnan(day["value"].iloc[0]) and day["dropped"].iloc[0] == 1


@pytest.mark.slow
def test_bad_inputs_exit_2_and_write_nothing(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_here(
        "season", str(empty), "-o", str(tmp_path / "o1")
    )  # photos, for the bundled model
    assert result.returncode == 2 and "no photos (.jpg" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o1").exists()

    undated = write_predict_folder(tmp_path / "undated", {"camA": DAYS[:2]})
    table = pd.read_csv(undated / "canopy.csv")
    table.loc[0, "datetime"] = None
    table.to_csv(undated / "canopy.csv", index=False)
    result = run_here("season", str(undated), "-o", str(tmp_path / "o2"))
    assert result.returncode == 2 and "without a date in EXIF or in the name" in result.stderr
    assert "--date-from mtime" in result.stderr and not (tmp_path / "o2").exists()

    predicted = write_predict_folder(tmp_path / "pred", {"camA": DAYS})
    out = tmp_path / "season"
    assert run_here("season", str(predicted), "-o", str(out)).returncode == 0
    before = tree_snapshot(out)
    again = run_here("season", str(predicted), "-o", str(out), "--no-quality-checks")
    assert again.returncode == 2 and "already holds a season" in again.stderr
    assert tree_snapshot(out) == before

    leafless = tmp_path / "masks"
    leafless.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(leafless / "c_2024-05-01.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(leafless / "c_2024-05-01_bin.png")
    result = run_here(
        "season",
        str(leafless),
        "--masks",
        "--class-names",
        "background",
        "-o",
        str(tmp_path / "o3"),
    )
    assert result.returncode == 2 and "no leaf class" in result.stderr
    assert not (tmp_path / "o3").exists()


@pytest.mark.slow
def test_season_from_photos_with_a_model_is_resumable(tmp_path: Path):
    torch.manual_seed(0)
    spec = ModelSpec(encoder="resnet18", classes=3)
    export_model(build_model(spec), ModelInfo(spec, ["background", "leaf", "wood"]), tmp_path / "m")
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for day in DAYS[:5]:
        picture = rng.integers(0, 255, (64, 96, 3)).astype(np.uint8)
        Image.fromarray(picture).save(photos / f"camA_{day}_120000.png")
    out = tmp_path / "season"
    args = ["season", str(photos), "--model", str(tmp_path / "m"), "-o", str(out),
            "--precision", "32", "--no-quality-checks"]  # fmt: skip
    result = run_here(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("porosity is measured down to the bottom of the leaves") == 1
    assert len(list((out / "predictions" / "masks").glob("*.png"))) == 5
    table = pd.read_csv(out / "season.csv")
    assert table["date"].nunique() == 5 and set(table["camera"]) == {"camA"}
    rows = pd.read_csv(out / "predictions" / "canopy.csv")
    for day in DAYS[5:]:  # photos of the days since: the same command updates the season
        picture = rng.integers(0, 255, (64, 96, 3)).astype(np.uint8)
        Image.fromarray(picture).save(photos / f"camA_{day}_120000.png")
    again = run_here(*args)
    assert again.returncode == 0, again.stderr
    assert f"{len(DAYS) - 5} photo(s) predicted, 5 already done" in again.stdout
    updated = pd.read_csv(out / "predictions" / "canopy.csv")
    earlier = updated[updated["file"].isin(rows["file"])].sort_values("file", ignore_index=True)
    pd.testing.assert_frame_equal(earlier, rows.sort_values("file", ignore_index=True))
    assert pd.read_csv(out / "season.csv")["date"].nunique() == len(DAYS)


@needs_shared_data
@pytest.mark.slow
def test_true_masks_show_leaf_cover_rising_through_the_season(tmp_path: Path):
    out = tmp_path / "season"
    result = run_here("season", str(AGROCAM), "--masks", "--class-names", NAMES5, "-o", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "season.csv", parse_dates=["date"])
    cover = table[table["trait"] == "leaf_cover"].dropna(subset=["value"])
    cover = cover[cover["date"] < "2024-08-01"]
    assert set(cover["camera"]) == {"4j7g2wk9", "79bt3wkh", "7s3a5abm"}
    for camera, rows in cover.groupby("camera"):
        assert len(rows) >= 4, camera
        rho = rows["value"].corr(rows["date"].rank(), method="spearman")
        assert rho > 0.5, (camera, rho)
    photos = pd.read_csv(out / "photos.csv", keep_default_na=False)
    assert len(photos) == 25
    for file, reason in zip(photos["file"], photos["dropped"], strict=True):
        assert (f"dropped {file}: {reason}" in result.stdout) == bool(reason)
    assert (out / "figures" / "79bt3wkh.png").is_file()
