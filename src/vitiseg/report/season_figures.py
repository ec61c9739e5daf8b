"""Season figures: a panel per trait for one camera, and the cameras' leaf cover together.

Draws what ``season.csv`` and ``transitions.csv`` hold; computes nothing new.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from vitiseg.canopy.circular import angle_difference, around, circular_mean  # noqa: E402
from vitiseg.canopy.trait_table import BY_NAME, DAILY  # noqa: E402
from vitiseg.util.atomic import atomic_path  # noqa: E402

LEVEL_STYLES = {0.10: ":", 0.25: "--", 0.50: "-"}


def figure_name(camera: str) -> str:
    """A file name for the camera's figure (characters other than letters, digits, ``-_.``
    become ``_``)."""
    return re.sub(r"[^\w.-]", "_", camera) + ".png"


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def plot_camera(
    season: pd.DataFrame, transitions: pd.DataFrame, camera: str, path: Path,
    forecast: pd.DataFrame | None = None,
) -> None:  # fmt: skip
    """One panel per trait: daily values (points), smoothed curve (a line per run of days,
    with its bootstrap band where there is one), gaps shaded, transition dates (vertical
    lines with their interval as whiskers), and the ``forecast.csv`` rows given (a dashed
    line with its band); hues drawn around the camera's circular mean, so values on both
    sides of 0/360 stay together."""
    rows = season[season["camera"] == camera]
    traits = [t for t in DAILY if t in set(rows["trait"])]
    columns = 2
    fig, axes = plt.subplots(
        (len(traits) + 1) // columns, columns, figsize=(11, 2.4 * ((len(traits) + 1) // 2)),
        sharex=True, squeeze=False,
    )  # fmt: skip
    for ax, trait in zip(axes.flat, traits, strict=False):
        data = rows[rows["trait"] == trait]
        values, smoothed = data["value"], data["smoothed"]
        if BY_NAME[trait].circular:
            centre = circular_mean(values.to_numpy(float))
            values, smoothed = around(values, centre), around(smoothed, centre)
        ax.plot(data["date"], values, "o", ms=3.5, color="tab:green", label="daily value")
        for number, run in data.assign(smoothed=smoothed).groupby("segment"):
            if number < 0 or run["smoothed"].isna().all():
                continue
            ax.plot(run["date"], run["smoothed"], "-", color="black", lw=1.2,
                    label="smoothed" if number == 0 else None)  # fmt: skip
            if run["lower"].notna().any():
                ax.fill_between(run["date"], run["lower"], run["upper"], color="black",
                                alpha=0.12, lw=0, label="band" if number == 0 else None)  # fmt: skip
        _shade_gaps(ax, data)
        if forecast is not None:
            _draw_forecast(ax, forecast, camera, trait, data)
        for _, t in transitions[
            (transitions["camera"] == camera) & (transitions["trait"] == trait)
        ].iterrows():
            if pd.isna(t["date"]):
                continue
            ax.axvline(t["date"], color="tab:red", lw=0.9, ls=LEVEL_STYLES.get(t["level"], "-"),
                       label=f"{t['level']:.0%} of amplitude {t['date']:%m-%d}")  # fmt: skip
            if pd.notna(t["lower"]):
                ax.errorbar([t["date"]], [t["value"]], fmt="none", ecolor="tab:red", capsize=3,
                            xerr=[[t["date"] - t["lower"]], [t["upper"] - t["date"]]])  # fmt: skip
        ax.set_ylabel(BY_NAME[trait].axis, fontsize=8)
        ax.grid(alpha=0.3)
        if trait in ("leaf_cover", "leaf_gcc"):
            ax.legend(fontsize=6, loc="best")
    for ax in list(axes.flat)[len(traits) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    dropped = int(rows.drop_duplicates("date")["dropped"].sum())
    kept = int(rows.drop_duplicates("date")["photos"].sum())
    fig.suptitle(f"camera {camera}: {kept} photos kept, {dropped} dropped")
    fig.tight_layout()
    _save(fig, path)


def _draw_forecast(ax, forecast: pd.DataFrame, camera: str, trait: str, data: pd.DataFrame) -> None:
    """The camera's forecast of ``trait`` after its curve: a dashed line and its band (a
    hue's around the circular mean its panel is drawn around)."""
    rows = forecast[(forecast["camera"] == camera) & (forecast["trait"] == trait)]
    rows = rows[rows["value"].notna()]
    if rows.empty:
        return
    value, lower, upper = (rows[c].astype(float) for c in ("value", "lower", "upper"))
    if BY_NAME[trait].circular:
        centre = circular_mean(data["value"].to_numpy(float))
        value, lower, upper = (around(value, centre),
                               around(value, centre) - angle_difference(value, lower),
                               around(value, centre) + angle_difference(upper, value))  # fmt: skip
    dates = pd.to_datetime(rows["date"])
    ax.plot(dates, value, "--", color="tab:blue", lw=1.2, label="forecast")
    ax.fill_between(dates, lower, upper, color="tab:blue", alpha=0.18, lw=0, label="forecast band")


def _shade_gaps(ax, data: pd.DataFrame) -> None:
    """Grey spans between runs of days (where no usable photo came for too long)."""
    runs = data[data["segment"] >= 0].groupby("segment")["date"].agg(["min", "max"])
    for end, start in zip(runs["max"].iloc[:-1], runs["min"].iloc[1:], strict=True):
        ax.axvspan(end, start, color="grey", alpha=0.15, lw=0)


def plot_cameras(season: pd.DataFrame, path: Path, trait: str = "leaf_cover") -> None:
    """Every camera's daily values and smoothed curve of one trait on one plot."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    data = season[season["trait"] == trait]
    for i, (camera, rows) in enumerate(data.groupby("camera", sort=True)):
        colour = f"C{i % 10}"
        ax.plot(rows["date"], rows["value"], "o", ms=3, color=colour, alpha=0.6)
        line = rows["smoothed"] if rows["smoothed"].notna().any() else rows["value"]
        ax.plot(rows["date"], line, "-", color=colour, label=camera)
    ax.set_ylabel(BY_NAME[trait].axis if trait in BY_NAME else trait)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.grid(alpha=0.3)
    if data["camera"].nunique() <= 20:
        ax.legend(fontsize=7, ncol=2)
    ax.set_title(f"{BY_NAME[trait].axis if trait in BY_NAME else trait} by camera")
    fig.tight_layout()
    _save(fig, path)
