"""`vitiseg synth`: synthetic vineyard photos with masks."""

from __future__ import annotations

import argparse
from pathlib import Path

from vitiseg.cli import options as o
from vitiseg.rules import AT_LEAST_0, AT_LEAST_1


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``vitiseg synth`` and its options to the sub-commands."""
    p = sub.add_parser(
        "synth",
        help="draw synthetic vineyard photos with masks (demo and test data)",
        description="Write OUT/vineyard_XXX.jpg + _bin.png masks (0 background, 1 leaf, 2 wood) "
        "and OUT/annotations/ colour annotations in the seed's convention.",
    )
    p.add_argument("out", type=o.output_folder, help="output folder")
    p.add_argument(
        "--n", type=o.number(int, AT_LEAST_1), default=40, help="number of photos (default: 40)"
    )
    p.add_argument("--size", type=o.size, default="512x384", help="WIDTHxHEIGHT (default: 512x384)")
    p.add_argument(
        "--seed",
        type=o.number(int, AT_LEAST_0),
        default=0,
        help="same seed, same photos (default: 0)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``vitiseg synth``: write the synthetic photos and masks; returns the exit code."""
    from vitiseg.data.synthetic import write_synthetic  # numpy, OpenCV: not at --help time

    names = write_synthetic(args.out, args.n, args.size, args.seed)
    print(
        f"{len(names)} photos with masks in {args.out}, colour annotations in {Path(args.out) / 'annotations'}"
    )
    return 0
