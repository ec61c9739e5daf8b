"""The catalogue of bad inputs: each fails before any work, names the file and the problem,
exits with code 2, and leaves an earlier run untouched."""

import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import FAST_TRAIN, make_dataset, tree_snapshot
from PIL import Image

from vitiseg.cli import main


@pytest.fixture
def earlier_run(tmp_path: Path) -> Path:
    """An output folder already holding a finished run that must never change."""
    run = tmp_path / "out" / "earlier"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("name: earlier\n")
    (run / "checkpoints" / "last.ckpt").write_bytes(b"precious")
    return run


def attempt(data: Path, out: Path, capsys, *extra: str, name: str = "new") -> str:
    """Train on ``data``; require exit code 2 and return the error message."""
    code = main(
        ["train", "-n", name, "-d", str(data), "-o", str(out), "-c", "3", *FAST_TRAIN, *extra]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    return err


def huge_png_header(path: Path, side: int = 100_000) -> None:
    """A tiny PNG file whose header claims side x side pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def break_empty(data: Path) -> str:
    for file in data.iterdir():
        file.unlink()
    return "no photos found"


def break_photo_without_mask(data: Path) -> str:
    (data / "img03_bin.png").unlink()
    return r"photo\(s\) without a mask.*img03"


def break_mask_without_photo(data: Path) -> str:
    (data / "img04.jpg").unlink()
    return r"mask\(s\) without a photo.*img04_bin.png"


def break_corrupt_jpeg(data: Path) -> str:
    (data / "img05.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return r"img05.jpg: not a readable image"


def break_truncated_png(data: Path) -> str:
    content = (data / "img06_bin.png").read_bytes()
    (data / "img06_bin.png").write_bytes(content[: len(content) // 2])
    return r"img06_bin.png: corrupt or truncated image"


def break_truncated_jpeg(data: Path) -> str:
    content = (data / "img01.jpg").read_bytes()
    (data / "img01.jpg").write_bytes(content[: len(content) // 2])
    return r"img01.jpg: corrupt or truncated image"


def break_mask_size(data: Path) -> str:
    Image.fromarray(np.zeros((32, 48), np.uint8)).save(data / "img07_bin.png")
    return r"img07_bin.png: mask is 48x32 but its photo img07.jpg is 96x64"


def break_mask_values(data: Path) -> str:
    mask = np.array(Image.open(data / "img08_bin.png"))
    mask[:5, :5] = 7
    Image.fromarray(mask).save(data / "img08_bin.png")
    return r"img08_bin.png: mask values \[7\] are not below 3.*--class-map"


def break_rgb_mask(data: Path) -> str:
    rgb = np.zeros((64, 96, 3), np.uint8)
    rgb[:, :40] = (0, 0, 255)
    Image.fromarray(rgb).save(data / "img09_bin.png")
    return r"img09_bin.png: colour mask .*vitiseg masks convert"


def break_duplicate_names(data: Path) -> str:
    (data / "img02.png").write_bytes((data / "img02.jpg").read_bytes())
    return r"img02.jpg, img02.png"


def break_decompression_bomb(data: Path) -> str:
    (data / "img00.jpg").unlink()
    huge_png_header(data / "img00.png")
    return r"img00.png: header claims 100000x100000 pixels.*decompression bomb"


def break_empty_split(data: Path) -> str:
    for part in ("train", "valid", "test"):
        (data / part).mkdir()
    for i, file in enumerate(sorted(data.glob("img*.jpg"))):
        part = "train" if i < 6 else "valid"
        file.rename(data / part / file.name)
        (data / f"{file.stem}_bin.png").rename(data / part / f"{file.stem}_bin.png")
    return "the test split has no images"


CASES = [
    break_empty, break_photo_without_mask, break_mask_without_photo, break_corrupt_jpeg,
    break_truncated_png, break_truncated_jpeg, break_mask_size, break_mask_values, break_rgb_mask,
    break_duplicate_names, break_decompression_bomb, break_empty_split,
]  # fmt: skip


@pytest.mark.parametrize("damage", CASES, ids=lambda f: f.__name__.removeprefix("break_"))
def test_bad_data_is_refused_before_any_work(tmp_path: Path, earlier_run: Path, capsys, damage):
    data = make_dataset(tmp_path / "data")
    expected = damage(data)
    before = tree_snapshot(earlier_run.parent)
    err = attempt(data, earlier_run.parent, capsys)
    assert re.search(expected, err), err
    assert tree_snapshot(earlier_run.parent) == before  # nothing written, nothing changed


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["-c", "1"], "-c/--classes:? must be at least 2"),
        (
            ["--class-map", "0,1"],
            r"mask values \[2\] are not below 2 \(--class-map has 2 entries\)",
        ),
        (["--class-map", "0,1,5"], r"targets \[5\] are not classes 0..2"),
        (["--group-by", "("], "not a valid regular expression"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, earlier_run: Path, capsys, options, expected):
    data = make_dataset(tmp_path / "data")
    before = tree_snapshot(earlier_run.parent)
    err = attempt(data, earlier_run.parent, capsys, *options)
    assert re.search(expected, err), err
    assert tree_snapshot(earlier_run.parent) == before


def test_a_folder_holding_another_run_is_refused_even_with_overwrite_when_data_is_bad(
    tmp_path: Path, earlier_run: Path, capsys
):
    data = make_dataset(tmp_path / "data")
    before = tree_snapshot(earlier_run)
    err = attempt(data, earlier_run.parent, capsys, name="earlier")
    assert "already holds a run" in err and "--overwrite" in err
    break_corrupt_jpeg(data)
    attempt(data, earlier_run.parent, capsys, "--overwrite", name="earlier")
    assert tree_snapshot(earlier_run) == before  # --overwrite deletes only once the new data passed


def test_odd_photos_and_names_are_accepted_with_warnings(tmp_path: Path, capsys):
    data = make_dataset(tmp_path / "data", n=10)
    photo = np.array(Image.open(data / "img00.jpg"))
    Image.fromarray(photo).convert("L").save(data / "img00.png")
    (data / "img00.jpg").unlink()
    Image.fromarray(photo).convert("RGBA").save(data / "img01.png")
    (data / "img01.jpg").unlink()
    Image.fromarray(photo[:, :, 1].astype(np.uint16) * 257).save(data / "img02.png")
    (data / "img02.jpg").unlink()
    os.rename(data / "img03.jpg", os.fsencode(data) + b"/vigne \xe9t\xe9 3.jpg")  # not UTF-8
    os.rename(data / "img03_bin.png", os.fsencode(data) + b"/vigne \xe9t\xe9 3_bin.png")
    mask = np.array(Image.open(data / "img04_bin.png"))
    Image.fromarray(mask.astype(np.uint16)).save(data / "img04_bin.png")  # 16-bit mask
    code = main(["train", "-n", "odd", "-d", str(data), "-o", str(tmp_path / "out"), "-c", "3", "-e", "1",
                 *FAST_TRAIN[:-4], "--crop-size", "128", "--workers", "0"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    warned = captured.err
    assert "smaller than the 128 px crop" in warned
    for conversion in (
        "img00.png: L photo converted",
        "img01.png: RGBA photo converted",
        "img02.png: 16-bit",
    ):
        assert conversion in warned
    assert (tmp_path / "out" / "odd" / "model.safetensors").is_file()


def test_preload_larger_than_free_memory_is_refused(tmp_path: Path, monkeypatch, capsys):
    import vitiseg.data.prepare

    monkeypatch.setattr(vitiseg.data.prepare, "available_memory", lambda: 100_000)
    data = make_dataset(tmp_path / "data")
    err = attempt(data, tmp_path / "out", capsys, "-p")
    assert "--pré-load needs" in err and "train with --no-pre-load" in err
