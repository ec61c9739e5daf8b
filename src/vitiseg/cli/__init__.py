"""Command line: ``vitiseg train|evaluate|predict|export|masks|synth``.

Only parses arguments and calls library functions. User mistakes (VitisegError) print one
message and exit with code 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys

from vitiseg import __version__
from vitiseg.cli import evaluate, export, masks, predict, synth, train
from vitiseg.errors import TrainingFault, VitisegError
from vitiseg.quiet import quiet_libraries


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitiseg",
        description="Semantic segmentation of vineyard photographs (leaves, wood, ground...).",
    )
    parser.add_argument("--version", action="version", version=f"vitiseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (train, evaluate, predict, export, masks, synth):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for a relaunch (predict --devices)
    quiet_libraries()
    try:
        return args.handler(args)
    except VitisegError as exc:
        print(f"vitiseg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TrainingFault as exc:
        print(f"vitiseg {args.command}: training stopped: {exc}", file=sys.stderr)
        return 1
