"""How well `vitiseg forecast` foresees the next 15 days, on the two real daily seasons of
../shared/data/agrocam-vine (cameras 4j7g2wk9 and 79bt3wkh, April-August 2024).

Rolling origin: from every day with at least 15 days of history, each trait's chosen
method and the baselines (persistence, a straight line through the last 15 days) forecast
1 to 15 days ahead; the table gives their mean absolute error (MAE) per trait and
horizon, the chosen method's MAE over persistence's, and how often each 80 % band held the
value. Also the data's author's figure (MSE / 2 of his four traits z-scored, 1-15 days
ahead), to set beside his 0.06-0.07 (LSTM and CNN-LSTM, nicolasgeffroy/agrocam_vine_chara).

    python benchmarks/forecast.py             # the tables of both seasons, the author's figure
    python benchmarks/forecast.py --choose    # the grid that chose each trait's method (20 s)
    python benchmarks/forecast.py --fitted    # statsmodels' fitted model (max. likelihood) instead
    python benchmarks/forecast.py --speed     # a 3-camera, 150-day season forecast, timed
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from common import AGROCAM, ROOT, machine, require
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from vitiseg import season_forecast
from vitiseg.canopy import forecast
from vitiseg.canopy.trait_table import DAILY
from vitiseg.data.photos import parse_name

VITISEG = AGROCAM / "season_2024_canopy.csv"
AUTHOR = AGROCAM / "author_traits_2024.csv"
AUTHOR_COLUMNS = {"H_vigne": "canopy_height", "P_vigne": "porosity", "Hue_vigne": "leaf_hue",
                  "Hue_rang": "inter_row_hue"}  # fmt: skip
AUTHOR_FIGURE = "0.06-0.07 (his LSTM and CNN-LSTM: 15-day periods shuffled between training and test)"  # fmt: skip
GRID = [forecast.Method("damped", a, b, p if b else 1.0)
        for a, b, p in itertools.product((0.2, 0.4, 0.6, 0.8, 1.0), (0.0, 0.02, 0.05, 0.1), (0.8, 0.9, 0.95))
        if b or p == 0.8]  # fmt: skip
"""Exponential smoothing: a level alone (beta 0), or with a trend damped by phi."""


def seasons() -> dict[str, pd.DataFrame]:
    """The two daily seasons as wide tables (camera, date, a column per trait): vitiseg's
    own traits (``canopy.csv`` of a 20-laptop-minute ``--recipe cpu`` model) and the data's
    author's (his definitions: compare shapes, not values)."""
    require(VITISEG, AUTHOR)
    ours = pd.read_csv(VITISEG)
    ours["camera"] = [parse_name(Path(f).stem).camera for f in ours["file"]]
    ours["date"] = pd.to_datetime(ours["datetime"]).dt.normalize()
    his = pd.read_csv(AUTHOR).rename(columns=AUTHOR_COLUMNS)
    his["camera"] = [parse_name(Path(f).stem).camera for f in his["image"]]
    his["date"] = pd.to_datetime(his["time"])
    return {"vitiseg": ours[["camera", "date", *DAILY]],
            "author": his[["camera", "date", *AUTHOR_COLUMNS.values()]]}  # fmt: skip


def tables() -> None:
    """The backtest of both seasons, as docs/season.md shows it."""
    for name, table in seasons().items():
        summary = season_forecast.backtest_summary(table)
        print(f"\n== {name} season: {table['camera'].nunique()} cameras, {len(table)} photo-days ==")  # fmt: skip
        for line in summary.lines():
            print(line)
        print(f"The author's own figure: {AUTHOR_FIGURE}")


def relative_mae(rows: pd.DataFrame, horizons=(7, 15)) -> pd.Series:
    """Each method's MAE over persistence's on the same forecasts, averaged over ``horizons``."""
    rows = rows[rows["horizon"].isin(horizons)]
    mae = (
        rows.assign(absolute=rows["error"].abs()).groupby(["method", "horizon"])["absolute"].mean()
    )
    persistence = mae.xs(forecast.PERSISTENCE.describe("leaf_cover"), level="method")
    return (mae / persistence).groupby("method").mean()


