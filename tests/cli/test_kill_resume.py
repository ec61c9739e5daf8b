"""A real training process killed with SIGKILL at three moments, resumed each time, ends
exactly like an uninterrupted run; Ctrl-C stops it with a resume hint."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FAST_TRAIN, ROOT, make_dataset

from vitiseg.report.history import read_history_csv

# Runs the CLI in a fresh process that SIGKILLs itself at the moment KILL_AT names:
# "train:E:S" (epoch E, training step S), "valid:E:S" (validation batch S), "save:E" (half-way
# through writing the first checkpoint of epoch E). With FALLING=1 the monitored val_mIoU is
# logged as 1/epoch, so every epoch after the first is worse than the best.
LAUNCHER = """
import os, signal, sys
from pathlib import Path
import torch
where, *at = (os.environ.get("KILL_AT") or "none").split(":")
at = [int(v) for v in at]
def die():
    os.kill(os.getpid(), signal.SIGKILL)
from vitiseg.training.module import SegmentationModule
for hook, stage in (("training_step", "train"), ("validation_step", "valid")):
    real = getattr(SegmentationModule, hook)
    def wrapped(self, batch, index, real=real, stage=stage):
        if where == stage and [self.current_epoch + 1, index + 1] == at:
            die()
        return real(self, batch, index)
    setattr(SegmentationModule, hook, wrapped)
if os.environ.get("FALLING"):
    real_log = SegmentationModule.log
    def log(self, name, value, *args, **kwargs):
        value = 1.0 / (self.current_epoch + 1) if name == "val_mIoU" else value
        return real_log(self, name, value, *args, **kwargs)
    SegmentationModule.log = log
real_save = torch.save
def save(obj, path, *args, **kwargs):
    if where == "save" and isinstance(obj, dict) and obj.get("epoch", -1) + 1 == at[0]:
        Path(path).write_bytes(b"the first half of a checkpoint")
        die()
    return real_save(obj, path, *args, **kwargs)
torch.save = save
from vitiseg.cli import main
sys.exit(main(sys.argv[1:]))
"""


def launch(
    *args: str, kill_at: str | None = None, falling: bool = False
) -> subprocess.CompletedProcess:
    env = {**os.environ, "KILL_AT": kill_at or "", "HF_HUB_OFFLINE": "1", "FALLING": "1" * falling}
    return subprocess.run(
        [sys.executable, "-c", LAUNCHER, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )


@pytest.mark.slow
def test_killed_three_times_and_resumed_equals_an_uninterrupted_run(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=12)
    common = ["-c", "3", "-e", "4", "-bs", "2", "-lr", "3e-3", "--no-test", "--seed", "7", *FAST_TRAIN[:-4],
              "--workers", "1", "--precision", "32"]  # fmt: skip
    straight = launch("train", "-n", "s", "-d", str(data), "-o", str(tmp_path / "a"), *common)
    assert straight.returncode == 0, straight.stderr

    run = tmp_path / "b" / "k"
    last = run / "checkpoints" / "last.ckpt"
    first = launch(
        "train", "-n", "k", "-d", str(data), "-o", str(tmp_path / "b"), *common, kill_at="train:2:2"
    )
    assert first.returncode == -signal.SIGKILL
    assert torch.load(last, weights_only=True)["epoch"] == 0  # epoch 1 finished and saved

    second = launch("train", "-r", "-m", str(last), kill_at="valid:3:1")
    assert second.returncode == -signal.SIGKILL
    assert torch.load(last, weights_only=True)["epoch"] == 1

    third = launch("train", "-r", "-m", str(last), kill_at="save:3")
    assert third.returncode == -signal.SIGKILL
    assert list(run.glob("**/.*.tmp"))  # the half-written file stayed a temporary
    assert torch.load(last, weights_only=True)["epoch"] == 1  # the good one is intact

    final = launch("train", "-r", "-m", str(last))
    assert final.returncode == 0, final.stderr
    assert not list(run.glob("**/.*.tmp"))

    expected = read_history_csv(tmp_path / "a" / "s" / "Train_s.csv")
    resumed = read_history_csv(run / "Train_k.csv")
    assert list(resumed.index) == [1, 2, 3, 4]
    np.testing.assert_allclose(resumed.to_numpy(), expected.to_numpy(), atol=1e-6)
    weights = torch.load(last, weights_only=True)["state_dict"]
    reference = torch.load(tmp_path / "a" / "s" / "checkpoints" / "last.ckpt", weights_only=True)[
        "state_dict"
    ]
    for key, value in reference.items():
        torch.testing.assert_close(weights[key], value, atol=1e-6, rtol=0)


def epoch_of(checkpoint: Path) -> int:
    """Epochs finished in a checkpoint, counted from 1."""
    return torch.load(checkpoint, weights_only=True, map_location="cpu")["epoch"] + 1


@pytest.mark.slow
def test_last_checkpoint_is_the_last_epoch_when_validation_gets_worse(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=8)
    common = ["-c", "3", "-e", "3", "-bs", "4", "--no-test", *FAST_TRAIN]
    straight = launch("train", "-n", "s", "-d", str(data), "-o", str(tmp_path / "a"), *common,
                      falling=True)  # fmt: skip
    assert straight.returncode == 0, straight.stderr
    reference = tmp_path / "a" / "s" / "checkpoints"
    assert epoch_of(reference / "best.ckpt") == 1
    assert epoch_of(reference / "last.ckpt") == 3

    run = tmp_path / "b" / "k"
    last = run / "checkpoints" / "last.ckpt"
    killed = launch("train", "-n", "k", "-d", str(data), "-o", str(tmp_path / "b"), *common,
                    kill_at="train:3:1", falling=True)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    assert epoch_of(last) == 2  # epoch 2 was worse than epoch 1, and is kept all the same
    resumed = launch("train", "-r", "-m", str(last), falling=True)
    assert resumed.returncode == 0, resumed.stderr
    expected = read_history_csv(tmp_path / "a" / "s" / "Train_s.csv")
    history = read_history_csv(run / "Train_k.csv")
    assert list(history.index) == [1, 2, 3]
    np.testing.assert_allclose(history.to_numpy(), expected.to_numpy(), atol=1e-6)
    weights = torch.load(last, weights_only=True)["state_dict"]
    for key, value in torch.load(reference / "last.ckpt", weights_only=True)["state_dict"].items():
        torch.testing.assert_close(weights[key], value, atol=1e-6, rtol=0)


@pytest.mark.slow
def test_ctrl_c_stops_and_says_how_to_resume(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=12)
    process = subprocess.Popen(
        [sys.executable, "-m", "vitiseg.cli", "train", "-n", "c", "-d", str(data), "-o", str(tmp_path / "o"),
         "-c", "3", "-e", "200", "-bs", "2", "--no-test", *FAST_TRAIN],  # fmt: skip
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # a shell's background job ignores SIGINT, and children inherit that: undo it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "Epoch: 002/200" in line:
            process.send_signal(signal.SIGINT)
            break
    try:
        rest, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("Ctrl-C did not stop the run:\n" + "".join(seen)[-2000:]) from None
    output = "".join(seen) + rest
    assert "resume with:" in output and "-r -m" in output, output[-2000:]
    saved = (
        torch.load(tmp_path / "o" / "c" / "checkpoints" / "last.ckpt", weights_only=True)["epoch"]
        + 1
    )
    assert saved >= 1 and f"holds the {saved} finished epoch(s)" in output
