"""`vitiseg train --unlabeled`: pseudo-labels made during training from photos nobody
labelled, mixed into the training crops, resumable (two processes: tests/cli/test_ddp.py)."""

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import (
    FAST_ENCODER,
    FAST_TRAIN,
    assert_same_outcome,
    make_dataset,
    run_outcome,
    tree_snapshot,
)
from PIL import Image

import vitiseg
from vitiseg.cli import main
from vitiseg.config import InferenceOptions
from vitiseg.data.dataset import rescale
from vitiseg.data.imageio import decode_image
from vitiseg.data.masks import IGNORE_INDEX
from vitiseg.data.sampler import EpochSampler
from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model, load_model
from vitiseg.engine.tiling import Predictor
from vitiseg.training.pseudo import pseudo_label

UNLABELED_SIZE = (128, 80)  # other than the labelled photos' 96 x 64


def unlabeled_folder(root: Path, n: int = 5, corrupt: bool = True) -> Path:
    """Generated photos without masks, of another size, in a sub-folder too, and a
    file that is no photo."""
    folder = make_dataset(root, n=n, size=UNLABELED_SIZE, seed=3)
    for mask in folder.glob("*_bin.png"):
        mask.unlink()
    (folder / "camera2").mkdir()
    (folder / "img00.jpg").rename(folder / "camera2" / "img00.jpg")
    if corrupt:
        (folder / "broken.jpg").write_bytes(b"the first bytes of a photo")
    return folder


def train(*args: str) -> int:
    return main(["train", *FAST_TRAIN, "--class-weights", "none", "-c", "3", "-bs", "2", *args])


def rounds_in(checkpoint: Path) -> int:
    callbacks = torch.load(checkpoint, weights_only=True)["callbacks"]
    return next(v for k, v in callbacks.items() if k.startswith("PseudoLabels"))["rounds"]


@pytest.mark.slow
def test_unlabelled_photos_are_labelled_by_the_model_and_trained_on(tmp_path: Path, capsys):
    data, out = make_dataset(tmp_path / "data", n=10), tmp_path / "out"
    photos = unlabeled_folder(tmp_path / "unlabeled")
    assert train("-n", "u", "-d", str(data), "-o", str(out), "-e", "4", "-s", "3", "--no-test",
                 "--ema", "0.8", "--unlabeled", str(photos), "--pseudo-threshold", "0.4") == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert f"{photos / 'broken.jpg'} cannot be read and is left out" in printed
    assert "Unlabelled   : 5 photos" in printed
    # 4 epochs: after epoch 2 the run has passed 50 % of its schedule, after epoch 3 70 %
    # (and 85 %); after epoch 4 no step is left to learn from labels
    assert printed.count("Pseudo-labels after") == 2
    labels = out / "u" / "pseudo-labels"
    assert sorted(p.name for p in labels.iterdir()) == ["photos.csv", "round-1", "round-2"]
    assert len((labels / "photos.csv").read_text().splitlines()) == 1 + 5
    for number in (1, 2):
        files = sorted(p.relative_to(labels / f"round-{number}").as_posix()
                       for p in labels.rglob(f"round-{number}/**/*.png"))  # fmt: skip
        assert files == ["camera2/img00.png", "img01.png", "img02.png", "img03.png", "img04.png"]
    mask = np.asarray(Image.open(labels / "round-2" / "img01.png"))
    assert mask.shape == UNLABELED_SIZE[::-1]  # the photo's own size
    assert set(np.unique(mask)) <= {0, 1, 2, IGNORE_INDEX}
    assert 0.5 <= (mask != IGNORE_INDEX).mean() < 1  # each class's surer half, at least
    assert rounds_in(out / "u" / "checkpoints" / "last.ckpt") == 2
    # the teacher was the moving average validated at epoch 3, not the raw weights
    state = torch.load(out / "u" / "checkpoints" / "u_3.ckpt", weights_only=True)
    spec = ModelSpec("Unet", FAST_ENCODER, 3, decoder_channels=(16, 16, 16, 16, 16))  # FAST_TRAIN's
    photo = decode_image(photos / "img01.jpg")[0]
    for weights, teacher in ((state["state_dict"], True), (state["current_model_state"], False)):
        net = build_model(spec)
        net.load_state_dict({k[6:]: v for k, v in weights.items() if k.startswith("model.")})
        predictor = Predictor(net, ModelInfo(spec, ["a", "b", "c"]), device="cpu")
        assert np.array_equal(pseudo_label(predictor, photo, 0.4), mask) == teacher


