from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_here
from PIL import Image

from vitiseg.data.masks import ColourPalette, seed_preset
from vitiseg.errors import ConfigError

SEED_BINARISATION = ROOT.parent / "shared" / "seed" / "reference" / "binarisation.py"


@pytest.mark.skipif(
    not SEED_BINARISATION.is_file(), reason="the seed's reference code is not beside the project"
)
def test_seed_preset_equals_the_seeds_own_function():
    namespace = {"np": np}
    exec(SEED_BINARISATION.read_text(), namespace)
    rng = np.random.default_rng(1)
    # random colours, biased towards the seed's thresholds so every branch is taken
    arrays = [
        rng.integers(0, 256, (64, 80, 3), dtype=np.uint8),
        rng.choice([0, 200, 239, 240, 250, 255], (64, 80, 3)).astype(np.uint8),
    ]
    for rgb in arrays:
        np.testing.assert_array_equal(seed_preset(rgb), namespace["binarisation255"](rgb))


def test_palette_with_tolerance_reports_unmatched_pixels(tmp_path: Path):
    (tmp_path / "p.yaml").write_text(
        "tolerance: 10\nunmatched: 0\ncolours:\n  - {rgb: [0, 0, 255], class: 1}\n  - {rgb: [255, 0, 0], class: 2}\n"
    )
    palette = ColourPalette.from_yaml(tmp_path / "p.yaml")
    rgb = np.array([[[0, 0, 250], [250, 5, 5], [0, 0, 200], [128, 128, 128]]], np.uint8)
    mask, unmatched = palette.convert(rgb)
    assert mask.tolist() == [[1, 2, 0, 0]]
    assert unmatched == 2


def test_a_broken_palette_file_is_explained(tmp_path: Path):
    (tmp_path / "p.yaml").write_text("colours:\n  - {rgb: [0, 0], class: 1}\n")
    with pytest.raises(ConfigError, match="three values"):
        ColourPalette.from_yaml(tmp_path / "p.yaml")


@pytest.mark.slow
def test_convert_command_writes_class_masks_and_stats_reads_them(tmp_path: Path):
    source = tmp_path / "annotations"
    source.mkdir()
    rgb = np.full((20, 30, 3), 255, np.uint8)
    rgb[:10, :, :] = (0, 0, 255)  # leaves
    rgb[10:, :5] = (255, 0, 0)  # trunk
    Image.fromarray(rgb).save(source / "vine1.png")
    result = run_here("masks", "convert", str(source), str(tmp_path / "masks"), "--preset", "seed")
    assert result.returncode == 0, result.stderr
    mask = np.array(Image.open(tmp_path / "masks" / "vine1_bin.png"))
    assert np.bincount(mask.ravel()).tolist() == [250, 300, 50]
    again = run_here("masks", "convert", str(source), str(tmp_path / "masks"), "--preset", "seed")
    assert again.returncode == 2 and "already exists" in again.stderr
    stats = run_here("masks", "stats", str(tmp_path / "masks"))
    assert stats.returncode == 0
    assert "vine1_bin.png" in stats.stdout and "0.500" in stats.stdout
