"""Every option of every command refuses a bad value at once: exit 2, one line naming the
option, no traceback, nothing written. The options are read from the parsers themselves,
so an option added without a check fails here."""

import argparse
import re
from pathlib import Path

import pytest

from vitiseg.cli import build_parser, main

FREE_TEXT = {"mask_suffix", "suffix", "strip", "inputs", "image_url", "calibrate", "check"}
"""Options whose every value is acceptable (suffixes, URL prefixes, photos or patterns)."""


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(command words, parser) for every sub-command, nested ones included."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
    for sub in subs:
        for word, child in sub.choices.items():
            yield from commands(child, (*prefix, word))


def bad_values(action: argparse.Action) -> tuple[str, ...]:
    if action.choices:
        return ("no-such-choice",)
    return getattr(action.type, "bad_values", ())


def cases():
    for words, parser in commands(build_parser()):
        for action in parser._actions:
            if action.nargs == 0 or action.dest in ("help", *FREE_TEXT):
                continue
            option = action.option_strings[0] if action.option_strings else None
            earlier = [a for a in parser._actions if not a.option_strings and a.nargs != 0]
            # positionals before this one get a valid value: the current folder
            before = tuple("." for _ in earlier[: earlier.index(action)]) if not option else ()
            for value in bad_values(action) or (None,):
                yield pytest.param((*words, *before), option, action.dest, value,
                                   id=f"{' '.join(words)} {option or action.dest}={value}")  # fmt: skip


CASES = list(cases())


def test_the_walk_covers_every_command():
    walked = {tuple(w for w in case.values[0] if w != ".") for case in CASES}
    assert {("train",), ("evaluate",), ("predict",), ("masks", "convert"), ("synth",)} <= walked
    assert len(CASES) > 60


@pytest.mark.parametrize(("words", "option", "dest", "value"), CASES)
def test_bad_value_is_refused_before_any_work(
    words, option, dest, value, tmp_path, monkeypatch, capsys
):
    assert value is not None, (
        f"{' '.join(words)} {option or dest} takes any value: give it a checking type"
    )
    monkeypatch.chdir(tmp_path)
    argv = [*words, option, value] if option else [*words, value]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    named = option or dest
    assert re.search(rf"argument ({re.escape(named)}|{dest}|[A-Z]+)\b", err), err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "-lr", "-1"], "must be above 0"),
        (["train", "-e", "0"], "must be at least 1"),
        (["predict", "--k", "0"], "must be above 0"),
        (["predict", "--k", "-1"], "must be above 0"),
        (["predict", "x.jpg", "--model", ".", "-o", __file__], "exists and is a file"),
    ],
)
def test_the_red_team_cases_say_what_is_valid(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_good_values_pass(tmp_path: Path):
    parser = build_parser()
    args = parser.parse_args(
        ["train", "-n", "m", "-d", str(tmp_path), "-lr", "1e-3", "--max-time", "20",
         "--decoder-channels", "128,64,32,16,16", "--class-names", "bg, leaf", "--strategy", "ddp"]
    )  # fmt: skip
    assert args.learning_rate == 1e-3
    assert args.decoder_channels == [128, 64, 32, 16, 16]
    assert args.class_names == ["bg", "leaf"]
