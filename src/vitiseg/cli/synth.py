"""`vitiseg synth`: synthetic vineyard photos with masks."""

from __future__ import annotations

import argparse
from pathlib import Path

from vitiseg.errors import VitisegError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="draw synthetic vineyard photos with masks (demo and test data)",
        description="Write OUT/vineyard_XXX.jpg + _bin.png masks (0 background, 1 leaf, 2 wood) "
        "and OUT/annotations/ colour annotations in the seed's convention.",
    )
    p.add_argument("out", help="output folder")
    p.add_argument("--n", type=int, default=40, help="number of photos (default: 40)")
    p.add_argument("--size", default="512x384", help="WIDTHxHEIGHT (default: 512x384)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same photos (default: 0)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from vitiseg.data.synthetic import write_synthetic

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise VitisegError(f"--size {args.size!r}: expected WIDTHxHEIGHT, e.g. 512x384") from None
    if width < 64 or height < 64 or args.n < 1:
        raise VitisegError("--size must be at least 64x64 and --n at least 1")
    names = write_synthetic(args.out, args.n, (width, height), args.seed)
    print(
        f"{len(names)} photos with masks in {args.out}, colour annotations in {Path(args.out) / 'annotations'}"
    )
    return 0
