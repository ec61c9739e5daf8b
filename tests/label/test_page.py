"""The labelling page in headless Chromium: a user corrects the model's guess with a region
click, a brush stroke, undo, redo and fill, saves, and `vitiseg train` trains on the mask.

The browser tests need Debian's ``chromium`` and Playwright for Python (the dev extra);
they skip, saying how to install them, where either is missing (as tests/report do).
Each saves a screenshot into its tmp_path (kept when the test fails).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_TRAIN, run_here
from label_helpers import api, photo_folder, read_png
from PIL import Image
from scipy import ndimage

from vitiseg.engine.loaded import Model
from vitiseg.label import LabelServer, open_job


def open_page(browser, server: LabelServer):
    """The page, its regions ready, with its console errors collected."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server.page_url)
    wait_for_regions(page)
    return page


def wait_for_regions(page) -> None:
    page.wait_for_function("() => window.vitiseg && window.vitiseg.state.regions !== null")


def page_mask(page) -> np.ndarray:
    state = page.evaluate("() => [Array.from(window.vitiseg.state.mask), window.vitiseg.state.W]")
    return np.array(state[0], np.uint8).reshape(-1, state[1])


def at(page, x: int, y: int) -> tuple[float, float]:
    """The point of the window over the centre of photo pixel (x, y), checked with the
    page's own conversion."""
    rect = page.evaluate(
        "() => { const r = document.getElementById('viewport').getBoundingClientRect();"
        " const v = window.vitiseg.state.view; return [r.left, r.top, v.scale, v.x, v.y]; }"
    )
    left, top, scale, tx, ty = rect
    point = (left + tx + (x + 0.5) * scale, top + ty + (y + 0.5) * scale)
    assert page.evaluate("([a, b]) => window.vitiseg.toPhoto(a, b)", list(point)) == [x, y]
    return point


def capsule(shape, a, b, radius: float) -> np.ndarray:
    """The pixels whose centre is within ``radius`` of segment a-b: the page's brush."""
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / (dx * dx + dy * dy), 0, 1)
    return (xs - (ax + t * dx)) ** 2 + (ys - (ay + t * dy)) ** 2 <= radius * radius


def wait_saved(page, name: str) -> None:
    page.wait_for_function(
        "(name) => document.getElementById('status').textContent === `saved ${name}`", arg=name
    )


