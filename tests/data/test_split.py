from pathlib import Path

import pytest
from conftest import FAST_TRAIN
from sklearn.model_selection import train_test_split

from vitiseg.cli import main
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


def write_split_file(path: Path, rows: dict[str, str], header: str = "name,split,image,mask"):
    lines = [header] + [f"{name},{part},{name}.jpg,{name}_bin.png" for name, part in rows.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_split_file_decides_the_run_and_may_leave_test_empty(
    dataset: Path, tmp_path: Path, capsys
):
    chosen = {f"img{i:02d}": "train" if i < 7 else "valid" for i in range(10)}
    split_file = write_split_file(tmp_path / "mine.csv", chosen)
    code = main(["train", *FAST_TRAIN, "-n", "s", "-d", str(dataset), "-o", str(tmp_path / "o"),
                 "-c", "3", "-e", "1", "--split", str(split_file)])  # fmt: skip
    assert code == 0
    run = tmp_path / "o" / "s"
    saved = read_split(run / "split.csv", dataset)
    assert {p.name: part for part in saved for p in saved[part]} == chosen
    assert "No test evaluation" in capsys.readouterr().out
    assert not (run / "Test_s.csv").exists()


@pytest.mark.parametrize(
    ("rows", "header", "extra", "message"),
    [
        ({"img00": "train", "img01": "valid"}, "name,split", [], "no image, mask column"),
        ({"img00": "train", "img01": "test"}, None, [], "the valid split has no images"),
        ({"img00": "train", "nope": "valid"}, None, [], "nope.jpg, which no longer exists"),
        ({"img00": "train", "img01": "valid"}, None, ["--group-by", "img"], "exclude each other"),
    ],
)
def test_bad_split_files_exit_2_naming_the_problem(
    dataset: Path, tmp_path: Path, capsys, rows, header, extra, message
):
    split_file = write_split_file(tmp_path / "bad.csv", rows, header or "name,split,image,mask")
    code = main(["train", *FAST_TRAIN, "-n", "b", "-d", str(dataset), "-o", str(tmp_path / "o"),
                 "-c", "3", "--split", str(split_file), *extra])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "o" / "b").exists()


def test_a_missing_split_file_is_named(dataset: Path, tmp_path: Path, capsys):
    code = main(["train", *FAST_TRAIN, "-n", "b", "-d", str(dataset), "-o", str(tmp_path / "o"),
                 "-c", "3", "--split", str(tmp_path / "absent.csv")])  # fmt: skip
    assert code == 2 and "absent.csv: no such file" in capsys.readouterr().err
