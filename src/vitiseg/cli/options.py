"""Argument types that check each option's value while the command line is parsed.

A bad value ends the command before any work starts, with argparse's one-line message
naming the option and exit code 2. Number rules are those of ``vitiseg.rules``, shared
with the config dataclasses. Each type carries ``bad_values``: values it refuses, so a
test can walk every option of every command.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

from vitiseg.rules import POSITIVE, Range

MISSING_PATH = "/nonexistent/vitiseg-check"


def _typed(parse: Callable[[str], object], name: str, bad_values: tuple[str, ...]):
    parse.__name__ = name
    parse.bad_values = bad_values
    return parse


def number(kind: type, rule=None) -> Callable[[str], int | float]:
    """An int or float, checked against ``rule`` (a ``vitiseg.rules`` rule)."""
    what = "a whole number" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if rule is not None:
            try:
                rule(value)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(f"{exc}, got {text}") from None
        return value

    bad = ("abc",) + ((str(kind(rule.violation())),) if rule is not None else ())
    return _typed(parse, kind.__name__, bad)


def _path(must: Callable[[Path], bool], complaint: str, name: str, bad: str):
    def parse(text: str) -> str:
        if not must(Path(text)):
            raise argparse.ArgumentTypeError(f"{text}: {complaint}")
        return text

    return _typed(parse, name, (bad,))


existing_path = _path(Path.exists, "no such file or folder", "path", MISSING_PATH)
existing_folder = _path(Path.is_dir, "no such folder", "folder", MISSING_PATH)
existing_file = _path(Path.is_file, "no such file", "file", MISSING_PATH)
output_folder = _path(
    lambda p: not p.exists() or p.is_dir(),
    "exists and is a file; give a folder",
    "folder",
    __file__,
)
output_file = _path(
    lambda p: not p.is_dir() and p.parent.is_dir(),
    "give a file name in an existing folder",
    "file",
    str(Path(__file__).parent),
)


def _run_name(text: str) -> str:
    if not text.strip() or "/" in text or "\\" in text or text in (".", ".."):
        raise argparse.ArgumentTypeError(f"{text!r}: a name, without / or \\")
    return text


run_name = _typed(_run_name, "name", ("a/b",))


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated names, none empty")
    return names


names = _typed(_names, "names", ("leaf,,wood",))


def integer_list(rule: Range) -> Callable[[str], list[int]]:
    """``128,64,32`` -> [128, 64, 32], each checked against ``rule``."""
    one = number(int, rule)

    def parse(text: str) -> list[int]:
        return [one(part) for part in text.split(",")]

    return _typed(parse, "integers", ("a,b", str(rule.violation())))


def _class_map(text: str) -> str:
    integer_list(Range(low=0))(text)
    return text


class_map = _typed(_class_map, "class map", ("0,x,2", "0,-1,2"))


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid regular expression: {exc}"
        ) from None
    return text


regex = _typed(_regex, "regex", ("([0-9]",))


def _max_time(text: str) -> str:
    from vitiseg.config import parse_max_time
    from vitiseg.errors import ConfigError

    try:
        parse_max_time(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--max-time {text!r}: ")) from None
    return text


max_time = _typed(_max_time, "time", ("abc", "-5"))


def _device(text: str) -> str:
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r}: give auto, cpu, cuda, cuda:N or mps")
    return text


device = _typed(_device, "device", ("gpu7",))


def _strategy(text: str) -> str:
    from lightning.pytorch.strategies import StrategyRegistry

    known = ["auto", *StrategyRegistry.available_strategies()]
    if text not in known:
        raise argparse.ArgumentTypeError(f"{text!r}: choose one of {', '.join(sorted(known))}")
    return text


strategy = _typed(_strategy, "strategy", ("no-such-strategy",))


def _architecture(text: str) -> str:
    from vitiseg.engine.network import ARCHITECTURES

    if text not in ARCHITECTURES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: choose from {', '.join(sorted(ARCHITECTURES))}"
        )
    return text


architecture = _typed(_architecture, "architecture", ("NoSuchNet",))


def _encoder(text: str) -> str:
    from vitiseg.engine.network import encoder_problem

    problem = encoder_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


encoder = _typed(
    _encoder, "encoder", ("no-such-encoder", "tu-no-such-model", "tu-vit_tiny_patch16_224")
)


def _encoder_weights(text: str) -> str:
    if text in ("imagenet", "none") or Path(text).is_file():
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: give imagenet, none, or an existing weights file")


encoder_weights = _typed(_encoder_weights, "weights", (MISSING_PATH,))


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text.lower())
    if not match or min(int(v) for v in match.groups()) < 64:
        raise argparse.ArgumentTypeError(f"{text!r}: WIDTHxHEIGHT, each at least 64, e.g. 512x384")
    return int(match[1]), int(match[2])


size = _typed(_size, "size", ("512", "32x32"))


def _days_or_auto(text: str) -> float | None:
    """``auto`` -> None (chosen from the data), else a positive number of days."""
    return None if text == "auto" else number(float, POSITIVE)(text)


days_or_auto = _typed(_days_or_auto, "days", ("abc", "0"))


def _flag(action: argparse.Action) -> str:
    """The spelling of an option users read: its long form named like its parameter."""
    long = [s for s in action.option_strings if s.startswith("--")]
    named = [s for s in long if s[2:].replace("-", "_") == action.dest]
    return (named or long or action.option_strings)[0]


_PARAMETER = re.compile(
    r"(?<![\w.-])([a-z][a-z0-9_]*)=('[^']*'|\"[^\"]*\"|(?:[^\s,;:)?]|,(?=\S))+)?"
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