@pytest.mark.slow
def test_correct_the_models_guess_save_and_train_on_it(browser, tmp_path, model_dir):
    data = photo_folder(tmp_path / "Dataset", n=6, unlabelled=(5,))
    server = LabelServer(open_job(data, model=model_dir))
    with server:
        page = open_page(browser, server)
        # the unlabelled photo opens first, with the model's guess and the model's classes
        assert page.input_value("#photo-list") == "0"
        assert page.inner_text("#source") == "model's guess"
        assert page.inner_text("#progress") == "5 labelled / 1 left"
        legend = page.eval_on_selector_all("#legend .name", "els => els.map(e => e.textContent)")
        assert legend == ["background", "leaf", "wood"]
        guess = Model(model_dir).predict(data / "img05.jpg").mask
        expected = page_mask(page)
        assert np.array_equal(expected, guess)
        regions = np.frombuffer(api(server, "api/photos/img05.jpg/regions")[2], "<u2")
        regions = regions.reshape(64, 96)
        page.evaluate("() => window.vitiseg.setView(6, 10, 10)")

        # a region click gives the region the class: wood (key 3)
        page.keyboard.press("3")
        page.mouse.click(*at(page, 20, 20))
        expected[regions == regions[20, 20]] = 2
        assert np.array_equal(page_mask(page), expected)

        # a brush stroke of 5 pixels paints leaf (key 2) along its path
        page.keyboard.press("2")
        page.keyboard.press("b")
        page.eval_on_selector(
            "#brush-size", "e => { e.value = 5; e.dispatchEvent(new Event('input')); }"
        )
        page.mouse.move(*at(page, 30, 40))
        page.mouse.down()
        page.mouse.move(*at(page, 80, 44))
        page.mouse.up()
        stroked = expected.copy()
        stroked[capsule(expected.shape, (30, 40), (80, 44), 2.5)] = 1
        assert np.array_equal(page_mask(page), stroked)

        # undo takes the stroke back, redo brings it again
        page.click("#undo")
        assert np.array_equal(page_mask(page), expected)
        page.click("#redo")
        assert np.array_equal(page_mask(page), stroked)
        page.click("#undo")

        # fill gives the 4-connected area of one class under the click another class
        page.keyboard.press("f")
        page.keyboard.press("1")
        target = expected[5, 90]
        parts, _ = ndimage.label(expected == target)
        filled = expected.copy()
        filled[parts == parts[5, 90]] = 0 if target else 1
        if target == 0:
            page.keyboard.press("2")
        page.mouse.click(*at(page, 90, 5))
        assert np.array_equal(page_mask(page), filled)

        page.click("#save")
        wait_saved(page, "img05_bin.png")
        assert page.inner_text("#progress") == "6 labelled / 0 left"
        page.screenshot(path=str(tmp_path / "page.png"))
        assert page.errors == []
    saved = read_png(data / "img05_bin.png")
    assert np.array_equal(saved, filled)
    assert Image.open(data / "img05_bin.png").size == Image.open(data / "img05.jpg").size

    result = run_here(
        "train", "-n", "r", "-d", str(data), "-o", str(tmp_path / "runs"), "-c", "3", "-e", "1",
        *FAST_TRAIN,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    split = pd.read_csv(tmp_path / "runs" / "r" / "split.csv")
    assert "img05" in set(split["name"])


@pytest.mark.slow
def test_the_keyboard_shortcuts(browser, tmp_path):
    data = photo_folder(tmp_path / "p", n=3, unlabelled=(0, 1))
    with LabelServer(open_job(data, model=None, class_names=["bg", "leaf", "wood"])) as server:
        page = open_page(browser, server)
        active = "() => [document.querySelector('#legend .active').dataset.class, document.querySelector('[data-tool].active').dataset.tool]"  # fmt: skip
        assert page.evaluate(active) == ["1", "region"]
        for key, expected in [("3", ["2", "region"]), ("b", ["2", "brush"]), ("9", ["2", "brush"]),
                              ("f", ["2", "fill"]), ("e", ["2", "erase"]), ("1", ["0", "erase"]),
                              ("r", ["0", "region"]), ("2", ["1", "region"])]:  # fmt: skip
            page.keyboard.press(key)
            assert page.evaluate(active) == expected, key
        size = lambda: int(page.input_value("#brush-size"))  # noqa: E731
        before = size()
        page.keyboard.press("]")
        assert size() > before
        page.keyboard.press("[")
        page.keyboard.press("[")
        assert size() < before
        page.keyboard.press("h")
        assert page.input_value("#opacity") == "0"
        page.keyboard.press("h")
        assert page.input_value("#opacity") != "0"

        page.evaluate("() => window.vitiseg.setView(4, 0, 0)")
        page.mouse.click(*at(page, 10, 10))  # leaf on a region
        changed = page_mask(page)
        assert changed.any()
        page.keyboard.press("z")
        assert not page_mask(page).any()
        page.keyboard.press("y")
        assert np.array_equal(page_mask(page), changed)
        page.keyboard.press("z")
        page.keyboard.press("Shift+Z")  # redo too
        assert np.array_equal(page_mask(page), changed)

        page.keyboard.press("s")
        wait_saved(page, "img00_bin.png")
        assert np.array_equal(read_png(data / "img00_bin.png"), changed)

        # n: the next photo (saving changes first); p: back
        page.mouse.click(*at(page, 40, 40))
        page.keyboard.press("n")
        page.wait_for_function("() => window.vitiseg.state.name === 'img01.jpg'")
        assert np.array_equal(read_png(data / "img00_bin.png"), page_mask_of(server, "img00.jpg"))
        assert not np.array_equal(read_png(data / "img00_bin.png"), changed)
        page.keyboard.press("p")
        page.wait_for_function("() => window.vitiseg.state.name === 'img00.jpg'")
        assert page.inner_text("#source") == "saved mask"
        page.keyboard.press("o")
        assert page.is_visible("#outline-layer")
        page.screenshot(path=str(tmp_path / "keys.png"))
        assert page.errors == []


def page_mask_of(server: LabelServer, name: str) -> np.ndarray:
    _, headers, body = api(server, f"api/photos/{name}/mask")
    return np.frombuffer(body, np.uint8).reshape(int(headers["X-Height"]), -1)


@pytest.mark.slow
def test_zoom_keeps_the_pixel_under_the_pointer_and_a_right_drag_pans(browser, tmp_path):
    data = photo_folder(tmp_path / "p", n=1, unlabelled=(0,))
    with LabelServer(open_job(data, model=None, class_names=["bg", "leaf", "wood"])) as server:
        page = open_page(browser, server)
        scale = lambda: page.evaluate("() => window.vitiseg.state.view.scale")  # noqa: E731
        fitted = scale()
        x, y = at(page, 30, 20)
        page.mouse.move(x, y)
        page.mouse.wheel(0, -400)
        assert scale() > 1.5 * fitted
        assert page.evaluate("([a, b]) => window.vitiseg.toPhoto(a, b)", [x, y]) == [30, 20]
        page.mouse.move(x, y)
        page.mouse.down(button="right")
        page.mouse.move(x + 50, y + 30)
        page.mouse.up(button="right")
        assert page.evaluate("([a, b]) => window.vitiseg.toPhoto(a, b)", [x + 50, y + 30]) == [
            30,
            20,
        ]
        assert not page_mask(page).any()  # panning paints nothing
        page.keyboard.press("0")
        assert scale() == pytest.approx(fitted)
        assert page.errors == []
