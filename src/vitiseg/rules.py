"""Rules for option values, kept in one place for the config dataclasses and the CLI.

A rule is called with a value and raises ``ValueError`` saying what would be valid. The
config dataclasses apply rules with :func:`check` (a ``ConfigError`` naming the parameter);
the command line applies the same rules while parsing (``vitiseg.cli.options``), so a bad
value is refused before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from vitiseg.errors import ConfigError


@dataclass(frozen=True)
class Range:
    """``low <= value <= high`` (``<`` on an open side); None leaves that side free.

    Example:
        >>> Range(low=0, low_open=True).describe()
        'must be above 0'
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __call__(self, value: float) -> None:
        """Raise ``ValueError`` (saying what is valid) if ``value`` is out of the range."""
        too_low = self.low is not None and (
            value <= self.low if self.low_open else value < self.low
        )
        too_high = self.high is not None and (
            value >= self.high if self.high_open else value > self.high
        )
        if too_low or too_high:
            raise ValueError(self.describe())

    def describe(self) -> str:
        """What a valid value is, as a message: ``must be above 0``, ``must be in [0, 1)``..."""
        if self.high is None:
            return f"must be {'above' if self.low_open else 'at least'} {self.low}"
        if self.low is None:
            return f"must be {'below' if self.high_open else 'at most'} {self.high}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"must be in {left}{self.low}, {self.high}{right}"

    def violation(self) -> float:
        """A value this rule refuses (for tests that walk every option)."""
        return self.low - 1 if self.low is not None else self.high + 1


@dataclass(frozen=True)
class MultipleOf:
    """A positive multiple of ``step`` (image sides the network can halve five times)."""

    step: int

    def __call__(self, value: int) -> None:
        """Raise ``ValueError`` unless ``value`` is a positive multiple of ``step``."""
        if value < self.step or value % self.step:
            raise ValueError(self.describe())

    def describe(self) -> str:
        """What a valid value is, as a message: ``must be a multiple of 32``."""
        return f"must be a multiple of {self.step}"

    def violation(self) -> int:
        """A value this rule refuses (for tests that walk every option)."""
        return self.step + 1


AT_LEAST_0 = Range(low=0)
AT_LEAST_1 = Range(low=1)
POSITIVE = Range(low=0, low_open=True)
OPEN_SHARE = Range(0, 1, low_open=True, high_open=True)
"""A share strictly between 0 and 1 (a warm-up share, an EMA decay)."""
OVERLAP = Range(0, 1, high_open=True)
SCALE = Range(0, 4, low_open=True)
SIDE = MultipleOf(32)


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
        raise ConfigError(f"{parameter}={value}: {exc}") from None
