"""Share a ``vitiseg predict`` run over processes, on one machine or many.

PyTorch's launch environment decides who does what: ``torchrun`` (or ``srun`` with
``MASTER_ADDR``/``MASTER_PORT`` set) starts the processes and sets ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK``; ``--devices N`` on one machine starts them through
``torch.distributed.run`` itself. Process ``r`` of ``w`` takes photos ``r, r + w, ...``
of the list sorted by output name, writes their masks and its own table part
``.canopy.part-R-of-W.csv``; when all are done (a gloo barrier) the first process merges
the parts into ``canopy.csv``. Each share resumes like a one-process run, so re-running
the same command after a stop finishes the work with every row once.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import torch
import torch.distributed as dist

from vitiseg.errors import ConfigError
from vitiseg.run import CANOPY_TABLE
from vitiseg.util.atomic import write_text
from vitiseg.util.hardware import resolve_device

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """This process's place in a launch: ``rank`` of ``world``, ``local_rank`` on its machine."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1

    @property
    def table(self) -> str:
        """The file name this process writes its rows to."""
        return CANOPY_TABLE if self.world == 1 else f".canopy.part-{self.rank}-of-{self.world}.csv"

    def take(self, items: list, key=lambda item: item.key) -> list:
        """This process's share of ``items``: every ``world``-th of them sorted by ``key``.

        Example:
            >>> Shard(1, 3).take(list("gfedcba"), key=str)
            ['b', 'e']
        """
        return sorted(items, key=key)[self.rank :: self.world]


def _env_int(*names: str, default: int) -> int:
    for name in names:
        value = os.environ.get(name)
        digits = re.match(r"\d+", value or "")  # SLURM writes e.g. "4(x2)"
        if digits:
            return int(digits.group())
        if value:
            raise ConfigError(f"{name}={value!r} is not a process count or rank")
    return default


def current_shard() -> Shard:
    """Read torchrun's (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``)
    or SLURM's (``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``) environment; SLURM's
    only with ``MASTER_ADDR`` set, so a command run once inside an allocation stays alone."""
    slurm = "MASTER_ADDR" in os.environ
    world = _env_int("WORLD_SIZE", *(["SLURM_NTASKS"] * slurm), default=1)
    rank = _env_int("RANK", *(["SLURM_PROCID"] * slurm), default=0)
    local = _env_int("LOCAL_RANK", *(["SLURM_LOCALID"] * slurm), default=0)
    local_world = _env_int("LOCAL_WORLD_SIZE", *(["SLURM_NTASKS_PER_NODE"] * slurm), default=world)
    if not 0 <= rank < world:
        raise ConfigError(f"RANK {rank} outside WORLD_SIZE {world}")
    return Shard(rank, world, local, local_world)


def launched() -> bool:
    """True when this process was started by a distributed launcher."""
    return current_shard().world > 1 or "TORCHELASTIC_RUN_ID" in os.environ


def check_devices(devices: int, device: str) -> None:
    """Refuse more processes than GPUs (on CUDA) or CPU cores (on the CPU).

    Raises:
        ConfigError: ``devices`` below 1 or above what is present.
    """
    if devices < 1:
        raise ConfigError(f"devices={devices}: must be at least 1")
    on_gpu = resolve_device(device).type == "cuda"
    present = torch.cuda.device_count() if on_gpu else os.cpu_count() or 1
    kind = "GPU(s)" if on_gpu else "CPU core(s)"
    if devices > present:
        raise ConfigError(f"devices={devices}: this machine has {present} {kind}")


def relaunch(
    devices: int, device: str, argv: list[str], check_inputs: Callable[[], object]
) -> int | None:
    """Run ``vitiseg ARGV`` in ``devices`` processes and return their exit code, unless
    one process is asked for or this one was launched (``None``: go on here).
    ``check_inputs`` runs first, so that input mistakes stop before any process starts.

    Raises:
        ConfigError: ``devices`` below 1 or above what is present.
    """
    if devices == 1 or launched():
        return None
    check_devices(devices, device)
    check_inputs()
    return launch(devices, argv)


def launch(devices: int, argv: list[str]) -> int:
    """Run ``vitiseg ARGV`` in ``devices`` processes on this machine with torchrun."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={devices}", "-m", "vitiseg.cli", *argv]  # fmt: skip
    return subprocess.run(command, check=False).returncode


def join(shard: Shard, device: str) -> str:
    """Make this process one of the ``shard.world`` (gloo, from the launcher's MASTER_ADDR
    and MASTER_PORT) and return its device: each process of a machine on its own GPU
    (``cuda:LOCAL_RANK``), or on the CPU with its share of the machine's cores."""
    if shard.world == 1:
        return device
    if resolve_device(device) == torch.device("cuda"):
        device = f"cuda:{shard.local_rank}"
    elif resolve_device(device).type != "cuda":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // shard.local_world))
    _group(shard)
    return device


def _group(shard: Shard) -> None:
    """Join the other processes (gloo), once."""
    if not dist.is_initialized():
        dist.init_process_group(  # MASTER_ADDR and MASTER_PORT from the launcher
            "gloo", rank=shard.rank, world_size=shard.world, timeout=timedelta(days=7)
        )  # a long wait: shares may take unequal times


def merge_tables(out: Path, world: int) -> Path:
    """Join the ``world`` processes' table parts into ``out/canopy.csv`` (sorted by file)
    and remove the parts, of this and of earlier launches."""
    header, rows = None, {}
    for rank in range(world):
        part = out / Shard(rank, world).table
        if not part.is_file():  # a share with no photos
            continue
        with open(part, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = header or reader.fieldnames
            rows |= {row["file"]: row for row in reader}
    if header:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[name] for name in sorted(rows))
        write_text(out / CANOPY_TABLE, buffer.getvalue())
    for part in out.glob(".canopy.part-*.csv"):
        part.unlink()
    return out / CANOPY_TABLE


def finish(out: Path, shard: Shard, report: T) -> list[T]:
    """Wait for every process, merge the tables on the first one and hand it every
    process's ``report``, so that it alone writes what covers the whole folder (report
    page, exports, selection); the other processes get ``[]``."""
    if shard.world == 1:
        return [report]
    _group(shard)
    try:
        reports = [None] * shard.world
        dist.all_gather_object(reports, report)  # also waits for every process
        if shard.rank == 0:
            merge_tables(out, shard.world)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return reports if shard.rank == 0 else []
