"""`vitiseg predict` on every kind of input, resume, failures, and bounded memory."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_here
from PIL import Image

from vitiseg.data.photos import photo_datetime
from vitiseg.data.synthetic import draw_vineyard


def photo(width: int = 160, height: int = 96, seed: int = 0) -> np.ndarray:
    return draw_vineyard(max(width, 64), max(height, 64), seed=seed).photo[:height, :width]


def predict(model_dir: Path, out: Path, *inputs, extra=()) -> subprocess.CompletedProcess:
    return run_here(
        "predict",
        "--model",
        str(model_dir),
        *map(str, inputs),
        "-o",
        str(out),
        "--precision",
        "32",
        *extra,
    )


@pytest.mark.slow
def test_every_photo_kind_gets_a_mask_of_its_size(model_dir: Path, tmp_path: Path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    rgb = photo()
    Image.fromarray(rgb).save(src / "rgb.jpg")
    Image.fromarray(rgb).convert("RGBA").save(src / "rgba.png")
    Image.fromarray(rgb).convert("L").save(src / "grey.png")
    Image.fromarray(rgb[:, :, 1].astype(np.uint16) * 257).save(src / "deep.png")
    Image.fromarray(rgb).save(src / "plot.tif")
    Image.fromarray(photo(100, 70)).save(src / "sub" / "nested.jpg")
    result = predict(model_dir, tmp_path / "out", src, extra=["--recursive"])
    assert result.returncode == 0, result.stderr
    masks = tmp_path / "out" / "masks"
    for name in ("rgb", "rgba", "grey", "deep", "plot"):
        with Image.open(masks / f"{name}.png") as mask:
            assert mask.size == (160, 96) and mask.mode == "P"
    with Image.open(masks / "sub" / "nested.png") as mask:
        assert mask.size == (100, 70)
    assert "RGBA photo converted to RGB" in result.stdout + result.stderr
    assert "16-bit greyscale photo scaled" in result.stdout + result.stderr
    table = pd.read_csv(tmp_path / "out" / "canopy.csv")
    assert len(table) == 6
    assert np.allclose(table[["cover_background", "cover_leaf", "cover_wood"]].sum(axis=1), 1)
    assert (table["leaf_cover"] == table["cover_leaf"]).all()


@pytest.mark.slow
def test_exif_orientation_is_applied(model_dir: Path, tmp_path: Path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: a 160x96 sensor image is a 96x160 photo
    Image.fromarray(photo()).save(tmp_path / "turned.jpg", exif=exif)
    assert predict(model_dir, tmp_path / "out", tmp_path / "turned.jpg").returncode == 0
    with Image.open(tmp_path / "out" / "masks" / "turned.png") as mask:
        assert mask.size == (96, 160)


@pytest.mark.slow
def test_glob_patterns_and_dates_from_names(model_dir: Path, tmp_path: Path):
    for name in ("4j7g2wk9_2024-04-07_140148_8_16.jpg", "other.jpg", "skip.png"):
        Image.fromarray(photo()).save(tmp_path / name)
    result = predict(model_dir, tmp_path / "out", tmp_path / "*.jpg", extra=["--no-overlays"])
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "out" / "canopy.csv", keep_default_na=False)
    assert sorted(Path(f).name for f in table["file"]) == [
        "4j7g2wk9_2024-04-07_140148_8_16.jpg",
        "other.jpg",
    ]
    assert sorted(table["datetime"]) == ["", "2024-04-07T14:01:48"]
    assert not (tmp_path / "out" / "overlays").exists()


def test_exif_date_is_preferred(tmp_path: Path):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2023:08:15 10:30:00"
    Image.fromarray(photo()).save(tmp_path / "cam_2024-01-01.jpg", exif=exif)
    assert photo_datetime(tmp_path / "cam_2024-01-01.jpg") == "2023-08-15T10:30:00"


@pytest.mark.slow
def test_done_photos_are_skipped_unless_overwrite(model_dir: Path, tmp_path: Path):
    for i in range(3):
        Image.fromarray(photo(seed=i)).save(tmp_path / f"p{i}.jpg")
    out = tmp_path / "out"
    assert predict(model_dir, out, tmp_path / "p0.jpg", tmp_path / "p1.jpg").returncode == 0
    first_mask = (out / "masks" / "p0.png").stat().st_mtime_ns
    again = predict(model_dir, out, tmp_path / "p0.jpg", tmp_path / "p1.jpg", tmp_path / "p2.jpg")
    assert (
        "2 predicted" not in again.stdout
        and "1 predicted" in again.stdout
        and "2 skipped" in again.stdout
    )
    assert (out / "masks" / "p0.png").stat().st_mtime_ns == first_mask
    assert len(pd.read_csv(out / "canopy.csv")) == 3
    redo = predict(model_dir, out, tmp_path / "p0.jpg", extra=["--overwrite"])
    assert "1 predicted" in redo.stdout


@pytest.mark.slow
def test_a_corrupt_photo_is_reported_and_the_rest_processed(model_dir: Path, tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.fromarray(photo(seed=i)).save(src / f"p{i}.jpg")
    data = (src / "p1.jpg").read_bytes()
    (src / "p1.jpg").write_bytes(data[: len(data) // 3])
    (src / "notes.jpg").write_text("not a photo")
    result = predict(model_dir, tmp_path / "out", src)
    assert result.returncode == 1
    assert (
        "p1.jpg" in result.stderr
        and "notes.jpg" in result.stderr
        and "Traceback" not in result.stderr
    )
    assert sorted(p.name for p in (tmp_path / "out" / "masks").iterdir()) == ["p0.png", "p2.png"]


@pytest.mark.slow
def test_missing_input_exits_2(model_dir: Path, tmp_path: Path):
    result = predict(model_dir, tmp_path / "out", tmp_path / "nowhere")
    assert result.returncode == 2 and "no such file, folder or matching pattern" in result.stderr


MEMORY_SCRIPT = """
import json, resource, sys, numpy as np, torch
from vitiseg.engine.network import load_model
from vitiseg.engine.tiling import Predictor
torch.set_num_threads(2)
model, info = load_model(sys.argv[1])
predictor = Predictor(model, info, device="cpu", tile=256, overlap=0.25, batch_size=4)
predictor.predict(np.zeros((300, 300, 3), np.uint8))  # warm-up: allocator and kernels
rows, width = int(sys.argv[2]), int(sys.argv[3])
image = np.random.default_rng(0).integers(0, 255, (rows, width, 3), dtype=np.uint8)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
mask = predictor.predict(image).mask
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"shape": mask.shape, "extra_mb": (after - before) / 1024}))
"""


def _extra_memory_mb(model_dir: Path, rows: int, width: int) -> float:
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(model_dir), str(rows), str(width)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["shape"] == [rows, width]
    return facts["extra_mb"]


@pytest.mark.slow
def test_tiled_memory_is_bounded_by_the_tile_not_the_photo(model_dir: Path):
    # the same width (the same band shapes, so the same kernels and their scratch memory),
    # 3x the rows: whole-image float32 logits of 3 classes would grow by 72 MB (and their
    # weights by 24 MB); streamed bands do not grow, the mask by 6 MB (measured: 21-32 MB,
    # the allocator's slack)
    short, tall = _extra_memory_mb(model_dir, 1000, 3000), _extra_memory_mb(model_dir, 3000, 3000)
    assert tall - short < 60, (short, tall)


def test_a_training_folder_gives_its_photos_not_its_masks(tmp_path: Path):
    """The seed's layout (NAME.jpg + NAME_bin.png) and images/ + masks/: only the photos
    are predicted (issue #26: masks were predicted as photos)."""
    from conftest import make_dataset

    from vitiseg.data.photos import collect_photos

    seed_layout = make_dataset(tmp_path / "seed", n=3)
    Image.fromarray(photo()).save(seed_layout / "lonely_bin.png")  # no photo: a photo itself
    names = sorted(p.path.name for p in collect_photos([str(seed_layout)]))
    assert names == ["img00.jpg", "img01.jpg", "img02.jpg", "lonely_bin.png"]
    layout = tmp_path / "set"
    make_dataset(layout / "images", n=2, suffix="")
    (layout / "masks").mkdir()
    for mask in (layout / "images").glob("*.png"):
        mask.rename(layout / "masks" / mask.name)
    assert sorted(p.key for p in collect_photos([str(layout)], recursive=True)) == [
        "img00",
        "img01",
    ]


def test_a_model_without_a_leaf_class_gives_no_leaf_traits_and_says_so_once(tmp_path: Path):
    import torch

    from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model

    spec = ModelSpec(encoder="resnet18", classes=2, decoder_channels=(16, 16, 16, 16, 16))
    torch.manual_seed(0)
    export_model(build_model(spec), ModelInfo(spec, ["background", "stem"]), tmp_path / "stems")
    for seed in range(3):
        Image.fromarray(photo(seed=seed)).save(tmp_path / f"crop{seed}.jpg")
    result = predict(tmp_path / "stems", tmp_path / "out", *sorted(tmp_path.glob("*.jpg")))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("no class named leaf") == 1
    table = pd.read_csv(tmp_path / "out" / "canopy.csv")
    assert table[["leaf_cover", "canopy_height", "porosity", "leaf_hue"]].isna().all().all()
    assert np.allclose(table["cover_background"] + table["cover_stem"], 1)
