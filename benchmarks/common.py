"""Shared helpers for the benchmark scripts: where the data and the seed's code are, timing."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
AGROCAM = SHARED / "data" / "agrocam-vine"
SEED_CODE = SHARED / "seed" / "reference"


LAPTOP_STEP_S = 1.29
"""Seconds a real 2-core AVX2 laptop takes for one training step of `--recipe cpu` (a batch of
two 416-pixel crops, fp32), and :data:`LAPTOP_VALID_S` for validating one full-HD photo:
from its 25 epochs in 20 minutes on benchmarks/quality.py's date split (34 steps and 8
validation photos an epoch: 48 s; the project's laptop calibration, against which the AVX2
emulation trained 28 epochs with --slowdown 1.75 on an AMX host), shared in the ratio of the
two measured side by side here (a validation photo costs 0.4 of a step)."""
LAPTOP_VALID_S = 0.52


def laptop_epochs(minutes: float, train_photos: int, valid_photos: int, settings: dict) -> int:
    """The epochs a real 2-core AVX2 laptop trains in ``minutes`` with a recipe's ``settings``
    (crops per photo, batch size) on ``train_photos``, validating ``valid_photos`` each.

    Example:
        >>> laptop_epochs(20, 17, 8, {"crops_per_image": 4, "batch_size": 2})
        25
    """
    steps = -(-train_photos * settings["crops_per_image"] // settings["batch_size"])
    return max(1, round(minutes * 60 / (steps * LAPTOP_STEP_S + valid_photos * LAPTOP_VALID_S)))


def machine() -> str:
    """The CPU flags that decide PyTorch's speed (as `lscpu` shows them), the ISA limits set
    in the environment, and whether vitiseg's ``--precision auto`` takes bf16 here."""
    from vitiseg.util.hardware import cpu_has_bf16

    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    flags = sorted({f for f in out.split() if f.startswith(("avx512", "amx")) or f == "avx2"})
    limits = [f"{k}={os.environ[k]}" for k in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")
              if k in os.environ]  # fmt: skip
    return (
        f"CPU flags: {' '.join(flags) or 'none of avx2/avx512/amx'}; "
        f"{' '.join(limits) or 'no ISA limit set'}; {os.cpu_count()} cores; "
        f"--precision auto picks {'bf16' if cpu_has_bf16() else 'fp32'}"
    )


def require(*paths: Path) -> None:
    """Exit with a clear message when the shared data or seed code is not beside the project."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        sys.exit(f"benchmark needs {', '.join(missing)} (the project's shared folder)")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    Linux's ``ru_maxrss`` survives ``exec`` and so starts at the parent's size in a child
    (every child of a parent that trained a model showed the same figure); ``VmHWM`` is the
    child's own. ``ru_maxrss`` elsewhere.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_gflops(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    """Measured matrix-multiply rate of this machine for ``dtype``."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def run_child(script: Path, *args: str) -> dict:
    """Run ``script ARGS`` in a fresh process (its own peak memory) and read its JSON line."""
    result = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{script.name} {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
