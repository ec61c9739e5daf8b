"""The quality recipe's levers: crops per photo, scale-jitter augmentation, time-fitted schedule."""

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import FAST_TRAIN, make_dataset, run_here
from lightning.pytorch.callbacks import Timer
from PIL import Image

from vitiseg.cli import build_parser, main
from vitiseg.cli.train import config_from_args
from vitiseg.config import TrainConfig
from vitiseg.data.prepare import prepare
from vitiseg.data.sampler import EpochSampler
from vitiseg.data.transforms import train_transform
from vitiseg.run import Run
from vitiseg.training import schedule as schedule_module
from vitiseg.training.schedule import FitScheduleToTime, OneCycleSchedule


def test_each_photo_is_drawn_k_times_per_epoch_with_its_own_crops():
    sampler = EpochSampler(5, seed=3, shuffle=True, repeats=4)
    sampler.set_epoch(2)
    draws = list(sampler)
    assert len(draws) == len(sampler) == 20
    assert Counter(index for index, _ in draws) == {i: 4 for i in range(5)}
    assert len({seed for _, seed in draws}) == 20  # 4 different crops of each photo
    assert draws == list(sampler)  # reproducible for a resume


def test_one_draw_per_photo_keeps_the_seeds_sampling():
    plain, repeated = EpochSampler(7, 1, True), EpochSampler(7, 1, True, repeats=1)
    assert list(plain) == list(repeated) and len(plain) == 7


