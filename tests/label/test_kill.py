"""`kill -9` of the page's server while it saves leaves only whole masks (a real process)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from label_helpers import page_token, photo_folder, read_png, save

from vitiseg.data.layout import find_pairs


def start_label(folder: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """``vitiseg label FOLDER`` in a process of its own, and the address it printed (with
    its ``?token=``)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "vitiseg.cli", "label", str(folder), "--no-model",
         "--class-names", "background,leaf,wood", "--port", "0", *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    for line in process.stdout:
        if match := re.search(r"Labelling page: (http://\S+)", line):
            return process, match[1]
    raise AssertionError(f"no address printed: {process.stderr.read()}")


@pytest.mark.slow
def test_kill_9_while_saving_leaves_only_whole_masks(tmp_path: Path):
    folder = photo_folder(tmp_path / "p", n=2, unlabelled=(0, 1), size=(640, 480))
    masks = [np.full((480, 640), c, np.uint8) for c in (1, 2)]
    masks[1][:, ::3] = 0
    rng = np.random.default_rng(0)
    for attempt in range(3):
        process, address = start_label(folder)
        token, url = page_token(address), address.split("?")[0]
        stop = threading.Event()

        def tab(mask, name, url=url, token=token, stop=stop):
            while not stop.is_set():
                try:
                    save(url, name, mask, token)
                except OSError:  # the server is gone
                    return

        tabs = [threading.Thread(target=tab, args=(m, n)) for m in masks
                for n in ("img00.jpg", "img01.jpg")]  # fmt: skip
        for thread in tabs:
            thread.start()
        time.sleep(0.3 + rng.uniform(0, 0.7))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        stop.set()
        for thread in tabs:
            thread.join()
        for name in ("img00", "img01"):
            target = folder / f"{name}_bin.png"
            if target.exists():
                found = read_png(target)
                assert any(np.array_equal(found, m) for m in masks), (attempt, name)
    # what a killed save left behind is hidden from train, and removed at the next start
    assert [p.name for p in find_pairs(folder)] == ["img00", "img01"]
    process, _ = start_label(folder)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
