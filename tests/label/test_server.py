"""The page's server over real HTTP: what it serves, what it refuses, and that masks are
written whole whoever saves them."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from label_helpers import CLASSES, api, call, page_token, photo_folder, read_png, save
from PIL import Image

from vitiseg.errors import ConfigError
from vitiseg.label import LabelServer, open_job
from vitiseg.label.regions import over_segment


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return photo_folder(tmp_path / "photos")


@pytest.fixture
def server(folder: Path):
    with LabelServer(open_job(folder, model=None, class_names=CLASSES)) as running:
        yield running


def test_the_server_listens_on_127_0_0_1_only(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert server.socket.getsockname()[0] == "127.0.0.1"


def test_the_list_puts_photos_without_a_mask_first(server):
    status, _, body = api(server, "api/photos")
    listing = json.loads(body)
    assert status == 200
    assert [p["name"] for p in listing["photos"]] == ["img01.jpg", "img00.jpg", "img02.jpg"]
    assert (listing["labelled"], listing["left"]) == (2, 1)


def test_a_photo_without_a_mask_opens_empty_and_one_with_a_mask_opens_it(server, folder):
    status, headers, body = api(server, "api/photos/img01.jpg/mask")
    assert status == 200 and headers["X-Source"] == "empty"
    assert (headers["X-Width"], headers["X-Height"]) == ("96", "64")
    assert body == bytes(96 * 64)
    _, headers, body = api(server, "api/photos/img00.jpg/mask")
    assert headers["X-Source"] == "saved"
    assert np.array_equal(
        np.frombuffer(body, np.uint8).reshape(64, 96), read_png(folder / "img00_bin.png")
    )


def test_the_photo_and_its_regions_are_served(server, folder):
    status, headers, body = api(server, "api/photos/img01.jpg/image")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(body)).size == (96, 64)
    _, headers, body = api(server, "api/photos/img01.jpg/regions")
    assert headers["X-Bytes-Per-Pixel"] == "2"
    photo = np.asarray(Image.open(folder / "img01.jpg").convert("RGB"))
    assert np.array_equal(np.frombuffer(body, "<u2").reshape(64, 96), over_segment(photo))


def test_saving_writes_the_mask_beside_the_photo_and_counts_it(server, folder):
    mask = np.random.default_rng(1).integers(0, 3, (64, 96)).astype(np.uint8)
    status, _, body = save(server.url, "img01.jpg", mask, page_token(server.page_url))
    assert status == 200, body
    assert json.loads(body) == {"saved": "img01_bin.png", "labelled": 3, "left": 0}
    assert np.array_equal(read_png(folder / "img01_bin.png"), mask)


@pytest.mark.parametrize("token", [None, "", "wrong", "\u00e9t\u00e9"])
def test_a_save_without_the_pages_token_is_refused(server, folder, token):
    headers = {} if token is None else {"X-Vitiseg-Token": token}
    status, _, body = call(server.url + "api/photos/img01.jpg/mask", "PUT", bytes(96 * 64), headers)
    assert status == 403, body
    assert not (folder / "img01_bin.png").exists()


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong", "?token=%E2%82%AC", "?token=%FF"])
def test_without_the_printed_address_nothing_is_served(server, query):
    status, headers, body = call(server.url + query)
    assert status == 403 and b"?token=" in body
    assert server.token.encode() not in body and "set-cookie" not in headers
    for path in ("api/photos", "api/photos/img01.jpg/image", "api/photos/img01.jpg/mask",
                 "api/photos/img01.jpg/regions"):  # fmt: skip
        status, _, body = call(
            server.url + path, headers={"Cookie": f"vitiseg-token-{server.port}=wrong"}
        )
        assert status == 403 and b"token" in body, path


def test_the_printed_address_sets_a_cookie_that_opens_the_photos_but_saves_nothing(server, folder):
    assert server.page_url == f"{server.url}?token={server.token}"
    status, headers, _ = call(server.page_url)
    assert status == 200
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"vitiseg-token-{server.port}={server.token};")
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    sent = {"Cookie": cookie.split(";")[0]}
    assert call(server.url, headers=sent)[0] == 200  # a reload, the token out of the address
    status, _, body = call(server.url + "api/photos/img01.jpg/image", headers=sent)
    assert status == 200 and body[:2] == b"\xff\xd8"
    # a page of another site could make the browser send the cookie, never the header
    status, _, _ = call(server.url + "api/photos/img01.jpg/mask", "PUT", bytes(96 * 64), sent)
    assert status == 403
    assert not (folder / "img01_bin.png").exists()


def test_a_save_of_the_wrong_size_or_class_is_refused(server, folder):
    token = page_token(server.page_url)
    status, _, body = save(server.url, "img01.jpg", np.zeros((10, 10)), token)
    assert status == 400 and b"expected 96x64 = 6144 bytes" in body
    status, _, body = save(server.url, "img01.jpg", np.full((64, 96), 7), token)
    assert status == 409 and b"class 7 where the page has 3 classes" in body
    assert not (folder / "img01_bin.png").exists()


@pytest.mark.parametrize(
    "path",
    [
        "api/photos/..%2F..%2Fsecret.jpg/image",
        "api/photos/%2E%2E/image",
        "api/photos/secret.jpg/image",
        "api/photos/img00_bin.png/image",
        "static/..%2Fserver.py",
        "static/../folder.py",
    ],
)
def test_nothing_outside_the_photos_of_the_folder_is_served(server, tmp_path, path):
    (tmp_path / "secret.jpg").write_bytes((tmp_path / "photos" / "img00.jpg").read_bytes())
    status, _, body = api(server, path)
    assert status == 404, body


def test_a_link_out_of_the_folder_is_neither_listed_nor_served(tmp_path: Path):
    data = photo_folder(tmp_path / "photos")
    outside = photo_folder(tmp_path / "outside", n=1, unlabelled=())
    os.symlink(outside / "img00.jpg", data / "link.jpg")
    with LabelServer(open_job(data, model=None, class_names=CLASSES)) as server:
        _, _, body = api(server, "api/photos")
        assert b"link.jpg" not in body
        for what in ("image", "mask", "regions"):
            assert api(server, f"api/photos/link.jpg/{what}")[0] == 404
        status, _, _ = save(server.url, "link.jpg", np.zeros((64, 96)), page_token(server.page_url))
        assert status == 404
    assert not (data / "link_bin.png").exists() and not (outside / "link_bin.png").exists()


def test_a_request_naming_another_host_is_refused(server):
    status, _, _ = api(server, "api/photos", headers={"Host": "attacker.example"})
    assert status == 400


def test_the_page_forbids_scripts_from_anywhere_else(server):
    status, headers, body = call(server.page_url)
    assert status == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert b"<script>" not in body  # no inline script: the config is JSON data


def test_another_host_warns(folder, caplog):
    with caplog.at_level(logging.WARNING, logger="vitiseg"):
        server = LabelServer(open_job(folder, model=None, class_names=CLASSES), host="0.0.0.0")
    server.socket.close()
    assert "listening on 0.0.0.0, not 127.0.0.1" in caplog.text


def test_a_taken_port_is_a_clear_error(server, folder):
    with pytest.raises(ConfigError, match=rf"port={server.port} on host=127.0.0.1: cannot listen"):
        LabelServer(open_job(folder, model=None, class_names=CLASSES), port=server.port)


def test_two_tabs_saving_the_same_photo_never_leave_a_torn_file(server, folder):
    """Two writers save different masks as fast as they can while a reader checks that the
    file is always one of them, whole."""
    token = page_token(server.page_url)
    masks = [np.full((64, 96), c, np.uint8) for c in (1, 2)]
    masks[1][::2] = 0  # a different size of PNG too
    stop = threading.Event()
    seen, problems = set(), []

    def tab(mask):
        while not stop.is_set():
            status, _, body = save(server.url, "img01.jpg", mask, token)
            if status != 200:
                problems.append(body)

    def reader():
        target = folder / "img01_bin.png"
        while not stop.is_set():
            if target.exists():
                found = read_png(target)
                seen.add(next((i for i, m in enumerate(masks) if np.array_equal(found, m)), -1))

    threads = [threading.Thread(target=tab, args=(m,)) for m in masks]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    threading.Event().wait(3)
    stop.set()
    for thread in threads:
        thread.join()
    assert problems == []
    assert seen <= {0, 1} and seen, seen
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
