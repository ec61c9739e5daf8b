"""Photo quality checks of a season: thresholds, real pictures, a growing canopy vs a move."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vitiseg.data import photo_quality


def test_quality_reasons_use_the_documented_thresholds():
    photos = pd.DataFrame({
        "camera": ["c"] * 6,
        "brightness": [100, 30, 100, 100, 100, 100],
        "overexposed": [0.0, 0.0, 0.5, 0.0, 0.0, 0.0],
        "sharpness": [100, 100, 100, 20, 100, 100],
        "shift": [0.0, 0.0, 0.0, 0.0, 0.3, 0.01],
    })  # fmt: skip
    reasons = photo_quality.quality_reasons(photos).tolist()
    assert reasons[0] == reasons[5] == ""
    assert reasons[1].startswith("too dark (mean grey 30 < 40)")
    assert reasons[2].startswith("over-exposed (50% of pixels white > 25%)")
    assert reasons[3].startswith("blurred (sharpness 20 < 0.35 x the camera's median)")
    assert reasons[4].startswith("camera moved (view shifted 30.0% of the width")


def test_quality_measures_of_real_pictures(tmp_path: Path):
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, (180, 320, 3)).astype(np.uint8)
    scene = np.asarray(Image.fromarray(scene).resize((640, 360), Image.Resampling.BILINEAR))
    Image.fromarray(scene).save(tmp_path / "c_2024-05-01.png")
    Image.fromarray(scene // 6).save(tmp_path / "c_2024-05-02.png")  # dark
    Image.fromarray(np.roll(scene, 100, axis=1)).save(tmp_path / "c_2024-05-03.png")  # moved
    blurred = np.asarray(Image.fromarray(scene).resize((64, 36)).resize((640, 360)))
    Image.fromarray(blurred).save(tmp_path / "c_2024-05-04.png")
    Image.fromarray(scene).save(tmp_path / "c_2024-05-05.png")
    files = pd.Series(sorted(str(p) for p in tmp_path.glob("*.png")))
    camera = pd.Series(["c"] * 5)
    measures = photo_quality.measure_quality(files, camera, pd.Series(range(5)))
    photos = measures.assign(camera="c")
    reasons = photo_quality.quality_reasons(photos).tolist()
    assert reasons[0] == reasons[4] == ""
    assert reasons[1].startswith("too dark")
    assert reasons[2].startswith("camera moved")
    assert measures.loc[2, "shift"] == pytest.approx(100 / 640, abs=0.01)
    assert reasons[3].startswith("blurred")


def test_a_growing_canopy_is_not_a_move_but_a_15_percent_reframing_is(tmp_path: Path):
    """Issue #28.4: the view is compared with the camera's previous photo, so a canopy that
    fills the picture week after week is not flagged; a photo cropped by 15 % and resized
    (the camera turned and zoomed) is."""
    from vitiseg.data.synthetic import draw_vineyard

    scene = draw_vineyard(640, 360, seed=3).photo
    rng = np.random.default_rng(0)
    for week in range(6):  # green blobs spreading over the picture: the canopy growing
        grown = scene.copy()
        for _ in range(week * 12):
            x, y = rng.integers(0, 600), rng.integers(0, 200)
            grown[y : y + 40, x : x + 40] = (40, 150 + week * 10, 40)
        Image.fromarray(grown).save(tmp_path / f"c_2024-05-{week + 1:02d}.png")
    cropped = Image.fromarray(grown).crop((96, 0, 640, 306)).resize((640, 360))
    cropped.save(tmp_path / "c_2024-05-07.png")
    files = pd.Series(sorted(str(p) for p in tmp_path.glob("*.png")))
    measures = photo_quality.measure_quality(files, pd.Series(["c"] * 7), pd.Series(range(7)))
    reasons = photo_quality.quality_reasons(measures.assign(camera="c")).tolist()
    assert reasons[:6] == [""] * 6, reasons
    assert reasons[6].startswith("camera moved"), reasons