def striped(width: int = 960, height: int = 540, stripe: int = 24):
    """A photo and mask of vertical stripes ``stripe`` pixels wide, classes 0..4 in turn."""
    mask = np.tile((np.arange(width) // stripe % 5).astype(np.uint8), (height, 1))
    photo = np.repeat(mask[..., None] * 50, 3, axis=2).astype(np.uint8)
    return photo, mask


def stripe_widths(mask: np.ndarray) -> float:
    row = mask[mask.shape[0] // 2]
    changes = np.flatnonzero(np.diff(row.astype(int)) != 0)
    return float(np.median(np.diff(changes)))


def widths_after(augment: str) -> list[float]:
    photo, mask = striped()
    transform = train_transform(256, augment)
    widths = []
    for seed in range(12):
        transform.set_random_seed(seed)
        out = transform(image=photo, mask=mask)
        assert out["image"].shape == (256, 256, 3) and out["mask"].shape == (256, 256)
        assert set(np.unique(out["mask"])) <= {0, 1, 2, 3, 4}  # nearest: no blended labels
        widths.append(stripe_widths(out["mask"]))
    return widths


def test_standard_augmentation_jitters_the_scale_and_keeps_masks_valid():
    widths = widths_after("standard")
    assert min(widths) <= 24 * 0.85 and max(widths) >= 24 * 1.15  # zoomed out and in
    assert all(abs(w - 24) <= 2 for w in widths_after("seed"))  # the seed never rescales


def test_replanned_schedule_anneals_at_the_new_end():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([weight], lr=1e-2)
    schedule = OneCycleSchedule(optimizer, max_lr=1e-2, total_steps=100)
    for _ in range(10):
        optimizer.step()
        schedule.step()
    high = optimizer.param_groups[0]["lr"]
    schedule.replan(20)
    for _ in range(9):
        optimizer.step()
        schedule.step()
    assert optimizer.param_groups[0]["lr"] < high / 1000  # annealed by step 20, not 100
    with pytest.raises(ValueError):
        schedule.replan(15)  # 19 steps already made


def test_schedule_follows_pytorchs_one_cycle_rates_and_momentum():
    def run(make):
        weight = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.AdamW([weight], lr=1e-2)
        schedule, seen = make(optimizer), []
        for _ in range(40):
            seen.append((optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["betas"][0]))
            optimizer.step()
            schedule.step()
        return seen

    ours = run(lambda o: OneCycleSchedule(o, max_lr=1e-2, total_steps=40, warmup=0.25))
    torchs = run(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 1e-2, 40, pct_start=0.25))
    np.testing.assert_allclose(ours, torchs, rtol=1e-9)


class Budget(Timer):
    """A --max-time timer of ``total`` seconds read off a fake clock."""

    def __init__(self, clock: list[float], total: float):
        super().__init__(duration=timedelta(seconds=total))
        self.clock, self.total = clock, total

    def time_remaining(self, stage=None) -> float:
        return self.total - self.clock[0]


class FakeTrainer:
    """The few trainer attributes FitScheduleToTime reads and sets."""

    def __init__(self, budget: Budget, schedule: OneCycleSchedule, epochs: int):
        self.callbacks, self.is_global_zero, self.num_training_batches = [budget], True, 2
        self.fit_loop = SimpleNamespace(max_epochs=epochs)
        self.strategy = SimpleNamespace(broadcast=lambda value: value)
        self.lr_scheduler_configs = [SimpleNamespace(scheduler=schedule)]
        self.current_epoch = 0

    @property
    def max_epochs(self) -> int:
        return self.fit_loop.max_epochs


def test_time_plan_skips_the_warm_up_epoch_and_grows_up_to_the_epochs_asked(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(schedule_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-2)
    schedule = OneCycleSchedule(optimizer, max_lr=1e-2, total_steps=50 * 2)
    trainer, plan = FakeTrainer(Budget(clock, 100), schedule, epochs=50), FitScheduleToTime()
    plan.on_train_start(trainer, None)
    plans = []
    for epoch, seconds in enumerate([30, 2, 1, 1, 1, 1, 1]):  # a slow first (warm-up) epoch
        clock[0] += seconds
        trainer.current_epoch = epoch
        plan.on_train_epoch_end(trainer, None)
        plans.append(trainer.max_epochs)
    assert plans[0] == 50  # the warm-up epoch alone decides nothing (it would say 2 epochs)
    assert plans[1] == 2 + int((100 - 32 - 1) // 2)  # from the 2 s epoch: 35
    assert plans[-1] == 50  # faster epochs: the plan grows again, up to -e
    assert schedule.total_steps == 50 * 2


@pytest.mark.slow
def test_max_time_ends_the_run_with_the_rate_annealed(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=10)
    out = tmp_path / "out"
    args = ["-n", "t", "-d", str(data), "-o", str(out), "-c", "3", "-e", "1000", "-bs", "2"]
    result = run_here(
        "train", *FAST_TRAIN, *args, "--max-time", "0.2", "-lr", "1e-2", "--warmup", "0.1"
    )
    assert result.returncode == 0, result.stderr
    assert "epochs fit; learning-rate schedule re-planned" in result.stdout
    state = torch.load(out / "t" / "checkpoints" / "last.ckpt", weights_only=True)
    epochs = state["epoch"] + 1
    assert 3 <= epochs < 1000
    schedule = state["lr_schedulers"][0]
    assert schedule["total_steps"] < 1000 * 2  # re-planned from 1000 epochs of 2 steps
    assert schedule["warmup"] == 0.1  # --warmup, kept re-planned
    # the annealing at the new end is shown by test_replanned_schedule_anneals_at_the_new_end;
    # how close to that end a run gets depends on the machine's load (the timer may cut the
    # last epochs when they run slower than the ones the plan was made from)
    assert schedule["total_steps"] < (epochs + 30) * 2  # planned to end near where it did


def test_class_weights_follow_the_training_masks(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=10, classes=4)
    prepared = prepare(
        TrainConfig(name="w", directory=str(data), classes=4, crop_size=64, workers=0)
    )
    masks = [np.array(Image.open(pair.mask)) for pair in prepared.splits["train"]]
    counts = np.bincount(np.concatenate([m.ravel() for m in masks]), minlength=4)
    inverse = counts.sum() / (4 * counts)  # the seed's rule
    np.testing.assert_allclose(prepared.class_weights(4, "auto"), inverse, rtol=1e-9)
    np.testing.assert_allclose(prepared.class_weights(4, "sqrt"), np.sqrt(inverse), rtol=1e-9)
    rarest, commonest = counts.argmin(), counts.argmax()
    assert inverse[rarest] > inverse[commonest] > 0  # rarer classes weigh more


@pytest.mark.parametrize(
    ("bf16", "precision", "encoder", "scale"),
    [
        (True, [], "timm-tf_efficientnet_lite0", 0.4),
        (False, [], "timm-tf_efficientnet_lite0", 0.4),
        (True, ["--precision", "32"], "timm-tf_efficientnet_lite0", 0.4),
    ],
)
def test_the_cpu_recipe_is_the_same_in_either_precision_and_given_options_win(
    monkeypatch, tmp_path: Path, bf16, precision, encoder, scale
):
    monkeypatch.setattr("vitiseg.util.hardware.cpu_has_bf16", lambda: bf16)
    data = make_dataset(tmp_path / "hd", n=5, size=(1920, 1080))  # the measured photo size
    args = build_parser().parse_args(
        ["train", "-n", "x", "-d", str(data), "-c", "5", "--accelerator", "cpu", "--recipe", "cpu",
         "--crop-size", "256", *precision]
    )  # fmt: skip
    config, _ = config_from_args(args)
    assert (config.encoder, config.scale, config.crop_size) == (encoder, scale, 256)
    assert config.accelerator == "cpu" and config.decoder_channels == [128, 64, 32, 16, 16]
    assert (config.loss, config.ema, config.max_time, config.preload, config.classes) == (
        "ce+dice",
        0.99,
        "20",
        True,
        5,
    )


def test_the_recipe_moving_average_and_preloading_can_be_turned_off(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=5)
    args = build_parser().parse_args(
        [
            "train",
            "-n",
            "x",
            "-d",
            str(data),
            "-c",
            "5",
            "--recipe",
            "cpu",
            "--no-ema",
            "--no-pre-load",
        ]
    )
    config, _ = config_from_args(args)
    assert (config.ema, config.preload, config.loss) == (None, False, "ce+dice")


@pytest.mark.parametrize(
    ("size", "given", "scale", "crop"),
    [
        ((224, 224), [], 1.0, 224),  # a newcomer's small photos: kept 1:1, the crop fits them
        ((1920, 1080), [], 0.4, 416),  # the photos the recipe was measured on
        ((3840, 2160), [], 0.2, 416),  # 4K: the crop keeps its share of the width
        ((1080, 1920), [], 0.4, 416),  # full HD upright: the long side decides
        ((224, 224), ["--scale", "0.5"], 0.5, 96),  # a given option wins
    ],
)
def test_the_recipe_scale_and_crop_follow_the_photos(
    monkeypatch, tmp_path: Path, size, given, scale, crop
):
    """Issue #25.6: full-HD scale 0.3 once shrank 224 px photos to 67 px in 320 px crops."""
    monkeypatch.setattr("vitiseg.util.hardware.cpu_has_bf16", lambda: False)
    data = make_dataset(tmp_path / "data", n=5, size=size)
    args = build_parser().parse_args(
        ["train", "-n", "x", "-d", str(data), "-c", "3", "--recipe", "cpu", *given]
    )
    config, _ = config_from_args(args)
    assert (config.scale, config.crop_size) == (scale, crop)


def test_a_resumed_run_may_stop_preloading(tmp_path: Path):
    """A run preloaded (as ``--recipe cpu`` does) that no longer fits in memory resumes
    with ``--no-pre-load``; other recipe settings stay the run's."""
    TrainConfig(name="r", directory=".", classes=5, preload=True, ema=0.99).save(
        tmp_path / "config.yaml"
    )
    resumed = Run(tmp_path).resume_config({"preload": False, "ema": None})
    assert (resumed.preload, resumed.ema) == (False, 0.99)


def test_a_resumed_run_refuses_a_recipe(tmp_path: Path, capsys):
    assert main(["train", "-r", str(tmp_path), "--recipe", "cpu"]) == 2
    assert "--recipe starts a run; a resumed run keeps its settings" in capsys.readouterr().err


@pytest.mark.slow
def test_the_recipe_for_cpus_without_bf16_trains_end_to_end(tmp_path: Path, monkeypatch):
    data = make_dataset(tmp_path / "data", n=8)
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")  # what cpu_has_bf16() reads
    result = run_here("train", "-n", "r", "-d", str(data), "-o", str(tmp_path / "out"), "-c", "3",
                      "--recipe", "cpu", "--crop-size", "64", "-e", "2", "--no-test")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    info = json.loads((tmp_path / "out" / "r" / "model.json").read_text())
    assert info["spec"]["encoder"] == "timm-tf_efficientnet_lite0"
    assert info["scale"] == 1.0  # 96x64 photos are never shrunk
    assert len(json.loads((tmp_path / "out" / "r" / "history.json").read_text())) == 2
