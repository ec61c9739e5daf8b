"""Helpers of the labelling page's tests: a folder to label, HTTP calls, the page's token."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from conftest import make_dataset
from PIL import Image

CLASSES = ["background", "leaf", "wood"]


def photo_folder(
    folder: Path, n: int = 3, unlabelled: tuple[int, ...] = (1,), suffix: str = "_bin", **kw
) -> Path:
    """``n`` generated photos (96 x 64), masks beside all but the ``unlabelled`` ones."""
    make_dataset(folder, n=n, suffix=suffix, **kw)
    for i in unlabelled:
        (folder / f"img{i:02d}{suffix}.png").unlink()
    return folder


def call(url: str, method: str = "GET", data: bytes | None = None, headers: dict | None = None):
    """(status, headers (any case), body) of one HTTP request; errors are answers too."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def api(server, path: str, method: str = "GET", data: bytes | None = None, headers=None):
    """``call`` of the server's ``path`` with the token the page would send."""
    return call(
        server.url + path, method, data, {"X-Vitiseg-Token": server.token, **(headers or {})}
    )


def save(url: str, name: str, mask: np.ndarray, token: str, headers: dict | None = None):
    """PUT ``mask`` as the mask of photo ``name``."""
    sent = {"X-Vitiseg-Token": token, "Content-Type": "application/octet-stream", **(headers or {})}
    return call(f"{url}api/photos/{name}/mask", "PUT", mask.astype(np.uint8).tobytes(), sent)


def page_token(url: str) -> str:
    """The token the page at ``url`` (the address printed, with its token) holds, read from
    the page as a browser would."""
    _, _, body = call(url)
    config = re.search(rb'<script id="config" type="application/json">(.*?)</script>', body, re.S)
    return json.loads(config[1])["token"]


def read_png(path: Path) -> np.ndarray:
    """A mask PNG as the page wrote it: one channel (mode L), class indices."""
    with Image.open(path) as image:
        assert image.mode == "L"
        return np.asarray(image).copy()
