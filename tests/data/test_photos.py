"""The one photo finder: which files are photos, and when a photo was taken."""

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vitiseg.data.photos import (
    DEFAULT_MASK_SUFFIX,
    collect_photos,
    image_files,
    parse_name,
    photo_datetime,
    without_masks,
)
from vitiseg.errors import DataError


def picture(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    return path


def test_the_seed_layout_gives_its_photos_only(tmp_path: Path):
    for name in ("a.jpg", f"a{DEFAULT_MASK_SUFFIX}.png", "b.png", "b_mask.png", "c_gt.png", ".hidden.jpg"):  # fmt: skip
        picture(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a photo")
    assert [p.name for p in image_files(tmp_path)] == ["a.jpg", "a_bin.png", "b.png", "b_mask.png", "c_gt.png"]  # fmt: skip
    assert [p.key for p in collect_photos([str(tmp_path)])] == ["a", "b", "c_gt"]


def test_images_beside_masks_folders_and_sub_folders(tmp_path: Path):
    picture(tmp_path / "set" / "images" / "x.jpg")
    picture(tmp_path / "set" / "masks" / "x.png")
    picture(tmp_path / "cams" / "north" / "y.jpg")
    assert [p.key for p in collect_photos([str(tmp_path / "set")])] == ["x"]
    assert [p.key for p in collect_photos([str(tmp_path / "cams")], recursive=True)] == ["north/y"]


def test_two_photos_with_one_output_name_or_nothing_found_are_refused(tmp_path: Path):
    one, two = picture(tmp_path / "a" / "p.jpg"), picture(tmp_path / "b" / "p.jpg")
    with pytest.raises(DataError, match=r"would both write outputs named p"):
        collect_photos([str(one), str(two)])
    with pytest.raises(DataError, match="no such file, folder or matching pattern"):
        collect_photos([str(tmp_path / "nothing*.jpg")])


def test_without_masks_keeps_a_mask_named_file_without_its_photo():
    files = [
        Path("a.jpg"),
        Path("a_bin.png"),
        Path("b_bin.png"),
        Path("c.tif"),
        Path("c_label.tif"),
    ]
    assert [p.name for p in without_masks(files)] == ["a.jpg", "b_bin.png", "c.tif"]


def test_a_date_in_the_name_when_the_photo_has_no_exif(tmp_path: Path):
    assert photo_datetime(picture(tmp_path / "cam4_2024-06-03_121500.jpg")) == "2024-06-03T12:15:00"
    assert photo_datetime(picture(tmp_path / "cam4_20240603.jpg")) == "2024-06-03T00:00:00"
    assert photo_datetime(picture(tmp_path / "cam4_2024-13-45.jpg")) == ""
    assert photo_datetime(picture(tmp_path / "plain.jpg")) == ""


def test_a_phone_name_with_its_date_glued_to_img_keeps_its_date():
    """Phones that name photos IMG20240501123456.jpg: the date was lost (digits glued to
    letters are a camera's name, as in plot20230615), so the season had no day for them."""
    assert parse_name("IMG20240501123456").taken == datetime(2024, 5, 1, 12, 34, 56)
    assert parse_name("VID20240501_123456").taken == datetime(2024, 5, 1, 12, 34, 56)
    assert parse_name("plot20230615").taken is None  # still a camera's name
