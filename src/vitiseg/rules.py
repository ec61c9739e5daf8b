"""Rules for option values, kept in one place for the config dataclasses and the CLI.

A rule is called with a value and raises ``ValueError`` saying what would be valid. The
config dataclasses apply rules with :func:`check` (a ``ConfigError`` naming the parameter);
the command line applies the same rules while parsing (``vitiseg.cli.options``), so a bad
value is refused before any work starts. A number rule refuses what is not a number (text,
``True``), NaN, and infinity unless the rule says what infinity means; a rule of whole
numbers refuses ``2.5``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from vitiseg.errors import ConfigError


def _is_number(value, whole: bool) -> bool:
    """A real number that is not NaN (and not ``True``/``False``); an integer if ``whole``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if isinstance(value, numbers.Integral):  # any size: never NaN (nor a float's infinity)
        return True
    return not whole and not math.isnan(value)


@dataclass(frozen=True)
class Range:
    """``low <= value <= high`` (``<`` on an open side); None leaves that side free.

    ``whole``: integers only (counts, indices). ``infinity``: what an infinite value means,
    where one is allowed (``"never"``); by default a value must be finite. NaN, text and
    booleans are always refused.

    Example:
        >>> Range(low=0, low_open=True).describe()
        'must be above 0'
        >>> Range(low=1, whole=True)(2.5)
        Traceback (most recent call last):
        ValueError: must be a whole number at least 1
        >>> Range(low=0, low_open=True)(float("inf"))
        Traceback (most recent call last):
        ValueError: must be a finite number above 0
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    whole: bool = False
    infinity: str = ""

    def __call__(self, value: float) -> None:
        """Raise ``ValueError`` (saying what is valid) if ``value`` is not a number of the
        range: text, NaN, a fraction where a whole number goes, or infinity where it means
        nothing."""
        bounds = self.describe().removeprefix("must be ")
        if not _is_number(value, self.whole):
            raise ValueError(f"must be a {'whole ' if self.whole else ''}number {bounds}")
        too_low = self.low is not None and (
            value <= self.low if self.low_open else value < self.low
        )
        too_high = self.high is not None and (
            value >= self.high if self.high_open else value > self.high
        )
        if too_low or too_high:
            raise ValueError(self.describe())
        if not isinstance(value, numbers.Integral) and math.isinf(value) and not self.infinity:
            raise ValueError(f"must be a finite number {bounds}")

    def describe(self) -> str:
        """What a valid value is, as a message: ``must be above 0``, ``must be in [0, 1)``...
        (and what infinity means where it is allowed)."""
        meaning = f" (inf: {self.infinity})" if self.infinity else ""
        if self.high is None:
            return f"must be {'above' if self.low_open else 'at least'} {self.low}{meaning}"
        if self.low is None:
            return f"must be {'below' if self.high_open else 'at most'} {self.high}{meaning}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"must be in {left}{self.low}, {self.high}{right}{meaning}"

    def violation(self) -> float:
        """A value this rule refuses (for tests that walk every option)."""
        return self.low - 1 if self.low is not None else self.high + 1


@dataclass(frozen=True)
class MultipleOf:
    """A positive multiple of ``step`` (image sides the network can halve five times)."""

    step: int

    def __call__(self, value: int) -> None:
        """Raise ``ValueError`` unless ``value`` is a positive multiple of ``step``."""
        if not _is_number(value, whole=True) or value < self.step or value % self.step:
            raise ValueError(self.describe())

    def describe(self) -> str:
        """What a valid value is, as a message: ``must be a multiple of 32``."""
        return f"must be a multiple of {self.step}"

    def violation(self) -> int:
        """A value this rule refuses (for tests that walk every option)."""
        return self.step + 1


@dataclass(frozen=True)
class FolderName:
    """A name for a folder inside another (a run inside ``output``): text, not blank,
    without ``/`` or ``\\``, not ``.`` or ``..``, so it cannot lead out of that folder."""

    def __call__(self, value: str) -> None:
        """Raise ``ValueError`` unless ``value`` names a folder inside another."""
        if (
            not isinstance(value, str)
            or not value.strip()
            or any(c in value for c in "/\\\0")
            or value in (".", "..")
        ):
            raise ValueError(self.describe())

    def describe(self) -> str:
        """What a valid value is, as a message."""
        return "must be a folder name, without / or \\ (not . or ..)"

    def violation(self) -> str:
        """A value this rule refuses (for tests that walk every option)."""
        return "../escaped"


@dataclass(frozen=True)
class Names:
    """A list of names (class names), none blank: ``["background", "leaf"]``, not the text
    ``"background,leaf"``."""

    def __call__(self, value: list[str]) -> None:
        """Raise ``ValueError`` unless ``value`` is a list (or tuple) of non-blank texts."""
        if not isinstance(value, list | tuple) or not all(
            isinstance(name, str) and name.strip() for name in value
        ):
            raise ValueError(self.describe())

    def describe(self) -> str:
        """What a valid value is, as a message."""
        return "must be a list of names, none empty (['background', 'leaf'])"

    def violation(self) -> str:
        """A value this rule refuses (for tests that walk every option)."""
        return "background,leaf"


AT_LEAST_0 = Range(low=0)
"""A number at least 0 (a weight decay)."""
COUNT = Range(low=0, whole=True)
"""A whole number at least 0 (a count of processes, a class index)."""
AT_LEAST_1 = Range(low=1, whole=True)
"""A whole number at least 1 (epochs, a batch size)."""
POSITIVE = Range(low=0, low_open=True)
OPEN_SHARE = Range(0, 1, low_open=True, high_open=True)
"""A share strictly between 0 and 1 (a warm-up share, an EMA decay)."""
OVERLAP = Range(0, 1, high_open=True)
SCALE = Range(0, 4, low_open=True)
SIDE = MultipleOf(32)
RANDOM_SEED = Range(0, 2**32 - 1, whole=True)
"""A random seed: what numpy and Lightning take."""
SMOOTHING_DAYS = Range(0, 1000, low_open=True)
"""A smoothing bandwidth in days: smoothed over more than 1000 days, a season's curve is a
straight line already (and the spline's arithmetic overflows long before infinity)."""
GAP_DAYS = Range(low=0, low_open=True, infinity="never split")
"""Days without a photo that split a season's curves; infinity: never split them."""
FORECAST_DAYS = Range(1, 90, whole=True)
"""Days a forecast reaches: beyond a season's third, its intervals stand on too few errors."""
RUN_NAME = FolderName()
NAMES = Names()


def check(parameter: str, value, rule) -> None:
    """Apply ``rule`` to a parameter's value; a ``ConfigError`` naming the parameter if it
    fails (``k=0: must be above 0``; the command line spells it as its flag).

    Example:
        >>> check("k", 0.7, POSITIVE)
        >>> check("k", 0, POSITIVE)
        Traceback (most recent call last):
        vitiseg.errors.ConfigError: k=0: must be above 0
    """
    if value is None:
        return
    try:
        rule(value)
    except ValueError as exc:
        shown = repr(value) if isinstance(value, str) else value
        raise ConfigError(f"{parameter}={shown}: {exc}") from None
