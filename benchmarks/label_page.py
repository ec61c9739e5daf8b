"""How long a click waits for the labelling page (`vitiseg label`) on full-HD photos.

Opens the page in headless Chromium (Debian's `chromium`, driven by Playwright) on two
validation photos of the date split, starting from the pre-labels of the model that never
saw them, and times, in the page, from each input event to the frame after the mask
changed: region clicks, brush strokes (press, then each move of the drag), fills, undo,
redo, and `n` (the next photo, prepared while the first was being corrected). Each action
waits for the previous one to show, as a user's would. Prints the median and the slowest
of each; `--screenshot FILE` also saves the page (docs/label_page.png).

    python benchmarks/label_page.py [--model RUN] [--screenshot docs/label_page.png]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import tempfile
from pathlib import Path

import numpy as np
from common import ROOT, machine, require
from PIL import Image
from playwright.sync_api import sync_playwright

from vitiseg.label import LabelServer, open_job
from vitiseg.run import Run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", type=Path, default=ROOT / "runs" / "bundled_model" / "date_split"
    )
    parser.add_argument("--screenshot", type=Path, help="save the page as this PNG")
    parser.add_argument("--clicks", type=int, default=30, help="region clicks timed")
    args = parser.parse_args()
    require(args.model / "model.safetensors")
    if CHROMIUM is None:
        raise SystemExit("needs Debian's chromium: apt-get install -y chromium")
    print(machine())
    pairs = Run.open(args.model).pairs("valid")[:2]
    with tempfile.TemporaryDirectory() as tmp:
        for pair in pairs:  # the photos alone: they open with the model's guess
            shutil.copy(pair.image, Path(tmp) / pair.image.name)
        job = open_job(tmp, model=args.model)
        first = job.folder.photos[pairs[0].image.name]
        size = job.folder.size(first)
        with LabelServer(job) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1400, "height": 800})
            page.goto(server.page_url)
            page.wait_for_function("() => window.vitiseg && window.vitiseg.state.regions !== null")
            timings = play(page, args.clicks)
            if args.screenshot:
                screenshot(page, args.screenshot)
            browser.close()
    print(f"ms from the input event to the frame after the change ({first.name}, "
          f"{size[0]}x{size[1]}):")  # fmt: skip
    for what, values in timings.items():
        print(f"  {what:12s} n={len(values):3d}  median {statistics.median(values):6.1f}  "
              f"slowest {max(values):6.1f}")  # fmt: skip
    print(f"slowest of all: {max(max(v) for v in timings.values()):.1f} ms")


def play(page, clicks: int) -> dict[str, list[float]]:
    """A user's session on the first photo, then `n`; the page's timings by action."""
    rng = np.random.default_rng(0)
    box = page.evaluate(
        "() => { const r = document.getElementById('viewport').getBoundingClientRect();"
        " const v = window.vitiseg.state.view; return [r.left, r.top, v.scale, v.x, v.y]; }"
    )
    left, top, scale, tx, ty = box

    def point(x: float, y: float) -> tuple[float, float]:
        return left + tx + (x + 0.5) * scale, top + ty + (y + 0.5) * scale

    def timed(step) -> None:
        count = page.evaluate("() => window.vitiseg.state.timings.length")
        step()
        page.wait_for_function("(n) => window.vitiseg.state.timings.length > n", arg=count)
        page.wait_for_timeout(30)

    for _ in range(clicks):
        page.keyboard.press(str(rng.integers(1, 6)))
        x, y = rng.integers(0, 1920), rng.integers(0, 1080)
        timed(lambda x=x, y=y: page.mouse.click(*point(x, y)))
    page.keyboard.press("b")
    for _ in range(5):
        x, y = rng.integers(200, 1700), rng.integers(200, 900)
        page.mouse.move(*point(x, y))
        timed(page.mouse.down)
        for k in range(1, 8):
            timed(lambda x=x, y=y, k=k: page.mouse.move(*point(x + 25 * k, y + 8 * k)))
        page.mouse.up()
    page.keyboard.press("f")
    for _ in range(5):
        page.keyboard.press(str(rng.integers(1, 6)))
        x, y = rng.integers(0, 1920), rng.integers(0, 1080)
        timed(lambda x=x, y=y: page.mouse.click(*point(x, y)))
    for key in "zzzzzyyy":
        timed(lambda key=key: page.keyboard.press(key))
    page.click("#save")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.startsWith('saved')"
    )
    page.wait_for_function("() => window.vitiseg.state.prefetched.size > 0")
    page.wait_for_timeout(3000)  # the next photo is prepared while this one is corrected
    timed(lambda: page.keyboard.press("n"))
    page.wait_for_function("() => window.vitiseg.state.regions !== null")
    found: dict[str, list[float]] = {}
    for timing in page.evaluate("() => window.vitiseg.state.timings"):
        found.setdefault(timing["what"], []).append(timing["ms"])
    return found


def screenshot(page, path: Path) -> None:
    """The page on the second photo with its pre-labels, trunk chosen and a region under
    the pointer, 1200 x 700, as a PNG of 96 colours (about 300 KB)."""
    page.set_viewport_size({"width": 1200, "height": 700})
    page.keyboard.press("0")
    page.keyboard.press("r")
    page.keyboard.press("5")
    page.mouse.move(640, 420)
    page.wait_for_timeout(300)
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    # octree keeps the class colours, which median cut merges with the photo's (trunk)
    shot.quantize(96, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)
    print(f"screenshot: {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