@pytest.mark.slow
def test_a_resumed_run_trains_on_the_labels_it_had_and_ends_the_same(tmp_path: Path):
    data, out = make_dataset(tmp_path / "data", n=10), tmp_path / "out"
    photos = unlabeled_folder(tmp_path / "unlabeled", corrupt=False)
    # a loader process (--workers 1) draws its epoch ahead, before the callbacks run
    args = ["-n", "r", "-d", str(data), "-o", str(out), "-e", "5", "-s", "3", "-lr", "3e-3",
            "--no-test", "--unlabeled", str(photos), "--pseudo-threshold", "0.4",
            "--workers", "1"]  # fmt: skip
    assert train(*args) == 0
    run = out / "r"
    straight = run_outcome(run)
    # from epoch 3's checkpoint, while round 2's files (made later) are already there, and
    # with a photo added to the folder since: the run takes the photos it took
    assert rounds_in(run / "checkpoints" / "r_3.ckpt") == 1
    shutil.copy(photos / "img01.jpg", photos / "img00-added.jpg")
    assert main(["train", "-r", "-m", str(run / "checkpoints" / "r_3.ckpt")]) == 0
    assert_same_outcome(run_outcome(run), straight)


@pytest.mark.parametrize(
    "content, message",
    [
        ("empty", "no photos"),
        ("labelled only", "no photos besides the labelled ones"),
        ("unreadable", "none of its 2 photos can be read"),
    ],
)
def test_unusable_unlabelled_folders_exit_2_before_writing(
    tmp_path: Path, capsys, content: str, message: str
):
    data = make_dataset(tmp_path / "data", n=10)
    folder = {"empty": tmp_path / "empty", "labelled only": data, "unreadable": tmp_path / "bad"}[
        content
    ]
    folder.mkdir(exist_ok=True)
    if content == "unreadable":
        for name in ("a.jpg", "b.png"):
            (folder / name).write_bytes(b"not a photo")
    before = tree_snapshot(tmp_path)
    code = train(
        "-n", "x", "-d", str(data), "-o", str(tmp_path / "out"), "--unlabeled", str(folder)
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert tree_snapshot(tmp_path) == before  # no run folder started


def test_mixed_draws_take_the_asked_share_from_the_latest_round():
    sampler = EpochSampler(length=10, seed=3, shuffle=True, repeats=40)
    plain = list(sampler)
    assert all(index < 10 for index, _ in plain)
    sampler.mix_in(first=5, count=5, share=0.3)  # round 2 of photos 0-4: indices 15-19
    mixed = list(sampler)
    taken = [index for index, _ in mixed if index >= 10]
    assert 0.25 < len(taken) / len(mixed) < 0.35
    assert set(taken) == {15, 16, 17, 18, 19}
    assert [s for _, s in mixed] == [s for _, s in plain]  # the same crops' seeds
    assert mixed == list(sampler)  # reproducible


def test_a_pseudo_label_keeps_sure_pixels_and_the_surer_half_of_each_class(model_dir: Path):
    model, info = load_model(model_dir)
    info = dataclasses.replace(info, scale=0.5)  # labelled at half size, given the photo's
    predictor = Predictor(model, info, device="cpu")
    photo = np.random.default_rng(0).integers(0, 255, (80, 128, 3), dtype=np.uint8)
    half, _ = rescale(photo, None, 0.5)
    logits = torch.cat([band for _, band in predictor.predict_logits_rows(half)], 1)
    confidence, classes = (t.numpy() for t in logits.softmax(0).max(0))
    everything = pseudo_label(predictor, photo, threshold=1e-6)
    assert everything.shape == (80, 128)
    np.testing.assert_array_equal(everything[::2, ::2], classes)
    # no pixel is sure enough: each class keeps the more confident half of its pixels
    halves = pseudo_label(predictor, photo, threshold=0.999)[::2, ::2]
    counts = np.bincount(classes.ravel())
    assert counts.max() >= 20
    for c in np.flatnonzero(counts >= 20):
        of_class = classes == c
        kept = halves[of_class] != IGNORE_INDEX
        assert (halves[of_class][kept] == c).all()
        assert 0.5 <= kept.mean() <= 0.5 + 1.5 / counts[c]
        assert confidence[of_class][kept].min() >= confidence[of_class][~kept].max()
    # a middle threshold adds the pixels above it, whatever their class
    threshold = float(np.quantile(confidence, 0.8))
    mixed = pseudo_label(predictor, photo, threshold)[::2, ::2]
    assert ((mixed != IGNORE_INDEX) == ((confidence >= threshold) | (halves != IGNORE_INDEX))).all()


@pytest.mark.slow
def test_a_teacher_labels_the_photos_once_before_training(tmp_path: Path, model_dir: Path, capsys):
    data, out = make_dataset(tmp_path / "data", n=10), tmp_path / "out"
    photos = unlabeled_folder(tmp_path / "unlabeled", corrupt=False)
    teacher = tmp_path / "teacher"
    shutil.copytree(model_dir, teacher)
    args = ["--accelerator", "cpu", "-d", str(data), "-o", str(out), "-e", "3", "-s", "1", "--no-test",
            "--unlabeled", str(photos), "--pseudo-threshold", "0.4"]  # fmt: skip
    assert train("-n", "t", *args, "--teacher", str(teacher)) == 0
    printed = capsys.readouterr().out
    assert printed.count("Pseudo-labels by the teacher: 5 unlabelled photos") == 1
    assert "Pseudo-labels after" not in printed  # no rounds of its own
    labels = out / "t" / "pseudo-labels"
    assert sorted(p.name for p in labels.iterdir()) == ["photos.csv", "teacher"]
    # the teacher labels on the run's device at the run's precision (FAST_TRAIN: 32)
    predictor = vitiseg.load(
        teacher, inference=InferenceOptions(device="cpu", batch_size=1, precision="32")
    ).predictor
    for key in ("img01", "camera2/img00"):
        expected = pseudo_label(predictor, decode_image(photos / f"{key}.jpg")[0], 0.4)
        np.testing.assert_array_equal(
            np.asarray(Image.open(labels / "teacher" / f"{key}.png")), expected
        )
    assert rounds_in(out / "t" / "checkpoints" / "last.ckpt") == 1
    # mixed in from the first epoch: its training crops are not those of a run without
    assert train("-n", "plain", *args[:-4]) == 0
    first_epoch = [
        run_outcome(out / n)[0].xs("Train", axis=1, level=2).iloc[0] for n in ("t", "plain")
    ]
    assert not np.allclose(*first_epoch, atol=1e-4)
    # resumed from epoch 1, the teacher gone: the labels on disk are enough, same outcome
    straight = run_outcome(out / "t")
    shutil.rmtree(teacher)
    assert main(["train", "-r", "-m", str(out / "t" / "checkpoints" / "t_1.ckpt")]) == 0
    assert_same_outcome(run_outcome(out / "t"), straight)


def test_a_teacher_of_other_classes_or_without_photos_exits_2(tmp_path: Path, capsys):
    data = make_dataset(tmp_path / "data", n=10)
    photos = unlabeled_folder(tmp_path / "unlabeled", corrupt=False)
    spec = ModelSpec(encoder="resnet18", classes=2, decoder_channels=(16, 16, 16, 16, 16))
    export_model(build_model(spec), ModelInfo(spec, ["rest", "leaf"]), tmp_path / "two")
    out = str(tmp_path / "out")
    (tmp_path / "out" / "x").mkdir(parents=True)
    (tmp_path / "out" / "x" / "history.json").write_text("[]")  # an earlier run, to keep
    (tmp_path / "two.onnx").write_bytes(b"an exported network")
    before = tree_snapshot(tmp_path)
    assert train("-n", "x", "-d", str(data), "-o", out, "--unlabeled", str(photos),
                 "--teacher", str(tmp_path / "two"), "--overwrite") == 2  # fmt: skip
    assert (
        "its 2 classes (rest, leaf) are not this run's 3 (Class 0, Class 1, Class 2)"
        in capsys.readouterr().err
    )
    assert train("-n", "x", "-d", str(data), "-o", out, "--unlabeled", str(photos),
                 "--teacher", str(tmp_path / "two.onnx"), "--overwrite") == 2  # fmt: skip
    assert "give the run or model folder, not its .onnx file" in capsys.readouterr().err
    assert train("-n", "x", "-d", str(data), "-o", out, "--teacher", str(tmp_path / "two")) == 2
    assert "give --unlabeled DIR too" in capsys.readouterr().err
    assert tree_snapshot(tmp_path) == before
