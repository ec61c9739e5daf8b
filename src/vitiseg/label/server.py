"""The labelling page's web server: Starlette routes served by uvicorn, on 127.0.0.1.

Routes (``NAME``: a photo's file name, one of the job's list and nothing else):

| route | what |
|---|---|
| ``GET /?token=T`` | the page (its token inside); sets the token's cookie |
| ``GET /static/...`` | the page's script and style |
| ``GET /api/photos`` | the list of photos, labelled / left |
| ``GET /api/photos/NAME/image`` | the photo, JPEG |
| ``GET /api/photos/NAME/mask`` | the mask it starts from: one byte a pixel, class indices |
| ``GET /api/photos/NAME/regions`` | its regions: 2 or 4 bytes a pixel, little-endian |
| ``PUT /api/photos/NAME/mask`` | save the mask (the body as above), with the token |

The token is in the address ``vitiseg label`` prints (as Jupyter does): whoever can connect
without it gets neither the page nor a photo. The page's first request sets it as an
HttpOnly, SameSite=Strict cookie, for a reload; every ``/api`` request must carry the
header ``X-Vitiseg-Token`` (the page sends it with each) or that cookie, and every request
that writes the header (a page of another site can neither read the token nor send it).
Requests naming another host than the one served are refused (a DNS name rebound to
127.0.0.1 cannot reach the page).
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import jinja2
import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from vitiseg import __version__
from vitiseg.errors import ConfigError, DataError
from vitiseg.label.job import LabelJob, open_job
from vitiseg.label.regions import region_bytes

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TOKEN_HEADER = "X-Vitiseg-Token"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def page_html(job: LabelJob, token: str) -> str:
    """The page, with the classes, their colours and the token it writes with."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("vitiseg.label", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    config = {
        "token": token,
        "classes": job.class_names,
        "colours": job.colours.tolist(),
    }
    template = environment.get_template("page.html.j2")
    return template.render(config=config, classes=job.class_names, version=__version__)


NO_TOKEN = (
    "<!doctype html><title>vitiseg label</title><p>This page needs its key: open the address "
    "<code>vitiseg label</code> printed (it ends with <code>?token=...</code>).</p>"
)


def create_app(job: LabelJob, token: str, hosts: list[str], cookie: str) -> Starlette:
    """The Starlette application serving ``job`` to requests naming one of ``hosts`` and
    carrying ``token`` (in the query of the page's address, then in the cookie ``cookie``)."""
    expected = token.encode("ascii")

    def carries(sent: str | None) -> bool:
        # the token is ASCII: any other text (a query decodes to any character) fails
        return sent is not None and secrets.compare_digest(sent.encode("utf-8"), expected)

    def admitted(request: Request, *also: str | None) -> bool:
        """The request carries the token: in its header, its cookie or one of ``also``."""
        sent = (request.headers.get(TOKEN_HEADER), request.cookies.get(cookie), *also)
        return any(carries(value) for value in sent)

    def authorised(handler):
        async def checked(request: Request) -> Response:
            if not admitted(request):
                return JSONResponse({"error": "missing or wrong token"}, status_code=403)
            return await handler(request)

        return checked

    def photo_name(request: Request) -> str:
        name = request.path_params["name"]
        try:
            job.entry(name)
        except KeyError:
            raise HTTPException(404, "no such photo") from None
        return name

    async def index(request: Request) -> Response:
        if not admitted(request, request.query_params.get("token")):
            return HTMLResponse(NO_TOKEN, status_code=403, headers=SECURITY_HEADERS)
        page = HTMLResponse(
            page_html(job, token), headers={**SECURITY_HEADERS, "Cache-Control": "no-store"}
        )
        page.set_cookie(cookie, token, httponly=True, samesite="strict")
        return page

    async def photos(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(job.listing))

    async def image(request: Request) -> Response:
        data = await run_in_threadpool(job.jpeg, photo_name(request))
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    async def mask(request: Request) -> Response:
        name = photo_name(request)
        if request.method == "PUT":
            return await save(request, name)
        start, source = await run_in_threadpool(job.start_mask, name)
        height, width = start.shape
        headers = {"X-Width": str(width), "X-Height": str(height), "X-Source": source}
        headers["Cache-Control"] = "no-store"
        return Response(start.tobytes(), media_type="application/octet-stream", headers=headers)

    async def regions(request: Request) -> Response:
        found = await run_in_threadpool(job.regions, photo_name(request))
        data, size = region_bytes(found)
        headers = {"X-Bytes-Per-Pixel": str(size), "Cache-Control": "no-cache"}
        return Response(data, media_type="application/octet-stream", headers=headers)

    async def save(request: Request, name: str) -> Response:
        if not carries(request.headers.get(TOKEN_HEADER)):  # the cookie alone is not enough
            return JSONResponse({"error": "missing or wrong token"}, status_code=403)
        width, height = await run_in_threadpool(job.folder.size, job.entry(name).photo)
        declared = request.headers.get("content-length", "")
        if not declared.isdigit() or int(declared) != width * height:
            return JSONResponse(
                {"error": f"expected {width}x{height} = {width * height} bytes"}, status_code=400
            )
        body = await request.body()
        if len(body) != width * height:
            return JSONResponse({"error": "body of the wrong size"}, status_code=400)
        mask = np.frombuffer(body, np.uint8).reshape(height, width)
        path = await run_in_threadpool(job.save, name, mask)
        done, left = job.folder.counts()
        return JSONResponse({"saved": path.name, "labelled": done, "left": left})

    async def refused(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=409)

    routes = [
        Route("/", index),
        Route("/api/photos", authorised(photos)),
        Route("/api/photos/{name}/image", authorised(image)),
        Route("/api/photos/{name}/mask", authorised(mask), methods=["GET", "PUT"]),
        Route("/api/photos/{name}/regions", authorised(regions)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
        exception_handlers={DataError: refused},
    )


def _listen(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port))
    except OSError as exc:
        raise ConfigError(
            f"port={port} on host={host}: cannot listen ({exc.strerror}); give another port= "
            "(0: any free one)"
        ) from None


