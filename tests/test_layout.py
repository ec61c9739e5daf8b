from pathlib import Path

import pytest
from conftest import TRUNKS, make_dataset, needs_shared_data

from vitiseg.data.layout import find_pairs, find_split_folders
from vitiseg.errors import DataError


def test_pairs_in_the_seeds_layout(dataset: Path):
    pairs = find_pairs(dataset)
    assert [p.name for p in pairs] == [f"img{i:02d}" for i in range(10)]
    assert pairs[0].mask == dataset / "img00_bin.png"


def test_mask_suffix_is_detected(tmp_path: Path):
    folder = make_dataset(tmp_path / "d", n=3, suffix="_mask")
    assert [p.mask.name for p in find_pairs(folder)] == [
        "img00_mask.png",
        "img01_mask.png",
        "img02_mask.png",
    ]


def test_masks_in_another_folder(tmp_path: Path):
    folder = make_dataset(tmp_path / "d", n=3)
    masks = tmp_path / "masks"
    masks.mkdir()
    for mask in folder.glob("*_bin.png"):
        mask.rename(masks / mask.name)
    assert find_pairs(folder, mask_dir=masks)[2].mask == masks / "img02_bin.png"


def test_names_with_spaces_and_accents_work(tmp_path: Path):
    folder = make_dataset(tmp_path / "d", n=1)
    (folder / "img00.jpg").rename(folder / "vigne été 1.jpg")
    (folder / "img00_bin.png").rename(folder / "vigne été 1_bin.png")
    assert find_pairs(folder)[0].name == "vigne été 1"


def test_empty_folder(tmp_path: Path):
    with pytest.raises(DataError, match="no photos found"):
        find_pairs(tmp_path)


def test_photo_without_mask_is_named(dataset: Path):
    (dataset / "img03_bin.png").unlink()
    with pytest.raises(DataError, match=r"1 photo\(s\) without a mask.*img03"):
        find_pairs(dataset)


def test_mask_without_photo_is_named(dataset: Path):
    (dataset / "img04.jpg").unlink()
    with pytest.raises(DataError, match=r"mask\(s\) without a photo.*img04_bin.png"):
        find_pairs(dataset)


def test_same_name_with_two_extensions_is_refused(dataset: Path):
    (dataset / "img05.png").write_bytes((dataset / "img05.jpg").read_bytes())
    with pytest.raises(DataError, match=r"img05.jpg, img05.png"):
        find_pairs(dataset)


def test_split_folders_need_all_three(tmp_path: Path):
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    with pytest.raises(DataError, match="no test/"):
        find_split_folders(tmp_path)


@needs_shared_data
def test_vine_trunks_layout_is_read_as_is():
    folders = find_split_folders(TRUNKS)
    counts = {part: len(find_pairs(folder)) for part, folder in folders.items()}
    assert counts == {"train": 184, "valid": 53, "test": 28}
