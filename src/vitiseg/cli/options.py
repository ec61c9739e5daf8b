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

from vitiseg.config import parse_max_time
from vitiseg.errors import ConfigError
from vitiseg.rules import RUN_NAME, SMOOTHING_DAYS, Range

MISSING_PATH = "/nonexistent/vitiseg-check"


def typed(parse: Callable[[str], object], name: str, bad_values: tuple[str, ...]):
    """``parse`` as an argparse type named ``name``, with values it refuses (for the option walk)."""
    parse.__name__ = name
    parse.bad_values = bad_values
    return parse


def number(kind: type, rule=None) -> Callable[[str], int | float]:
    """An int or float, checked against ``rule`` (a ``vitiseg.rules`` rule, which refuses
    ``nan``, and ``inf`` unless it says what infinity means)."""
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
    if kind is float:
        bad += ("nan",) + (() if getattr(rule, "infinity", "") else ("inf",))
    return typed(parse, kind.__name__, bad)


def _path(must: Callable[[Path], bool], complaint: str, name: str, bad: str):
    def parse(text: str) -> str:
        if not must(Path(text)):
            raise argparse.ArgumentTypeError(f"{text}: {complaint}")
        return text

    return typed(parse, name, (bad,))


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
    try:
        RUN_NAME(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None
    return text


run_name = typed(_run_name, "name", ("a/b", RUN_NAME.violation()))


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated names, none empty")
    return names


names = typed(_names, "names", ("leaf,,wood",))


def integer_list(rule: Range) -> Callable[[str], list[int]]:
    """``128,64,32`` -> [128, 64, 32], each checked against ``rule``."""
    one = number(int, rule)

    def parse(text: str) -> list[int]:
        return [one(part) for part in text.split(",")]

    return typed(parse, "integers", ("a,b", str(rule.violation())))


def _class_map(text: str) -> str:
    integer_list(Range(low=0))(text)
    return text


class_map = typed(_class_map, "class map", ("0,x,2", "0,-1,2"))


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid regular expression: {exc}"
        ) from None
    return text


regex = typed(_regex, "regex", ("([0-9]",))


def _max_time(text: str) -> str:
    try:
        parse_max_time(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"max_time={text!r}: ")) from None
    return text


max_time = typed(_max_time, "time", ("abc", "-5"))


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text.lower())
    if not match or min(int(v) for v in match.groups()) < 64:
        raise argparse.ArgumentTypeError(f"{text!r}: WIDTHxHEIGHT, each at least 64, e.g. 512x384")
    return int(match[1]), int(match[2])


size = typed(_size, "size", ("512", "32x32"))


def _days_or_auto(text: str) -> float | None:
    """``auto`` -> None (chosen from the data), else a smoothing bandwidth in days."""
    return None if text == "auto" else number(float, SMOOTHING_DAYS)(text)


days_or_auto = typed(_days_or_auto, "days", ("abc", "0", "nan", "inf", "1e300"))
