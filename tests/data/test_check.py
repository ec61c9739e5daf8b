from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vitiseg.data.check import check_pairs
from vitiseg.data.layout import find_pairs
from vitiseg.data.masks import parse_class_map
from vitiseg.errors import ConfigError, DataError


def test_class_counts_after_a_class_map(dataset: Path):
    pairs = find_pairs(dataset)
    raw = check_pairs(pairs, 3)
    merged = check_pairs(pairs, 2, class_map=(0, 1, 1))
    assert merged[0].class_counts.tolist() == [
        raw[0].class_counts[0],
        raw[0].class_counts[1:].sum(),
    ]


def test_mask_values_above_the_classes_are_listed_with_the_fix(dataset: Path):
    with pytest.raises(
        DataError, match=r"img00_bin.png: mask values \[2\] are not below 2.*class_map="
    ):
        check_pairs(find_pairs(dataset)[:1], 2)


def test_mask_of_another_size_is_named(dataset: Path):
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(dataset / "img01_bin.png")
    with pytest.raises(
        DataError, match=r"img01_bin.png: mask is 10x10 but its photo img01.jpg is 96x64"
    ):
        check_pairs(find_pairs(dataset), 3)


def test_colour_mask_points_to_masks_convert(dataset: Path):
    rgb = np.zeros((64, 96, 3), np.uint8)
    rgb[..., 2] = 255
    Image.fromarray(rgb).save(dataset / "img02_bin.png")
    with pytest.raises(DataError, match=r"img02_bin.png: colour mask .*vitiseg masks convert"):
        check_pairs(find_pairs(dataset), 3)


def test_palette_and_16_bit_masks_with_valid_values_are_accepted(dataset: Path):
    mask = np.array(Image.open(dataset / "img03_bin.png"))
    palette = Image.fromarray(mask, mode="L").convert("P")
    palette.save(dataset / "img03_bin.png")
    Image.fromarray(mask.astype(np.uint16)).save(dataset / "img04_bin.png")
    facts = check_pairs(find_pairs(dataset), 3)
    assert facts[3].class_counts.sum() == 96 * 64
    assert facts[4].class_counts.tolist() == np.bincount(mask.ravel(), minlength=3).tolist()


def test_class_map_of_the_wrong_length_is_reported(dataset: Path):
    with pytest.raises(
        DataError, match=r"mask values \[2\] are not below 2 \(class_map= has 2 entries\)"
    ):
        check_pairs(find_pairs(dataset)[:1], 2, class_map=(0, 1))


def test_class_map_targets_must_be_classes():
    with pytest.raises(ConfigError, match=r"targets \[3\] are not classes 0..2"):
        parse_class_map("0,1,3", 3)


def test_files_are_written_atomically_with_the_usual_permissions(tmp_path: Path):
    import os

    from vitiseg.util.atomic import write_text

    write_text(tmp_path / "a.txt", "old")
    write_text(tmp_path / "a.txt", "new")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.txt").read_text() == "new"
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
