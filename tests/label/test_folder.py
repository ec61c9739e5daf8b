"""The photos the page may show and the masks it may write: what `vitiseg train` reads."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from label_helpers import photo_folder, read_png

from vitiseg.data.layout import find_pairs
from vitiseg.errors import DataError
from vitiseg.label.folder import LabelFolder


def test_photos_are_the_folders_own_and_masks_go_beside_them(tmp_path: Path):
    folder = LabelFolder(photo_folder(tmp_path / "p"))
    assert sorted(folder.photos) == ["img00.jpg", "img01.jpg", "img02.jpg"]
    assert folder.photo("img01.jpg").mask == (tmp_path / "p" / "img01_bin.png").resolve()
    assert folder.counts() == (2, 1)


def test_a_saved_mask_is_what_train_reads(tmp_path: Path):
    data = photo_folder(tmp_path / "p")
    folder = LabelFolder(data)
    mask = np.random.default_rng(0).integers(0, 3, (64, 96)).astype(np.uint8)
    folder.write(folder.photo("img01.jpg"), mask, classes=3)
    pairs = {p.name: p for p in find_pairs(data)}
    assert sorted(pairs) == ["img00", "img01", "img02"]
    assert np.array_equal(read_png(pairs["img01"].mask), mask)
    assert sorted(p.name for p in data.iterdir() if p.name.startswith(".")) == []


def test_masks_go_to_mask_dir_under_the_same_names(tmp_path: Path):
    data = photo_folder(tmp_path / "p", unlabelled=(0, 1, 2))
    folder = LabelFolder(data, tmp_path / "masks")
    for name in folder.photos:
        folder.write(folder.photo(name), np.ones((64, 96), np.uint8), classes=3)
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == [
        "img00_bin.png", "img01_bin.png", "img02_bin.png",
    ]  # fmt: skip
    assert len(find_pairs(data, mask_dir=tmp_path / "masks")) == 3
    assert sorted(p.name for p in data.iterdir()) == ["img00.jpg", "img01.jpg", "img02.jpg"]


def test_the_suffix_of_the_masks_already_there_is_kept(tmp_path: Path):
    data = photo_folder(tmp_path / "p", suffix="_mask")
    folder = LabelFolder(data)
    assert folder.photo("img01.jpg").mask.name == "img01_mask.png"
    assert sorted(folder.photos) == ["img00.jpg", "img01.jpg", "img02.jpg"]


def test_a_link_to_a_photo_outside_the_folder_is_not_one_of_its_photos(tmp_path: Path):
    data = photo_folder(tmp_path / "p")
    secret = photo_folder(tmp_path / "elsewhere", n=1, unlabelled=())
    os.symlink(secret / "img00.jpg", data / "outside.jpg")
    os.symlink(data / "img00.jpg", data / "inside.jpg")  # a link within the folder is fine
    folder = LabelFolder(data)
    assert "outside.jpg" not in folder.photos and "inside.jpg" in folder.photos
    assert folder.links_out == 1
    with pytest.raises(KeyError):
        folder.photo("outside.jpg")
    with pytest.raises(KeyError):
        folder.photo("../elsewhere/img00.jpg")


def test_a_photo_turned_into_a_link_out_of_the_folder_is_refused(tmp_path: Path):
    data = photo_folder(tmp_path / "p")
    folder = LabelFolder(data)
    secret = photo_folder(tmp_path / "elsewhere", n=1, unlabelled=())
    (data / "img01.jpg").unlink()
    os.symlink(secret / "img00.jpg", data / "img01.jpg")
    with pytest.raises(KeyError):
        folder.photo("img01.jpg")


def test_a_mask_of_another_size_is_refused(tmp_path: Path):
    folder = LabelFolder(photo_folder(tmp_path / "p"))
    with pytest.raises(DataError, match=r"img01.jpg: a mask of 10x64 pixels for a 96x64 photo"):
        folder.write(folder.photo("img01.jpg"), np.zeros((64, 10), np.uint8), classes=3)


def test_a_mask_with_an_unknown_class_is_refused_and_255_is_kept(tmp_path: Path):
    folder = LabelFolder(photo_folder(tmp_path / "p"))
    photo = folder.photo("img01.jpg")
    with pytest.raises(DataError, match=r"img01.jpg: class 3 where the page has 3 classes \(0-2\)"):
        folder.write(photo, np.full((64, 96), 3, np.uint8), classes=3)
    assert not photo.mask.exists()
    folder.write(photo, np.full((64, 96), 255, np.uint8), classes=3)
    assert folder.read(photo, classes=3).max() == 255


def test_temporaries_of_a_killed_writer_are_removed_at_start(tmp_path: Path):
    data = photo_folder(tmp_path / "p")
    (data / ".img01_bin.png.abc123.tmp").write_bytes(b"half a png")
    LabelFolder(data)
    assert not (data / ".img01_bin.png.abc123.tmp").exists()


def test_two_photos_that_would_share_a_mask_are_refused(tmp_path: Path):
    data = photo_folder(tmp_path / "p")
    (data / "img01.png").write_bytes((data / "img00_bin.png").read_bytes())
    with pytest.raises(DataError, match=r"would share the mask img01_bin.png"):
        LabelFolder(data)


def test_a_folder_without_photos_is_refused(tmp_path: Path):
    with pytest.raises(DataError, match=r"no photos"):
        LabelFolder(tmp_path)
