import cv2
import numpy as np
import pytest
import torch

from vitiseg.data.dataset import rescale
from vitiseg.engine.network import ModelInfo, ModelSpec, build_model
from vitiseg.engine.tiling import (
    Predictor,
    class_argmax,
    gaussian_weights,
    upsample_rows,
    upsampled_classes,
    window_starts,
)


@pytest.fixture(scope="module")
def model_and_info():
    torch.manual_seed(0)
    spec = ModelSpec(encoder="resnet18", classes=3)
    return build_model(spec).eval(), ModelInfo(spec, ["a", "b", "c"])


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = rng.random((height // 16 + 1, width // 16 + 1, 3)).repeat(16, 0).repeat(16, 1)
    return (smooth[:height, :width] * 255).astype(np.uint8)


@pytest.mark.parametrize(("length", "tile"), [(100, 256), (1000, 256), (2500, 1024), (257, 256)])
def test_windows_cover_the_length_with_the_overlap(length, tile):
    starts = window_starts(length, tile, 0.25)
    assert starts[0] == 0 and (length <= tile or starts[-1] + tile == length)
    assert all(b - a <= 0.75 * tile for a, b in zip(starts, starts[1:], strict=False))


def test_streamed_bands_equal_a_naive_whole_accumulation(model_and_info):
    model, info = model_and_info
    image = photo(200, 330)
    predictor = Predictor(model, info, device="cpu", tile=128, overlap=0.5, batch_size=3)
    streamed = torch.cat([logits for _, logits in predictor.predict_logits_rows(image)], 1)
    # naive: every window's weighted logits summed into one full-size buffer
    # (windows lie inside the photo: it is larger than a tile both ways)
    ys, xs = window_starts(200, 128, 0.5), window_starts(330, 128, 0.5)
    padded = torch.from_numpy(image).permute(2, 0, 1)
    total, weight = torch.zeros(3, 200, 330), torch.zeros(200, 330)
    w = gaussian_weights(128, 128)
    for y in ys:
        for x in xs:
            logits = predictor._logits(padded[None, :, y : y + 128, x : x + 128])[0]
            total[:, y : y + 128, x : x + 128] += logits * w
            weight[y : y + 128, x : x + 128] += w
    torch.testing.assert_close(streamed, total / weight, atol=1e-4, rtol=1e-4)


def test_tiled_prediction_matches_the_whole_image(model_and_info):
    model, info = model_and_info
    image = photo(256, 384, seed=2)
    whole = Predictor(model, info, device="cpu", tile=512).predict(image).mask
    tiled = Predictor(model, info, device="cpu", tile=192, overlap=0.5).predict(image).mask
    assert whole.shape == tiled.shape == (256, 384)
    assert (whole == tiled).mean() > 0.95


def test_scaled_model_returns_masks_at_the_photos_size(model_and_info):
    model, info = model_and_info
    half = ModelInfo(info.spec, info.class_names, scale=0.5)
    prediction = Predictor(model, half, device="cpu").predict(photo(150, 203), probability_of=1)
    assert prediction.mask.shape == (150, 203)
    assert prediction.probability.shape == (150, 203) and prediction.probability.dtype == np.uint8


@pytest.mark.parametrize(
    ("source", "target", "cuts"),
    [((40, 30), (101, 77), [7, 8, 25]), ((40, 30), (17, 12), [13]), ((9, 5), (30, 20), [])],
)
def test_streamed_upsampling_equals_resizing_the_whole_map(source, target, cuts):
    logits = torch.randn(3, *source)
    edges = [0, *cuts, source[0]]
    bands = ((a, logits[:, a:b]) for a, b in zip(edges, edges[1:], strict=False))
    streamed = list(upsample_rows(bands, source, target))
    tops = [top for top, _ in streamed]
    assert tops == sorted(set(tops)) and tops[0] == 0
    whole = torch.nn.functional.interpolate(logits[None], target, mode="bilinear")[0]
    torch.testing.assert_close(torch.cat([b for _, b in streamed], 1), whole, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    ("source", "target", "cuts"),
    [((40, 30), (101, 77), [7, 8, 25]), ((40, 30), (17, 12), [13]), ((9, 5), (30, 20), []),
     ((432, 768), (1080, 1920), [200])],
)  # fmt: skip
def test_classes_resized_along_edges_only_equal_the_argmax_of_resized_logits(source, target, cuts):
    """Smooth logits with real class regions (and noise ones): only pixels whose source
    pixels disagree are interpolated, and every pixel gets the whole map's class but for
    rounding where two classes' logits are within 1e-3."""
    for seed in range(3):
        generator = torch.Generator().manual_seed(seed)
        coarse = torch.randn(5, 4, 6, generator=generator)
        smooth = torch.nn.functional.interpolate(coarse[None], source, mode="bilinear")[0]
        for logits in (smooth, torch.randn(5, *source, generator=generator)):
            edges = [0, *cuts, source[0]]
            bands = ((a, logits[:, a:b]) for a, b in zip(edges, edges[1:], strict=False))
            classes = torch.cat([c for _, c in upsampled_classes(bands, source, target)]).long()
            whole = torch.nn.functional.interpolate(logits[None], target, mode="bilinear")[0]
            differ = classes != whole.argmax(0)
            best, second = whole.topk(2, 0).values
            assert ((best - second)[differ] < 1e-3).all()  # only rounding in near-ties
            assert differ.float().mean() < 1e-4


def test_class_argmax_equals_argmax_with_ties_to_the_first_class():
    logits = torch.randn(5, 30, 40).round(decimals=1)  # many ties
    assert torch.equal(class_argmax(logits), logits.argmax(0))


def test_scaled_prediction_resizes_logits_not_classes(model_and_info):
    model, info = model_and_info
    image = photo(150, 203)
    quarter = Predictor(model, ModelInfo(info.spec, info.class_names, scale=0.25), device="cpu")
    small, _ = rescale(image, None, 0.25)
    logits = torch.cat([band for _, band in quarter.predict_logits_rows(small)], 1)
    resized = torch.nn.functional.interpolate(logits[None], (150, 203), mode="bilinear")[0]
    nearest = cv2.resize(
        logits.argmax(0).byte().numpy(), (203, 150), interpolation=cv2.INTER_NEAREST
    )
    mask = quarter.predict(image).mask
    assert (mask == resized.argmax(0).numpy()).mean() > 0.999
    assert (mask != nearest).any()  # class edges fall between the coarse pixels
