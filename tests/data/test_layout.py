from pathlib import Path

import pytest
from conftest import TRUNKS, make_dataset, needs_shared_data, run_here

from vitiseg.config import TrainConfig
from vitiseg.data.layout import find_pairs, find_split_folders, find_split_pairs, mask_files
from vitiseg.data.prepare import split_pairs
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


def _move_masks(folder: Path, target: Path, suffix: str = "_bin") -> Path:
    """Move ``NAME{suffix}.png`` masks of ``folder`` to ``target/NAME.png`` (same names)."""
    target.mkdir(parents=True, exist_ok=True)
    for mask in folder.glob(f"*{suffix}.png"):
        mask.rename(target / mask.name.replace(suffix, ""))
    return target


def _same_name_set(root: Path, images: str = "images", masks: str = "masks", n: int = 3) -> Path:
    make_dataset(root / images, n=n)
    _move_masks(root / images, root / masks)
    return root


def test_same_name_masks_in_another_folder_need_no_suffix(tmp_path: Path):
    photos = make_dataset(tmp_path / "Train_Images", n=3)
    masks = _move_masks(photos, tmp_path / "Train_Ground_Truth")
    pairs = find_pairs(photos, mask_dir=masks)
    assert [(p.image.name, p.mask.name) for p in pairs] == [
        (f"img{i:02d}.jpg", f"img{i:02d}.png") for i in range(3)
    ]


def test_empty_suffix_with_png_photos_in_another_folder(tmp_path: Path):
    """The issue's case: PNG photos, same-name masks, `--mask-suffix ""` took every photo
    for a mask."""
    photos = make_dataset(tmp_path / "photos", n=2)
    for jpg in photos.glob("*.jpg"):
        jpg.rename(jpg.with_suffix(".png").with_name(jpg.stem + ".png"))
    masks = _move_masks(photos, tmp_path / "gt")
    pairs = find_pairs(photos, mask_suffix="", mask_dir=masks)
    assert [(p.image, p.mask) for p in pairs] == [
        (photos / "img00.png", masks / "img00.png"),
        (photos / "img01.png", masks / "img01.png"),
    ]


def test_empty_suffix_in_one_folder_is_explained(dataset: Path):
    with pytest.raises(DataError, match="empty mask_suffix= needs the masks in another folder"):
        find_pairs(dataset, mask_suffix="")


def test_suffixed_masks_in_another_folder_still_found(tmp_path: Path):
    folder = make_dataset(tmp_path / "d", n=2, suffix="_mask")
    masks = tmp_path / "m"
    masks.mkdir()
    for mask in folder.glob("*_mask.png"):
        mask.rename(masks / mask.name)
    assert find_pairs(folder, mask_dir=masks)[1].mask == masks / "img01_mask.png"


@pytest.mark.parametrize(
    ("images", "masks"), [("images", "masks"), ("img", "ann"), ("JPEGImages", "SegmentationClass")]
)
def test_image_and_mask_folders_are_recognised(tmp_path: Path, images: str, masks: str):
    root = _same_name_set(tmp_path / "set", images, masks)
    pairs = find_pairs(root)
    assert [p.mask for p in pairs] == [root / masks / f"img{i:02d}.png" for i in range(3)]
    assert pairs[0].image == root / images / "img00.jpg"


def test_voc_photos_without_a_mask_are_left_out(tmp_path: Path):
    root = _same_name_set(tmp_path / "voc", "JPEGImages", "SegmentationClass")
    (root / "SegmentationClass" / "img01.png").unlink()
    assert [p.name for p in find_pairs(root)] == ["img00", "img02"]


def test_images_masks_photo_without_mask_is_still_an_error(tmp_path: Path):
    root = _same_name_set(tmp_path / "set")
    (root / "masks" / "img01.png").unlink()
    with pytest.raises(
        DataError, match=r"1 photo\(s\) without a mask NAME.png \(same name\).*img01"
    ):
        find_pairs(root)


def test_split_folders_outside_image_and_mask_folders(tmp_path: Path):
    for part, n in (("train", 4), ("val", 2), ("test", 1)):
        _same_name_set(tmp_path / part, n=n)
    splits = find_split_pairs(tmp_path)
    assert {part: len(p) for part, p in splits.items()} == {"train": 4, "valid": 2, "test": 1}
    assert splits["valid"][0].mask == tmp_path / "val" / "masks" / "img00.png"


def test_split_folders_inside_image_and_mask_folders(tmp_path: Path):
    for part, n in (("train", 4), ("valid", 2), ("test", 1)):
        make_dataset(tmp_path / "images" / part, n=n)
        _move_masks(tmp_path / "images" / part, tmp_path / "masks" / part)
    splits = find_split_pairs(tmp_path)
    assert {part: len(p) for part, p in splits.items()} == {"train": 4, "valid": 2, "test": 1}
    assert splits["test"][0].mask == tmp_path / "masks" / "test" / "img00.png"


def test_split_folders_inside_photos_only_are_explained(tmp_path: Path):
    for part in ("train", "valid", "test"):
        make_dataset(tmp_path / "images" / part, n=1)
    (tmp_path / "masks").mkdir()
    with pytest.raises(DataError, match="masks has not"):
        find_split_pairs(tmp_path)


def test_unsplit_folder_gives_none(dataset: Path):
    assert find_split_pairs(dataset) is None


def test_mask_files_of_same_name_masks_and_of_a_set(tmp_path: Path):
    root = _same_name_set(tmp_path / "set")
    expected = [root / "masks" / f"img{i:02d}.png" for i in range(3)]
    assert mask_files(root / "masks") == expected
    assert mask_files(root) == expected


def test_training_split_with_same_name_mask_dir(tmp_path: Path):
    photos = make_dataset(tmp_path / "Train_Images", n=10)
    masks = _move_masks(photos, tmp_path / "Train_Ground_Truth")
    config = TrainConfig(name="m", directory=str(photos), output=str(tmp_path), mask_dir=str(masks))
    splits = split_pairs(config)
    assert sum(len(p) for p in splits.values()) == 10
    assert all(p.mask == masks / f"{p.name}.png" for part in splits.values() for p in part)


def test_training_split_from_a_set_with_split_folders_inside(tmp_path: Path):
    for part in ("train", "valid", "test"):
        make_dataset(tmp_path / "img" / part, n=2)
        _move_masks(tmp_path / "img" / part, tmp_path / "ann" / part)
    config = TrainConfig(name="m", directory=str(tmp_path), output=str(tmp_path / "o"))
    splits = split_pairs(config)
    assert splits["valid"][1].mask == tmp_path / "ann" / "valid" / "img01.png"


@pytest.mark.slow
def test_evaluate_with_same_name_mask_dir(tmp_path: Path, model_dir: Path):
    photos = make_dataset(tmp_path / "Test_Images", n=2)
    masks = _move_masks(photos, tmp_path / "Test_Ground_Truth")
    out = tmp_path / "scores"
    result = run_here(
        "evaluate", "--model", str(model_dir), "-d", str(photos), "--mask-dir", str(masks),
        "-o", str(out), "--no-overlays", "--device", "cpu",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Test images: 2" in result.stdout


@pytest.mark.slow
def test_masks_stats_of_same_name_masks(tmp_path: Path):
    root = _same_name_set(tmp_path / "set", n=2)
    result = run_here("masks", "stats", str(root / "masks"))
    assert result.returncode == 0, result.stderr
    assert "img00.png" in result.stdout and "img01.png" in result.stdout
