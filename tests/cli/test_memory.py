"""CPU training keeps the memory a step frees for the next step (glibc only)."""

import subprocess
import sys
from pathlib import Path

import pytest

FREED_MIB = """
import sys, torch
from vitiseg.util.hardware import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
block = torch.ones(50_000_000)  # 200 MB, like a batch of activations
before = rss()
del block
print((before - rss()) / 2**20)
"""


def freed_mib(mode: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", FREED_MIB, mode], capture_output=True, text=True, check=True
    )
    return float(result.stdout)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_freed_activations_stay_in_the_process_for_the_next_step():
    assert freed_mib("default") > 150  # glibc hands large blocks straight back
    assert freed_mib("keep") < 20  # kept: the next step reuses them without page faults
