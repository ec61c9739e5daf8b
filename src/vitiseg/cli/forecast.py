"""`vitiseg forecast`: each camera's traits over the next days, with prediction intervals."""

from __future__ import annotations

import argparse
from datetime import date

from vitiseg.cli import options as o
from vitiseg.rules import FORECAST_DAYS, GAP_DAYS, OPEN_SHARE

DESCRIPTION = """\
Forecast each camera's daily traits (leaf cover, LAI estimate, canopy height, porosity,
leaf and inter-row hue, gcc) of a `vitiseg season` folder for the next --days days, each
day with a prediction interval (--ci), into SEASON/forecast.csv (camera, trait, origin,
date, horizon, value, lower, upper, method, note); the season's figures and report.html
show them. The history is the camera's last run of photos (a gap longer than --max-gap
restarts it); fewer than {f.MIN_DAYS} days there give a note instead of a forecast.

Method per trait: exponential smoothing (statsmodels), with a damped trend where it
helps, on the trait's own scale (logit for shares, log for the LAI estimate, the circle for
hues), its parameters chosen by a backtest of two real seasons; intervals from the errors
of the same series' forecasts of its last {f.WINDOW} days (split conformal).
docs/season.md has the figures.

--backtest scores it on this season instead (rolling origin: from every day with at least
{f.MIN_DAYS} days of history, 1 to --days days ahead) against persistence (the last value)
and a straight line through the last {f.TREND_DAYS} days: mean absolute error per trait and
horizon, and how often the bands held the value.

  vitiseg forecast Season2024                 # writes Season2024/forecast.csv
  vitiseg forecast Season2024 --backtest      # prints how well it would have done
  vitiseg season photos/ -o Season2024 --forecast 15   # the season and its forecast"""


class _Help(argparse.RawDescriptionHelpFormatter):
    """Fills ``{f.NAME}`` (:mod:`vitiseg.canopy.forecast`) in the description and the option
    helps, imported (statsmodels) only when the help is shown."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(_filled(text))

    def _expand_help(self, action: argparse.Action) -> str:
        return _filled(super()._expand_help(action))


def _filled(text: str) -> str:
    from vitiseg.canopy import forecast  # statsmodels: only when the help is shown

    return text.format(f=forecast)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day YYYY-MM-DD, got {text!r}") from None


day = o.typed(_day, "day", ("2024-13-01", "yesterday"))


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``vitiseg forecast`` and its options to the sub-commands."""
    S = argparse.SUPPRESS  # unset: the library's defaults apply
    p = sub.add_parser("forecast", formatter_class=_Help, description=DESCRIPTION,
                       help="each camera's traits over the next days, with prediction intervals")  # fmt: skip
    p.add_argument("season", metavar="SEASON", type=o.existing_folder, help="the output folder of `vitiseg season`")  # fmt: skip
    p.add_argument("--days", type=o.number(int, FORECAST_DAYS), default=S,
                   help="days ahead (default: {f.HORIZON})")  # fmt: skip
    p.add_argument("--ci", type=o.number(float, OPEN_SHARE), default=S,
                   help="coverage of the prediction intervals (default: {f.CI:g}, the forecast plus or minus that quantile of its past errors)")  # fmt: skip
    p.add_argument("--max-gap", type=o.number(float, GAP_DAYS), default=S, metavar="DAYS",
                   help="days without a usable photo that restart a camera's history; inf: never "
                   "(default: {f.MAX_GAP:g}, as the season's)")  # fmt: skip
    p.add_argument("--origin", type=day, metavar="YYYY-MM-DD",
                   help="forecast as on this day, from the photos up to it (default: the season's last day)")  # fmt: skip
    p.add_argument("--backtest", action="store_true",
                   help="print how the method would have done on this season, against persistence and a straight line; writes nothing")  # fmt: skip
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``vitiseg forecast``: write (or backtest) the forecast and print it; returns the
    exit code."""
    from vitiseg import season_forecast  # pandas, statsmodels: not at --help time

    chosen = {key: getattr(args, key) for key in ("days", "ci", "max_gap") if hasattr(args, key)}
    if args.backtest:
        summary = season_forecast.backtest_summary(args.season, **chosen)
        for line in summary.lines():
            print(line)
        return 0
    table = season_forecast.forecast_folder(args.season, origin=args.origin, **chosen)
    for line in season_forecast.forecast_lines(table):
        print(line)
    from vitiseg.report.html import report_after  # the report, the layout: not at --help time
    from vitiseg.run import SeasonFolder

    print(f"Forecast in {SeasonFolder(args.season).forecast}; figures/ redrawn")

    report_after(args.season, "forecast")
    return 0
