from pathlib import Path

import numpy as np
import pytest
from conftest import run_here
from PIL import Image

from vitiseg.data.masks import seed_preset
from vitiseg.data.synthetic import LEAF, WOOD, draw_vineyard
from vitiseg.demo import main as demo


def test_drawn_masks_hold_every_class_in_plausible_shares():
    for seed in range(5):
        canvas = draw_vineyard(320, 240, seed=seed)
        shares = np.bincount(canvas.mask.ravel(), minlength=3) / canvas.mask.size
        assert 0.4 < shares[0] < 0.95, shares
        assert 0.05 < shares[LEAF] < 0.5, shares
        assert 0.003 < shares[WOOD] < 0.1, shares


def test_leaf_pixels_are_green_and_wood_brown():
    canvas = draw_vineyard(320, 240, seed=3)
    photo = canvas.photo.astype(int)
    leaf, wood = canvas.mask == LEAF, canvas.mask == WOOD
    assert (photo[leaf][:, 1] > photo[leaf][:, 0]).mean() > 0.9  # green above red
    assert (photo[wood][:, 0] > photo[wood][:, 2]).mean() > 0.8  # red above blue


def test_same_seed_same_photo_other_seed_other_photo():
    a, b, c = draw_vineyard(seed=5), draw_vineyard(seed=5), draw_vineyard(seed=6)
    assert np.array_equal(a.photo, b.photo) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.mask, c.mask)


def test_colour_annotation_converts_back_to_the_mask():
    canvas = draw_vineyard(256, 192, seed=2)
    np.testing.assert_array_equal(seed_preset(canvas.annotation), canvas.mask)


@pytest.mark.slow
def test_synth_command_writes_the_seeds_layout(tmp_path: Path):
    result = run_here("synth", str(tmp_path / "s"), "--n", "3", "--size", "128x96", "--seed", "4")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "s").iterdir() if p.is_file())
    assert names == [f"vineyard_00{i}{ext}" for i in range(3) for ext in (".jpg", "_bin.png")]
    with Image.open(tmp_path / "s" / "vineyard_000.jpg") as photo:
        assert photo.size == (128, 96)
    assert len(list((tmp_path / "s" / "annotations").iterdir())) == 3


@pytest.mark.slow
def test_shortened_demo_runs_end_to_end(tmp_path: Path, capsys):
    assert (
        demo(
            [
                "--out",
                str(tmp_path),
                "--n",
                "12",
                "--size",
                "256x192",
                "--epochs",
                "2",
                "--crop-size",
                "128",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "IoU on the synthetic test split: leaf" in out and ", wood " in out
    run = tmp_path / "runs" / "demo"
    assert (run / "model.safetensors").is_file() and (run / "Test_demo.csv").is_file()
    assert len(list((run / "Predictions" / "demo").iterdir())) == 3
