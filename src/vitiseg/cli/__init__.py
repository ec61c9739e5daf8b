"""Command line: ``vitiseg train|evaluate|predict|season|forecast|report|export|masks|synth|label``.

Only parses arguments and calls library functions. User mistakes (VitisegError, and a
folder that cannot be written: read-only, not the user's, full) print one message and exit
with code 2; no traceback. Library messages name Python parameters
(``leaf_class=9``); they are printed with the command's flags (``--leaf-class 9``).
"""

from __future__ import annotations

import argparse
import errno
import logging
import re
import sys

from tqdm import tqdm

from vitiseg import __version__
from vitiseg.cli import (
    evaluate,
    export,
    forecast,
    label,
    masks,
    predict,
    report,
    season,
    synth,
    train,
)
from vitiseg.errors import TrainingFault, VitisegError
from vitiseg.util.quiet import quiet_libraries

CANNOT_WRITE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}
"""Errors of a folder the user gave that cannot be written (read-only, not theirs, full):
one line naming the file, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The ``vitiseg`` argument parser, with every command's sub-parser."""
    parser = argparse.ArgumentParser(
        prog="vitiseg",
        description="Semantic segmentation of vineyard photographs (leaves, wood, ground...).",
    )
    parser.add_argument("--version", action="version", version=f"vitiseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (
        train,
        evaluate,
        predict,
        season,
        forecast,
        report,
        export,
        masks,
        synth,
        label,
    ):
        command.add_parser(sub)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Give each (sub-)sub-command's parser to its own namespace, to spell errors in its flags."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                child.set_defaults(parser=child)
                _remember_parsers(child)


def _flag(action: argparse.Action) -> str:
    """The spelling of an option users read: its long form named like its parameter."""
    long = [s for s in action.option_strings if s.startswith("--")]
    named = [s for s in long if s[2:].replace("-", "_") == action.dest]
    return (named or long or action.option_strings)[0]


_PARAMETER = re.compile(
    r"(?<![\w./\\-])([a-z][a-z0-9_]*)=('[^']*'|\"[^\"]*\"|(?:[^\s,;:)?]|,(?=\S))+)?"
)


def in_flags(message: str, parser: argparse.ArgumentParser) -> str:
    """``message`` with the Python parameters it names (``leaf_class=9``, ``overwrite=True``,
    a bare ``mask_dir=``) spelt as ``parser``'s options (``--leaf-class 9``, ``--overwrite``,
    ``--mask-dir``); names that are not options stay as they are.

    Example:
        >>> p = argparse.ArgumentParser(); _ = p.add_argument("--leaf-class", type=int)
        >>> _ = p.add_argument("--no-checks", dest="checks", action="store_false")
        >>> in_flags("leaf_class=9: not a class (see leaf_class=); n=2; checks=False", p)
        '--leaf-class 9: not a class (see --leaf-class); n=2; --no-checks'
    """

    def spell(match: re.Match) -> str:
        name, value = match[1], match[2]
        same = [a for a in parser._actions if a.option_strings and a.dest == name]
        switch = next((a for a in same if a.nargs == 0 and str(a.const) == value), None)
        taking = next((a for a in same if a.nargs != 0), None)
        if switch is not None:
            return _flag(switch)
        if taking is None:
            return match[0]
        return _flag(taking) if value is None else f"{_flag(taking)} {value}"

    return _PARAMETER.sub(spell, message)


class _AroundProgressBars(logging.Handler):
    """vitiseg's messages as plain lines on stdout, written above any progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        tqdm.write(self.format(record), file=sys.stdout)


def show_messages() -> None:
    """Show the library's INFO messages (the command line's choice; Python users choose)."""
    logger = logging.getLogger("vitiseg")
    if not any(isinstance(h, _AroundProgressBars) for h in logger.handlers):
        logger.addHandler(_AroundProgressBars())
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (2 for a bad option, as argparse exits)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a bad option already explained
        return exit_.code
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for a relaunch (predict --devices)
    show_messages()
    try:
        with quiet_libraries():
            return args.handler(args)
    except VitisegError as exc:
        print(f"vitiseg {args.command}: error: {in_flags(str(exc), args.parser)}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in CANNOT_WRITE:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"vitiseg {args.command}: error: {where}{exc.strerror}", file=sys.stderr)
        return 2
    except TrainingFault as exc:
        print(
            f"vitiseg {args.command}: training stopped: {in_flags(str(exc), args.parser)}",
            file=sys.stderr,
        )
        return 1