def choose() -> None:
    """Each trait's grid of exponential smoothing settings, ranked by its MAE over
    persistence's at 7 and 15 days (their mean) on the worse of the seasons that have the
    trait (a setting must do on both); and, for the traits of both seasons, the figure on
    one season of the setting best on the other (a check on the choice)."""
    found: dict[str, dict[str, pd.Series]] = {}
    for name, table in seasons().items():
        values = season_forecast.daily_values(table)
        for trait in values["trait"].unique():
            methods = {trait: (*GRID, forecast.PERSISTENCE)}
            rows = season_forecast.backtest(values[values["trait"] == trait], methods=methods)
            found.setdefault(trait, {})[name] = relative_mae(rows)
    for trait in [t for t in DAILY if t in found]:
        scores = pd.DataFrame(found[trait])
        scores["worst"] = scores.max(axis=1)
        scores = scores.sort_values(["worst", *found[trait]])
        chosen = forecast.CHOSEN[trait].describe(trait)
        print(f"\n{trait}: MAE / persistence's, mean of 7 and 15 days (chosen: {chosen})")
        print(scores.head(5).to_string(float_format=lambda v: f"{v:.3f}"))
        if len(found[trait]) == 2:
            for on, other in (("vitiseg", "author"), ("author", "vitiseg")):
                best = scores[on].idxmin()
                print(f"  best on {on} ({best}): {scores.loc[best, other]:.3f} on {other} "
                      f"(its best there {scores[other].min():.3f})")  # fmt: skip


def fitted(every: int = 3) -> None:
    """statsmodels' damped-trend exponential smoothing fitted by maximum likelihood at each
    origin (every ``every``-th, to keep it short) on the trait's scale, against persistence
    and the chosen fixed setting on the same origins: why the parameters are not fitted."""
    for name, table in seasons().items():
        values = season_forecast.daily_values(table)
        for trait in [t for t in ("leaf_cover", "canopy_height") if t in set(values["trait"])]:
            rows = []
            for _, group in values[values["trait"] == trait].dropna().groupby("camera"):
                days = (group["date"] - group["date"].min()).dt.days.to_numpy(float)
                run = forecast.history(days, group["value"].to_numpy(float))[-1]
                chosen = forecast.rolling_forecasts(run, trait, forecast.CHOSEN[trait], 15)
                z = forecast.to_scale(run.filled, trait)
                origins = np.flatnonzero(run.seen & (np.cumsum(run.seen) >= forecast.MIN_DAYS))
                for t in origins[::every]:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        model = ExponentialSmoothing(z[: t + 1], trend="add", damped_trend=True)
                        ahead = forecast.from_scale(model.fit().forecast(15), trait)
                    for h in range(1, 16):
                        if t + h < len(run.observed) and run.seen[t + h]:
                            actual = run.observed[t + h]
                            rows.append((h, abs(ahead[h - 1] - actual), abs(chosen[t, h - 1] - actual),
                                         abs(run.observed[t] - actual)))  # fmt: skip
            frame = pd.DataFrame(rows, columns=["horizon", "fitted", "chosen", "persistence"])
            mae = frame.groupby("horizon").mean().loc[[1, 7, 15]]
            ratios = mae[["fitted", "chosen"]].div(mae["persistence"], axis=0)
            print(f"\n{name} {trait}: MAE over persistence's, every {every}rd origin")
            print(ratios.to_string(float_format=lambda v: f"{v:.3f}"))


def speed(cameras: int = 3, days: int = 150) -> None:
    """A synthetic season (every daily trait, logistic growth with noise) forecast in this
    process and by the command line (imports included)."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-04-01", periods=days)
    growth = 1 / (1 + np.exp(-(np.arange(days) - 60) / 12))
    rows = []
    for c in range(cameras):
        for trait in DAILY:
            scale = 120 if trait.endswith("hue") else 0.6
            noisy = 0.05 + scale * growth + rng.normal(0, 0.02 * scale, days)
            rows.append(pd.DataFrame({"camera": f"cam{c}", "date": dates, "trait": trait,
                                      "value": noisy % 360 if trait.endswith("hue") else noisy.clip(0, 1)}))  # fmt: skip
    table = pd.concat(rows)
    start = time.perf_counter()
    season_forecast.forecast(table)
    inside = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        table.assign(value=table["value"], smoothed=np.nan, lower=np.nan, upper=np.nan,
                     segment=0, photos=1, dropped=0).to_csv(Path(folder) / "season.csv", index=False)  # fmt: skip
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "vitiseg.cli", "forecast", folder], check=True,
                       capture_output=True, cwd=ROOT)  # fmt: skip
        command = time.perf_counter() - start
    print(f"{cameras} cameras x {days} days x {len(DAILY)} traits: forecast {inside:.2f} s in "
          f"Python, {command:.2f} s by `vitiseg forecast` (start-up, figures and page included)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--choose", action="store_true", help="the grid that chose each method")
    parser.add_argument(
        "--fitted", action="store_true", help="statsmodels' own fit, for comparison"
    )
    parser.add_argument("--speed", action="store_true", help="time a 3-camera, 150-day season")
    args = parser.parse_args()
    print(machine())
    if args.choose:
        choose()
    elif args.fitted:
        fitted()
    elif args.speed:
        speed()
    else:
        tables()


if __name__ == "__main__":
    main()
