"""`vitiseg predict --devices N`: shares of the photo list in N processes, one merged table."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import AGROCAM, needs_shared_data, run_cli, run_here

from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model
from vitiseg.errors import ConfigError
from vitiseg.shard import Shard, check_devices, merge_tables

UNLABELED = AGROCAM.parent / "unlabeled"


def test_shares_cover_every_photo_once():
    items = [f"photo{i:02d}" for i in range(11)][::-1]
    shares = [Shard(rank, 3).take(items, key=str) for rank in range(3)]
    assert sorted(sum(shares, [])) == sorted(items)
    assert [len(s) for s in shares] == [4, 4, 3]


def test_more_devices_than_present_is_refused():
    with pytest.raises(ConfigError, match="this machine has"):
        check_devices(10_000, "cpu")
    with pytest.raises(ConfigError, match="at least 1"):
        check_devices(0, "cpu")


def test_merge_keeps_one_row_per_photo_in_order(tmp_path: Path):
    (tmp_path / ".canopy.part-0-of-2.csv").write_text("file,leaf_cover\nc.jpg,0.3\na.jpg,0.1\n")
    (tmp_path / ".canopy.part-1-of-2.csv").write_text("file,leaf_cover\nb.jpg,0.2\n")
    (tmp_path / ".canopy.part-0-of-3.csv").write_text("file,leaf_cover\nold.jpg,0.9\n")
    merge_tables(tmp_path, 2)
    assert (tmp_path / "canopy.csv").read_text() == (
        "file,leaf_cover\na.jpg,0.1\nb.jpg,0.2\nc.jpg,0.3\n"
    )
    assert not list(tmp_path.glob(".canopy.part-*"))


@needs_shared_data
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds processes in /proc (Linux)")
@pytest.mark.slow
def test_two_processes_killed_and_resumed_equal_one(tmp_path: Path):
    torch.manual_seed(0)
    spec = ModelSpec(encoder="resnet18", classes=3, decoder_channels=(32, 16, 16, 16, 16))
    model = tmp_path / "model"
    export_model(
        build_model(spec), ModelInfo(spec, ["background", "leaf", "wood"], scale=0.2), model
    )
    photos = tmp_path / "photos"  # 12 of the field photos: 6 a process
    photos.mkdir()
    for photo in sorted(UNLABELED.glob("*.jpg"))[:12]:
        (photos / photo.name).symlink_to(photo)
    common = ["--model", str(model), str(photos), "--precision", "32", "--no-overlays"]
    one = run_here("predict", *common, "-o", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    table = (tmp_path / "one" / "canopy.csv").read_text()
    assert len(table.splitlines()) == 1 + 12
    masks = sorted(p.name for p in (tmp_path / "one" / "masks").iterdir())
    # one process killed part-way: the run stops; the same command finishes the work
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "vitiseg.cli", "predict", *common, "-o", str(killed),
               "--devices", "2"]  # fmt: skip
    launcher = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list((killed / "masks").glob("*.png"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = next(pid for pid in descendants(launcher.pid) if environ(pid).get("RANK") == "1")
    os.kill(victim, signal.SIGKILL)
    assert launcher.wait(timeout=120) != 0
    done = len(list((killed / "masks").glob("*.png")))
    assert 4 <= done < len(masks) and not (killed / "canopy.csv").exists()
    again = run_cli("predict", *common, "-o", str(killed), "--devices", "2", "--export", "coco")
    assert again.returncode == 0, again.stderr
    assert "already done" in again.stdout and "process 2 of 2" in again.stdout
    # two processes, one of them killed, then resumed: what one process wrote
    assert (killed / "canopy.csv").read_text() == table
    assert not list(killed.glob(".canopy.part-*"))
    assert sorted(p.name for p in (killed / "masks").iterdir()) == masks
    for name in masks:
        assert (killed / "masks" / name).read_bytes() == (
            tmp_path / "one" / "masks" / name
        ).read_bytes()
    # the first process alone writes what covers both processes' photos
    assert again.stdout.count("Report:") == again.stdout.count("pre-annotations for coco") == 1
    facts = json.loads((killed / "report-facts.json").read_text())["predict"]
    assert facts["done"] + facts["skipped"] == 12 and facts["skipped"] == done
    coco = json.loads((killed / "export" / "coco.json").read_text())
    assert len(coco["images"]) == 12


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [d for c in map(int, children) for d in (c, *descendants(c))]


def environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(
        item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item
    )


def test_devices_beyond_the_machine_exit_2(tmp_path: Path):
    result = run_here("predict", "--model", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "o"),
                      "--devices", "4096", "--device", "cpu")  # fmt: skip
    assert result.returncode == 2
    assert "--devices 4096: this machine has" in result.stderr


def test_the_launch_environment_is_read(monkeypatch):
    from vitiseg.shard import current_shard

    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLURM_NTASKS", "8")
    monkeypatch.setenv("SLURM_PROCID", "5")
    assert current_shard() == Shard()  # inside an allocation but not launched: alone
    monkeypatch.setenv("MASTER_ADDR", "node1")
    monkeypatch.setenv("SLURM_LOCALID", "1")
    monkeypatch.setenv("SLURM_NTASKS_PER_NODE", "4(x2)")
    assert current_shard() == Shard(5, 8, 1, 4)
    monkeypatch.setenv("RANK", "9")
    with pytest.raises(ConfigError, match="outside WORLD_SIZE"):
        current_shard()
