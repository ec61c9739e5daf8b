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


def start(*args: str, kill_at: str | None = None, falling: bool = False) -> subprocess.Popen:
    env = {**os.environ, "KILL_AT": kill_at or "", "HF_HUB_OFFLINE": "1", "FALLING": "1" * falling}
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def launch(*args: str, **kill) -> subprocess.CompletedProcess:
    return finish(start(*args, **kill))


@pytest.mark.slow
def test_killed_three_times_and_resumed_equals_an_uninterrupted_run(tmp_path: Path):
    """Validation gets worse after epoch 1 (FALLING): the last checkpoint is all the same
    the last epoch finished, not the best one."""
    data = make_dataset(tmp_path / "data", n=8)
    common = ["-c", "3", "-e", "3", "-bs", "2", "-lr", "3e-3", "--no-test", "--seed", "7", *FAST_TRAIN[:-4],
              "--workers", "1", "--precision", "32"]  # fmt: skip
    # the uninterrupted run, beside the first interrupted one
    straight = start("train", "-n", "s", "-d", str(data), "-o", str(tmp_path / "a"), *common,
                     falling=True)  # fmt: skip
    try:
        run = tmp_path / "b" / "k"
        last = run / "checkpoints" / "last.ckpt"
        first = launch("train", "-n", "k", "-d", str(data), "-o", str(tmp_path / "b"), *common,
                       kill_at="train:2:2", falling=True)  # fmt: skip
        assert first.returncode == -signal.SIGKILL
        assert epoch_of(last) == 1  # epoch 1 finished and saved

        second = launch("train", "-r", "-m", str(last), kill_at="valid:3:1", falling=True)
        assert second.returncode == -signal.SIGKILL
        assert epoch_of(last) == 2  # epoch 2 was worse than epoch 1, and is kept all the same

        third = launch("train", "-r", "-m", str(last), kill_at="save:3", falling=True)
        assert third.returncode == -signal.SIGKILL
        assert list(run.glob("**/.*.tmp"))  # the half-written file stayed a temporary
        assert epoch_of(last) == 2  # the good one is intact

        final = launch("train", "-r", "-m", str(last), falling=True)
        assert final.returncode == 0, final.stderr
        assert not list(run.glob("**/.*.tmp"))

        reference = finish(straight)
    finally:
        straight.kill()  # a failed assertion above leaves no training behind
    assert reference.returncode == 0, reference.stderr
    checkpoints = tmp_path / "a" / "s" / "checkpoints"
    assert epoch_of(checkpoints / "best.ckpt") == 1 and epoch_of(checkpoints / "last.ckpt") == 3
    assert epoch_of(run / "checkpoints" / "best.ckpt") == 1
    expected = read_history_csv(tmp_path / "a" / "s" / "Train_s.csv")
    resumed = read_history_csv(run / "Train_k.csv")
    assert list(resumed.index) == [1, 2, 3]
    np.testing.assert_allclose(resumed.to_numpy(), expected.to_numpy(), atol=1e-6)
    weights = torch.load(last, weights_only=True)["state_dict"]
    reference_weights = torch.load(checkpoints / "last.ckpt", weights_only=True)["state_dict"]
    for key, value in reference_weights.items():
        torch.testing.assert_close(weights[key], value, atol=1e-6, rtol=0)


def epoch_of(checkpoint: Path) -> int:
    """Epochs finished in a checkpoint, counted from 1."""
    return torch.load(checkpoint, weights_only=True, map_location="cpu")["epoch"] + 1


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
