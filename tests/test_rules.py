"""Option value rules: what each accepts, and the parameter named when one fails."""

import pytest

from vitiseg.errors import ConfigError
from vitiseg.rules import AT_LEAST_1, OPEN_SHARE, POSITIVE, SIDE, Range, check


@pytest.mark.parametrize(("rule", "good", "bad"), [
    (POSITIVE, [1e-9, 3], [0, -1]),
    (AT_LEAST_1, [1, 7], [0]),
    (OPEN_SHARE, [0.01, 0.99], [0, 1]),
    (SIDE, [32, 512], [31, 48, 0]),
    (Range(2, 5), [2, 5], [1, 6]),
])  # fmt: skip
def test_each_rule_accepts_and_refuses_what_it_says(rule, good, bad):
    for value in good:
        rule(value)
    for value in [*bad, rule.violation()]:
        with pytest.raises(ValueError, match=r"^must be"):
            rule(value)


def test_check_names_the_parameter_and_skips_none():
    check("epochs", None, AT_LEAST_1)
    with pytest.raises(ConfigError, match=r"^crop_size=48: must be a multiple of 32$"):
        check("crop_size", 48, SIDE)
    assert Range(0, 1, high_open=True).describe() == "must be in [0, 1)"
