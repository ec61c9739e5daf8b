"""Shared fixtures: generated photo/mask folders, the shared real data, CLI runner."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from vitiseg.canopy import trait_table

# The tests use no weights from a hub: a hub library imported here reads this once
os.environ["HF_HUB_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
AGROCAM = SHARED_DATA / "agrocam-vine" / "labeled"
TRUNKS = SHARED_DATA / "vine-trunks"

needs_shared_data = pytest.mark.skipif(
    not AGROCAM.is_dir(),
    reason=f"shared vineyard data not found at {SHARED_DATA} (only in the project's workspace and CI)",
)

FAST_ENCODER = "mobilenet_v2"  # 2.2 M weights: a 3-epoch run in half a ResNet-18's time
FAST_TRAIN = [
    "--encoder", FAST_ENCODER, "--encoder-weights", "none", "--decoder-channels", "16,16,16,16,16",
    "--crop-size", "64", "--workers", "0", "--precision", "32",
]  # fmt: skip
"""The smallest training that still shows the behaviour under test (ends with the four
values of --workers and --precision, which some tests leave out)."""


def draw_pair(rng: np.random.Generator, size: tuple[int, int], classes: int):
    """A photo with coloured shapes and its mask: class c is drawn in a colour of its own."""
    width, height = size
    mask = np.zeros((height, width), np.uint8)
    for _ in range(6):
        c = int(rng.integers(1, classes))
        x, y = rng.integers(0, width - 8), rng.integers(0, height - 8)
        w, h = rng.integers(8, max(9, width // 2)), rng.integers(8, max(9, height // 2))
        mask[y : y + h, x : x + w] = c
    colours = np.array([[90, 70, 50], [40, 160, 40], [200, 120, 60], [60, 60, 200], [200, 60, 200]])
    photo = colours[mask % len(colours)] + rng.normal(0, 12, (height, width, 3))
    return np.clip(photo, 0, 255).astype(np.uint8), mask


def make_dataset(
    folder: Path, n: int = 10, size: tuple[int, int] = (96, 64), classes: int = 3,
    suffix: str = "_bin", seed: int = 0,
) -> Path:  # fmt: skip
    """Write ``n`` generated ``NAME.jpg`` + ``NAME{suffix}.png`` pairs into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        photo, mask = draw_pair(rng, size, classes)
        Image.fromarray(photo).save(folder / f"img{i:02d}.jpg", quality=95)
        Image.fromarray(mask).save(folder / f"img{i:02d}{suffix}.png")
    return folder


def run_outcome(run: Path) -> tuple:
    """A finished run's epoch table (Train_NAME.csv) and exported weights."""
    from safetensors.torch import load_file

    from vitiseg.report.history import read_history_csv

    table = read_history_csv(next(run.glob("Train_*.csv")))
    return table, load_file(run / "model.safetensors")


def assert_same_outcome(actual: tuple, expected: tuple) -> None:
    """Two runs ended with the same epochs, figures and weights (see :func:`run_outcome`)."""
    (table, weights), (expected_table, expected_weights) = actual, expected
    assert list(table.index) == list(expected_table.index)
    np.testing.assert_allclose(table.to_numpy(), expected_table.to_numpy(), atol=1e-6)
    for key, value in expected_weights.items():
        torch.testing.assert_close(weights[key], value, atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """An untrained 3-class ResNet-18 U-Net (background, leaf, wood) with a small decoder,
    exported."""
    from vitiseg.engine.network import ModelInfo, ModelSpec, build_model, export_model

    torch.manual_seed(0)
    spec = ModelSpec(encoder="resnet18", classes=3, decoder_channels=(16, 16, 16, 16, 16))
    folder = tmp_path_factory.mktemp("model")
    export_model(build_model(spec), ModelInfo(spec, ["background", "leaf", "wood"]), folder)
    return folder


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "data")


def run_cli(
    *args: str, timeout: float = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``vitiseg ARGS`` in a fresh process, capturing text output."""
    return subprocess.run(
        [sys.executable, "-m", "vitiseg.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        cwd=ROOT,
    )


def run_here(*args: str) -> subprocess.CompletedProcess:
    """Run ``vitiseg ARGS`` in this process, capturing text output as :func:`run_cli` does,
    without a fresh process's start-up (seconds of imports): for tests of outputs and
    messages that need no process of their own (no kill, memory limit or environment)."""
    from vitiseg.cli import main

    out, err = io.StringIO(), io.StringIO()
    offline = mock.patch.dict(os.environ, {"HF_HUB_OFFLINE": "1"})
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), offline:
        code = main(list(args))
    return subprocess.CompletedProcess(["vitiseg", *args], code, out.getvalue(), err.getvalue())


def tree_snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content, to show nothing changed."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


FUZZ_REPORT: list[str] = []


def pytest_configure(config) -> None:
    """Under ``pytest -n N`` (``make test``), share the cores: each of the N test processes
    computes on its part of them instead of all N on every core. The processes its tests
    start keep every core: passing the share on to them (OMP_NUM_THREADS) made the suite
    slower (261 s against 240 s, docs/developing.md)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None  # Linux
        threads = max(1, (len(usable) if usable else os.cpu_count() or 1) // workers)
        torch.set_num_threads(threads)


def pytest_runtest_logreport(report) -> None:
    """Keep the fuzz test's seed and case counts (``record_property("fuzz_report", ...)`` in
    tests/data/test_untrusted_labels.py), from this process or a ``-n`` worker."""
    if report.when == "call":
        FUZZ_REPORT.extend(value for name, value in report.user_properties if name == "fuzz_report")


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the fuzz test's seed and case counts at the end of the run."""
    for line in FUZZ_REPORT:
        terminalreporter.write_line(line)


def photo_rows(days: list[str], camera: str = "cam", **traits) -> pd.DataFrame:
    """canopy.csv-like rows of one camera's photos at noon on ``days``; traits 0.5 unless given."""
    rows = []
    for i, day in enumerate(days):
        row = {"file": f"/x/{camera}_{day}_120000.jpg", "datetime": f"{day}T12:00:00"}
        row |= {t: traits.get(t, [0.5] * len(days))[i] for t in trait_table.DAILY}
        rows.append(row)
    return pd.DataFrame(rows)


INSTALL_HINT = (
    "install headless Chromium and Playwright for Python to run the browser tests: "
    "`apt-get install -y chromium` (Debian/Ubuntu) and `pip install -e '.[dev]'` "
    "(playwright); no `playwright install` is needed"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
"""Debian's Chromium, which the page tests drive through Playwright."""


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (the page tests skip, saying what to install, without it)."""
    if CHROMIUM is None:
        pytest.skip(f"no chromium on PATH: {INSTALL_HINT}")
    sync_api = pytest.importorskip("playwright.sync_api", reason=f"no playwright: {INSTALL_HINT}")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()