class LabelServer:
    """The page of ``job`` served on ``host``:``port`` (0: any free port).

    ``serve()`` runs until Ctrl+C; ``start()``/``stop()`` (or ``with``) in a thread.

    Example:
        >>> with LabelServer(open_job("Dataset")) as server:   # doctest: +SKIP
        ...     print(server.page_url)

    Raises:
        ConfigError: the port is taken, or the host is not one of this machine's.
    """

    def __init__(self, job: LabelJob, host: str = "127.0.0.1", port: int = 0) -> None:
        self.job = job
        self.token = secrets.token_urlsafe(24)
        self.socket = _listen(host, port)
        self.host, self.port = host, self.socket.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        self.page_url = f"{self.url}?token={self.token}"
        """The address to open: :attr:`url` with the token."""
        hosts = list(LOOPBACK) if host in LOOPBACK else ["*"]
        if host not in LOOPBACK:
            log.warning(
                "warning: listening on %s, not 127.0.0.1: whoever reaches this machine on port "
                "%d can reach it; only the printed address (it carries the token) opens the page, and "
                "HTTP is not encrypted: use it on a network you trust",
                host, self.port,
            )  # fmt: skip
        config = uvicorn.Config(
            create_app(job, self.token, hosts, f"vitiseg-token-{self.port}"), log_level="warning", access_log=False,
            server_header=False, lifespan="off", timeout_graceful_shutdown=2,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def serve(self, on_started: Callable[[], None] | None = None) -> None:
        """Serve in this thread until Ctrl+C (or :meth:`stop` from another thread);
        ``on_started`` is called once the page answers (and Ctrl+C is handled)."""
        if on_started is not None:
            threading.Thread(target=self._when_started, args=(on_started,), daemon=True).start()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self.job.close()

    def _when_started(self, call: Callable[[], None]) -> None:
        while not self._server.started and not self._server.should_exit:
            time.sleep(0.02)
        if self._server.started:
            call()

    def start(self) -> LabelServer:
        """Serve from a thread of this process; returns once the page answers."""
        self._thread = threading.Thread(target=self.serve, name="vitiseg-label", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the labelling server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.socket.close()

    def __enter__(self) -> LabelServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_folder(
    photos: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    announce=print,
    **job_options,
) -> None:
    """Open the labelling job of ``photos`` (:func:`vitiseg.label.job.open_job`'s
    ``job_options``) and serve its page until Ctrl+C; ``announce`` is given the page's
    address and the counts."""
    job = open_job(photos, **job_options)
    server = LabelServer(job, host, port)
    done, left = job.folder.counts()
    queued = sum(e.queued for e in job.entries)
    if job.folder.links_out:
        announce(f"{job.folder.links_out} link(s) to files outside {photos} left out")
    announce(f"{done} photo(s) labelled, {left} left ({queued} in the queue)")
    server.serve(on_started=lambda: announce(f"Labelling page: {server.page_url} (Ctrl+C stops)"))
