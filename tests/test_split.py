from pathlib import Path

import pytest
from sklearn.model_selection import train_test_split

from vitiseg.data.layout import find_pairs
from vitiseg.data.split import assign, read_split, split_names, write_split
from vitiseg.errors import DataError


def test_seed_split_is_reproduced():
    names = [f"photo_{i:03d}" for i in range(37)]
    rest, test = train_test_split(names, test_size=0.2, random_state=19)
    train, valid = train_test_split(rest, test_size=0.4, random_state=19)
    split = split_names(names, seed=19)
    assert split == {"train": sorted(train), "valid": sorted(valid), "test": sorted(test)}


def test_group_split_keeps_each_group_in_one_split():
    names = [f"cam{c}_2024-0{m}-01" for c in range(3) for m in range(1, 9)]
    split = split_names(names, group_by=r"_(\d{4}-\d\d)")
    months = {part: {n.split("_")[1] for n in split[part]} for part in split}
    assert not months["train"] & months["valid"]
    assert not months["train"] & months["test"]
    assert not months["valid"] & months["test"]
    assert sum(len(v) for v in split.values()) == len(names)


def test_group_regex_that_misses_a_name_is_reported():
    with pytest.raises(DataError, match="other.jpg.*does not match"):
        split_names(["a_1", "b_1", "c_1", "other.jpg"], group_by=r"^(\w)_")


def test_too_few_pairs():
    with pytest.raises(DataError, match="at least 3"):
        split_names(["a", "b"])


def test_split_csv_round_trip(dataset: Path, tmp_path: Path):
    pairs = find_pairs(dataset)
    split = assign(pairs, split_names([p.name for p in pairs]))
    write_split(tmp_path / "split.csv", split, dataset)
    assert read_split(tmp_path / "split.csv", dataset) == split
