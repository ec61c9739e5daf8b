"""The page's regions: an over-segmentation whose pieces follow thin classes."""

from __future__ import annotations

import numpy as np
import pytest

from vitiseg.label.regions import REGION_PIXELS, over_segment, region_bytes


def stripe_photo(height: int, width: int, stripe: int, seed: int = 0):
    """Textured grass with a dark vertical stripe ``stripe`` pixels wide (a trunk)."""
    rng = np.random.default_rng(seed)
    photo = rng.normal((120, 150, 80), 18, (height, width, 3))
    truth = np.zeros((height, width), np.uint8)
    left = width // 2
    truth[:, left : left + stripe] = 1
    photo[truth == 1] = rng.normal((60, 40, 30), 8, (int(truth.sum()), 3))
    return np.clip(photo, 0, 255).astype(np.uint8), truth


def majority_iou(regions: np.ndarray, truth: np.ndarray) -> float:
    """IoU of class 1 when each region takes its majority class: how well regions follow it."""
    count = int(regions.max()) + 1
    ones = np.bincount(regions.ravel(), weights=truth.ravel(), minlength=count)
    sizes = np.bincount(regions.ravel(), minlength=count)
    labelled = (ones * 2 > sizes)[regions]
    return (labelled & (truth == 1)).sum() / (labelled | (truth == 1)).sum()


def test_regions_are_numbered_without_gaps_at_the_photos_size():
    photo, _ = stripe_photo(120, 200, 8)
    regions = over_segment(photo)
    assert regions.shape == (120, 200) and regions.dtype == np.int32
    assert np.array_equal(np.unique(regions), np.arange(regions.max() + 1))
    assert 0.5 < regions.size / (regions.max() + 1) / REGION_PIXELS < 3  # SLIC merges some


def test_regions_follow_a_trunk_ten_pixels_wide_on_a_full_hd_photo():
    photo, truth = stripe_photo(1080, 1920, 10)
    regions = over_segment(photo)
    assert majority_iou(regions, truth) > 0.8
    assert regions.max() + 1 > 5000  # small regions: about 200 pixels each


def test_bytes_take_two_bytes_a_pixel_below_65536_regions():
    data, size = region_bytes(np.array([[0, 65535]], np.int32))
    assert size == 2 and np.array_equal(np.frombuffer(data, "<u2"), [0, 65535])
    data, size = region_bytes(np.array([[0, 65536]], np.int32))
    assert size == 4 and np.array_equal(np.frombuffer(data, "<u4"), [0, 65536])


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)])
def test_a_photo_that_is_not_rgb_uint8_is_refused(bad):
    with pytest.raises(ValueError, match=r"must be an \(H, W, 3\) uint8 array"):
        over_segment(bad)
