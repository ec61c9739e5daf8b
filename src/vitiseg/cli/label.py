"""`vitiseg label`: label photos in the browser, starting from the model's guess."""

from __future__ import annotations

import argparse
import contextlib
import re
import socket

from vitiseg.cli import model_options as m
from vitiseg.cli import options as o
from vitiseg.errors import ConfigError
from vitiseg.rules import AT_LEAST_1, Range

DEFAULT_PORT = 8765
PORT = Range(low=0, high=65535, whole=True)


def _host(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.:\-]+", text):
        raise argparse.ArgumentTypeError(f"{text!r}: give an address such as 127.0.0.1 or 0.0.0.0")
    return text


host = o.typed(_host, "host", ("no host",))


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``vitiseg label`` and its options to the sub-commands."""
    p = sub.add_parser(
        "label",
        help="label photos in the browser, starting from the model's guess",
        description="Serve a page on 127.0.0.1 that opens the photos of PHOTOS without a mask "
        "(the most uncertain first when a model gives pre-labels, else in name order), each "
        "with the model's classes drawn over it, to correct with region clicks, a brush, fill "
        "and erase. Saving writes NAME_bin.png beside the photo (or in --mask-dir): what "
        "`vitiseg train -d PHOTOS` reads. Photos that have a mask follow, to correct.",
    )
    p.add_argument("photos", type=o.existing_folder, metavar="PHOTOS", help="folder of photos")
    p.add_argument(
        "--model",
        type=m.model,
        help="the model whose masks the photos start from: " + m.BUNDLED_HELP + ", where "
        "installed (else the masks start empty)",
    )
    p.add_argument(
        "--no-model", action="store_true", help="start from empty masks, photos in name order"
    )
    p.add_argument(
        "--select",
        type=o.number(int, AT_LEAST_1),
        metavar="K",
        help="queue only the K photos most worth labelling (spread over cameras and days, "
        "as `vitiseg predict --select K`; without a model: the first K by name)",
    )
    p.add_argument(
        "--class-names",
        type=o.names,
        help="comma-separated class names (default: the model's, else classes.txt beside the masks)",
    )
    p.add_argument(
        "--mask-dir",
        type=o.output_folder,
        help="folder for the masks, same names (default: beside the photos)",
    )
    p.add_argument(
        "--host",
        type=host,
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; another one warns)",
    )
    p.add_argument(
        "--port",
        type=o.number(int, PORT),
        help=f"port (default: {DEFAULT_PORT}, or a free one if it is taken; 0: a free one)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``vitiseg label``: serve the page until Ctrl+C; returns the exit code."""
    from vitiseg.label import serve_folder  # Starlette, uvicorn, torch: not at --help time

    if args.no_model and args.model:
        raise ConfigError(f"model={args.model} and no_model=True: give one of them")
    port = args.port
    if port is None:
        port = DEFAULT_PORT if _free(args.host, DEFAULT_PORT) else 0
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C: the way to stop the page
        serve_folder(
            args.photos, args.host, port, announce=_say,
            model=None if args.no_model else (args.model or m.BUNDLED),
            mask_dir=args.mask_dir, class_names=args.class_names, select=args.select,
        )  # fmt: skip
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


def _free(address: str, port: int) -> bool:
    try:
        socket.create_server((address, port)).close()
    except OSError:
        return False
    return True
