"""An output folder is a season that grows: nothing earlier dropped, nothing stale reused."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import run_cli, run_here
from PIL import Image

from vitiseg.data.synthetic import draw_vineyard
from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model
from vitiseg.predict import MODEL_STAMP, PHOTO_STAMP, mask_stamps


def write_photos(folder: Path, days: range, camera: str = "camA", size=(96, 64)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for day in days:
        path = folder / f"{camera}_2024-05-{day:02d}_120000.jpg"
        Image.fromarray(draw_vineyard(*size, seed=day).photo).save(path)
        paths.append(path)
    return paths


def predict(model: Path, out: Path, *inputs, extra=()):
    return run_here("predict", "--model", str(model), *map(str, inputs), "-o", str(out),
                    "--precision", "32", "--no-overlays", *extra)  # fmt: skip


@pytest.fixture(scope="module")
def other_model(tmp_path_factory) -> Path:
    """Another untrained 3-class model: other weights, same classes as ``model_dir``."""
    torch.manual_seed(1)
    spec = ModelSpec(encoder="resnet18", classes=3, decoder_channels=(16, 16, 16, 16, 16))
    folder = tmp_path_factory.mktemp("other_model")
    export_model(build_model(spec), ModelInfo(spec, ["background", "leaf", "wood"]), folder)
    return folder


def test_adding_photos_keeps_the_earlier_rows(model_dir: Path, tmp_path: Path):
    week1 = write_photos(tmp_path / "week1", range(1, 5))
    week2 = write_photos(tmp_path / "week2", range(5, 7))
    assert predict(model_dir, tmp_path / "out", tmp_path / "week1").returncode == 0
    second = predict(model_dir, tmp_path / "out", tmp_path / "week2")
    assert second.returncode == 0, second.stderr
    assert "also 4 photo(s) of earlier runs" in second.stdout
    table = pd.read_csv(tmp_path / "out" / "canopy.csv")
    assert sorted(table["file"]) == sorted(str(p.resolve()) for p in week1 + week2)
    assert len(list((tmp_path / "out" / "masks").glob("*.png"))) == 6


def test_a_season_grows_run_by_run(model_dir: Path, tmp_path: Path):
    write_photos(tmp_path / "p1", range(1, 7))
    write_photos(tmp_path / "p2", range(7, 11))
    season = ("--model", str(model_dir), "-o", str(tmp_path / "S"), "--precision", "32")
    assert run_here("season", str(tmp_path / "p1"), *season).returncode == 0
    second = run_here("season", str(tmp_path / "p2"), *season)
    assert second.returncode == 0, second.stderr
    photos = pd.read_csv(tmp_path / "S" / "photos.csv")
    assert len(photos) == 10  # built from both runs' photos, not the last one's 4
    assert pd.read_csv(tmp_path / "S" / "season.csv")["date"].nunique() == 10


def test_another_model_refuses_without_overwrite_and_redoes_with_it(
    model_dir: Path, other_model: Path, tmp_path: Path
):
    photos = write_photos(tmp_path / "in", range(1, 4))
    assert predict(model_dir, tmp_path / "out", tmp_path / "in").returncode == 0
    mask = tmp_path / "out" / "masks" / f"{photos[0].stem}.png"
    first = mask_stamps(mask)[MODEL_STAMP]
    before = mask.read_bytes()
    refused = predict(other_model, tmp_path / "out", tmp_path / "in")  # --model forgotten, say
    assert refused.returncode == 2, refused.stdout
    assert "3 photo(s)" in refused.stderr and "another model" in refused.stderr
    assert "--overwrite" in refused.stderr and "Traceback" not in refused.stderr
    assert mask.read_bytes() == before  # the user's masks are untouched
    again = predict(other_model, tmp_path / "out", tmp_path / "in", extra=["--overwrite"])
    assert again.returncode == 0, again.stderr
    assert mask_stamps(mask)[MODEL_STAMP] not in ("", first)
    table = pd.read_csv(tmp_path / "out" / "canopy.csv")
    assert set(table["model"]) == {mask_stamps(mask)[MODEL_STAMP]}
    # rows of the first model for photos not given again: refused, not mixed nor dropped
    write_photos(tmp_path / "more", range(4, 5))
    assert predict(model_dir, tmp_path / "out2", tmp_path / "in").returncode == 0
    mixed = predict(other_model, tmp_path / "out2", tmp_path / "more")
    assert mixed.returncode == 2
    assert "3 photo(s) predicted by another model" in mixed.stderr
    assert len(pd.read_csv(tmp_path / "out2" / "canopy.csv")) == 3  # untouched


def test_masks_without_a_model_stamp_are_not_taken_as_this_models(model_dir: Path, tmp_path: Path):
    """Masks of a vitiseg that did not record their model (or written by hand)."""
    photos = write_photos(tmp_path / "in", range(1, 3))
    assert predict(model_dir, tmp_path / "out", tmp_path / "in").returncode == 0
    mask = tmp_path / "out" / "masks" / f"{photos[0].stem}.png"
    Image.open(mask).save(mask)  # the same pixels, without the text
    refused = predict(model_dir, tmp_path / "out", tmp_path / "in")
    assert refused.returncode == 2 and "did not record which" in refused.stderr


def test_a_photo_of_the_same_name_in_another_folder_never_replaces_the_first(
    model_dir: Path, tmp_path: Path
):
    """week1/a.jpg then week2/a.jpg into one folder: both write masks/a.png."""
    first = write_photos(tmp_path / "week1", range(1, 2))[0]
    second = tmp_path / "week2" / first.name
    second.parent.mkdir()
    Image.fromarray(draw_vineyard(96, 64, seed=50).photo).save(second)
    assert predict(model_dir, tmp_path / "out", tmp_path / "week1").returncode == 0
    mask = tmp_path / "out" / "masks" / f"{first.stem}.png"
    before = mask.read_bytes()
    clash = predict(model_dir, tmp_path / "out", tmp_path / "week2")
    assert clash.returncode == 2, clash.stdout
    assert str(first.resolve()) in clash.stderr and str(second) in clash.stderr
    assert mask.read_bytes() == before
    assert pd.read_csv(tmp_path / "out" / "canopy.csv")["file"].tolist() == [str(first.resolve())]


def test_a_moved_photo_keeps_its_mask_and_one_row(model_dir: Path, tmp_path: Path):
    photos = write_photos(tmp_path / "old", range(1, 3))
    assert predict(model_dir, tmp_path / "out", tmp_path / "old").returncode == 0
    (tmp_path / "old").rename(tmp_path / "new")
    moved = predict(model_dir, tmp_path / "out", tmp_path / "new")
    assert moved.returncode == 0, moved.stderr
    assert "0 predicted" in moved.stdout
    files = pd.read_csv(tmp_path / "out" / "canopy.csv")["file"]
    assert sorted(files) == sorted(str((tmp_path / "new" / p.name).resolve()) for p in photos)


def test_season_with_another_model_refuses_and_redoes_with_overwrite(
    model_dir: Path, other_model: Path, tmp_path: Path
):
    write_photos(tmp_path / "p", range(1, 6))
    out = tmp_path / "S"
    assert run_here("season", str(tmp_path / "p"), "--model", str(model_dir), "-o", str(out)).returncode == 0  # fmt: skip
    refused = run_here("season", str(tmp_path / "p"), "--model", str(other_model), "-o", str(out))  # fmt: skip
    assert refused.returncode == 2 and "another model" in refused.stderr
    redo = run_here("season", str(tmp_path / "p"), "--model", str(other_model), "-o", str(out), "--overwrite")  # fmt: skip
    assert redo.returncode == 0, redo.stderr
    assert "5 photo(s) predicted, 0 already done" in redo.stdout
    masks = sorted((out / "predictions" / "masks").glob("*.png"))
    identities = {mask_stamps(m)[MODEL_STAMP] for m in masks}
    assert len(masks) == 5 and identities == set(pd.read_csv(out / "predictions" / "canopy.csv")["model"])  # fmt: skip


def test_a_photo_replaced_under_its_name_is_redone(model_dir: Path, tmp_path: Path):
    photos = write_photos(tmp_path / "in", range(1, 3))
    assert predict(model_dir, tmp_path / "out", tmp_path / "in").returncode == 0
    mask = tmp_path / "out" / "masks" / f"{photos[0].stem}.png"
    Image.fromarray(draw_vineyard(128, 80, seed=99).photo).save(photos[0])  # another size
    os.utime(photos[0], ns=(1, 2))  # and another time: nothing about it is the same
    again = predict(model_dir, tmp_path / "out", tmp_path / "in")
    assert again.returncode == 0, again.stderr
    assert "1 redone: photo changed since" in again.stdout
    assert Image.open(mask).size == (128, 80)
    assert mask_stamps(mask)[PHOTO_STAMP] == f"{photos[0].stat().st_size}:2"
    row = pd.read_csv(tmp_path / "out" / "canopy.csv").set_index("file").loc[str(photos[0].resolve())]  # fmt: skip
    assert (row["width"], row["height"]) == (128, 80)


def test_the_output_folder_inside_the_input_is_never_read_as_photos(
    model_dir: Path, tmp_path: Path
):
    src = tmp_path / "dir"
    write_photos(src, range(1, 4))
    for _ in range(2):
        result = predict(model_dir, src / "pred", src, extra=["--recursive"])
        assert result.returncode == 0, result.stderr
    predicted = predict(model_dir, src / "pred", src, extra=["--recursive", "--overwrite"])
    assert "3 predicted" in predicted.stdout
    assert len(pd.read_csv(src / "pred" / "canopy.csv")) == 3


def test_masks_given_by_a_glob_are_not_photos(model_dir: Path, tmp_path: Path):
    photos = write_photos(tmp_path / "mix", range(1, 3))
    for path in photos:
        Image.fromarray(np.zeros((64, 96), np.uint8)).save(path.with_name(path.stem + "_bin.png"))
    result = predict(model_dir, tmp_path / "out", f"{tmp_path / 'mix'}/*")
    assert result.returncode == 0, result.stderr
    assert sorted(pd.read_csv(tmp_path / "out" / "canopy.csv")["file"]) == sorted(
        str(p.resolve()) for p in photos
    )


def test_the_table_works_from_any_folder(model_dir: Path, tmp_path: Path, monkeypatch):
    write_photos(tmp_path / "photos", range(1, 6))
    monkeypatch.chdir(tmp_path)
    assert predict(model_dir, Path("out"), Path("photos")).returncode == 0
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = run_here("season", str(tmp_path / "out"), "-o", "S2")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / "S2" / "season.csv").is_file()
    assert all(Path(f).is_absolute() for f in pd.read_csv(tmp_path / "out" / "canopy.csv")["file"])


def test_two_processes_refuse_together_instead_of_waiting_forever(
    model_dir: Path, other_model: Path, tmp_path: Path
):
    """Another model's masks in the second process's share only: once, the first process
    refused and the second waited for it for ever."""
    write_photos(tmp_path / "in", range(1, 5))
    assert predict(model_dir, tmp_path / "out", tmp_path / "in").returncode == 0
    for mask in sorted((tmp_path / "out" / "masks").glob("*.png"))[::2]:
        mask.unlink()  # the first process's share is not done yet; the second's is stale
    sharded = run_cli("predict", "--model", str(other_model), str(tmp_path / "in"), "-o",
                      str(tmp_path / "out"), "--precision", "32", "--no-overlays",
                      "--devices", "2", timeout=180)  # fmt: skip
    assert sharded.returncode == 2, sharded.stdout
    assert "another model" in sharded.stderr


def test_a_photo_of_the_same_name_whose_first_is_gone_is_refused_unless_overwrite(
    model_dir: Path, tmp_path: Path
):
    """The first photo's drive unmounted, another photo of its name given: not a move."""
    first = write_photos(tmp_path / "usb", range(1, 2))[0]
    assert predict(model_dir, tmp_path / "out", tmp_path / "usb").returncode == 0
    mask = tmp_path / "out" / "masks" / f"{first.stem}.png"
    before = mask.read_bytes()
    first.unlink()
    other = tmp_path / "home" / first.name
    other.parent.mkdir()
    Image.fromarray(draw_vineyard(96, 64, seed=77).photo).save(other)
    refused = predict(model_dir, tmp_path / "out", tmp_path / "home")
    assert refused.returncode == 2 and "no longer" not in refused.stdout
    assert "--overwrite redoes" in refused.stderr and mask.read_bytes() == before
    redone = predict(model_dir, tmp_path / "out", tmp_path / "home", extra=["--overwrite"])
    assert redone.returncode == 0, redone.stderr
    assert pd.read_csv(tmp_path / "out" / "canopy.csv")["file"].tolist() == [str(other.resolve())]


def test_the_mask_is_written_last_so_a_photo_cut_short_is_redone(
    model_dir: Path, tmp_path: Path, monkeypatch
):
    """A run killed between a photo's overlay and its mask: the photo is not done."""
    from vitiseg import predict as predicting
    from vitiseg.data.photos import collect_photos
    from vitiseg.engine.loaded import Model

    photo = collect_photos([str(write_photos(tmp_path / "in", range(1, 2))[0])])[0]
    worker = predicting.PhotoPredictor(Model(model_dir), tmp_path / "out", True, False)
    written = []
    monkeypatch.setattr(predicting, "_save", lambda picture, path, *a: written.append(path.parent.name))  # fmt: skip
    image = np.asarray(Image.open(photo.path).convert("RGB"))
    worker.finish(photo, image, worker.predict(image))
    assert written == ["overlays", "masks"]
