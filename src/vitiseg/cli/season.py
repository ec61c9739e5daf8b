"""`vitiseg season`: follow each camera through the season."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vitiseg.canopy.roles import roles_from_names, roles_note
from vitiseg.cli import model_options as m
from vitiseg.cli import options as o
from vitiseg.cli.inference import (
    add_canopy_options,
    add_inference_options,
    inference_options,
    role_classes,
)
from vitiseg.errors import ConfigError
from vitiseg.rules import FORECAST_DAYS, GAP_DAYS, OPEN_SHARE, SMOOTHING_DAYS

SHOWN = 30
"""Dropped photos printed; photos.csv lists them all."""
DESCRIPTION = """\
Group the photos of a `vitiseg predict` output folder (its canopy.csv) by camera and day,
drop photos that fail the quality checks, take each trait's daily median, smooth it over
the season and date when leaf cover and leaf gcc pass 10, 25 and 50 % of their amplitude,
with an interval (--ci, from a residual bootstrap of the spline). Gaps longer than
--max-gap days split the curves; a crossing in a gap, before the first or after the last
photo gets its reason instead of a date. Writes OUT/season.csv, transitions.csv,
photos.csv (every photo, why it was dropped), figures/ and report.html (docs/season.md).

Quality checks: too dark (mean grey < {q.DARK:g}/255), over-exposed (more than
{q.OVEREXPOSED:.0%} of pixels >= {q.WHITE}), blurred (sharpness < {q.BLUR:g} x the camera's
median), camera moved (view shifted more than {q.MOVED:.0%} of the width from the closest
of the camera's last three photos).

  vitiseg season photos/ -o Season2024      # predicts with the bundled vineyard model first
  vitiseg season photos/ --model Result/Modele_1 -o Season2024   # your model; rerun to update
  vitiseg season Season2024/predictions -o Season2024/again     # a `vitiseg predict` folder
  vitiseg season labeled/ --masks --class-names background,leaf,inter-row,pipe,trunk -o S"""


class _Help(argparse.RawDescriptionHelpFormatter):
    """Fills ``{q.NAME}`` (:mod:`vitiseg.data.photo_quality`) and ``{c.NAME}``
    (:mod:`vitiseg.canopy.season_curves`) in the description and option helps with the
    season's thresholds and defaults, imported (pandas, scipy) only when the help is shown."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(_filled(text))

    def _expand_help(self, action: argparse.Action) -> str:
        return _filled(super()._expand_help(action))


def _filled(text: str) -> str:
    from vitiseg.canopy import season_curves, transitions  # heavy: only when the help is shown
    from vitiseg.data import photo_quality

    return text.format(q=photo_quality, c=season_curves, t=transitions)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``vitiseg season`` and its options to the sub-commands."""
    S = argparse.SUPPRESS  # unset: the library's defaults apply
    p = sub.add_parser("season", formatter_class=_Help, description=DESCRIPTION,
                       help="per camera and day: quality checks, daily traits, smoothed curves, transition dates")  # fmt: skip
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="photos, folders or patterns (predicted first, by --model or the bundled model); "
                   "one output folder of `vitiseg predict`; with --masks, folders of NAME.jpg + NAME_bin.png")  # fmt: skip
    p.add_argument("-o", "--output", required=True, type=o.output_folder, help="folder for the season files")  # fmt: skip
    p.add_argument("--camera-from", choices=("name", "folder"), default="name",
                   help="camera = the file name's part before its date (default), or the photo's folder")  # fmt: skip
    p.add_argument("--camera", metavar="REGEX", type=o.regex, help="camera = this regex's first group in the file name")  # fmt: skip
    p.add_argument("--date-from", choices=("auto", "mtime"), default="auto",
                   help="day from the EXIF date, else the date in the name (auto), or the file's time")  # fmt: skip
    p.add_argument("--no-quality-checks", dest="quality_checks", action="store_false", help="keep every photo (the checks read each photo's thumbnail)")  # fmt: skip
    p.add_argument("--smooth-days", dest="bandwidth", default=S, type=o.days_or_auto, metavar="DAYS",
                   help=f"smoothing spline bandwidth in days (at most {SMOOTHING_DAYS.high:g}), or 'auto' "
                   "(generalised cross-validation) (default: {c.SMOOTH_DAYS:g})")  # fmt: skip
    p.add_argument("--max-gap", type=o.number(float, GAP_DAYS), default=S, metavar="DAYS",
                   help="days without a usable photo that split the curves; a transition in such a gap "
                   "is reported as such, not dated; inf: never split (default: {c.MAX_GAP:g}, as phenocamr)")  # fmt: skip
    p.add_argument("--ci", type=o.number(float, OPEN_SHARE), default=S,
                   help="coverage of the transition dates' intervals, from a residual bootstrap of the "
                   "spline ({c.REPLICATES} seeded replicates, corrected for the smoothing's shift; "
                   "default: {c.CI:g}, the 10 %% to 90 %% quantiles), and of the forecast's")  # fmt: skip
    p.add_argument("--forecast", type=o.number(int, FORECAST_DAYS), metavar="DAYS",
                   help="also forecast each camera's traits for the next DAYS days, with prediction "
                   "intervals, into OUT/forecast.csv and the figures (as `vitiseg forecast OUT`)")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an earlier season in -o")
    g = p.add_argument_group("from photos (--model) or from masks already made (--masks)")
    g.add_argument("--model", type=m.model, help="predict the photos with this model first, into OUT/predictions: "
                   "a run or model folder, or vineyard, the model that ships with vitiseg (the "
                   "default when INPUT is photos rather than a `vitiseg predict` folder)")  # fmt: skip
    g.add_argument("--masks", action="store_true", help="INPUTs hold photos with masks: measure those")  # fmt: skip
    g.add_argument("--mask-suffix", help="with --masks: mask name = photo name + suffix")
    g.add_argument("--class-names", type=o.names, help="with --masks: the mask values' names, e.g. background,leaf,wood")  # fmt: skip
    g.add_argument("--recursive", action="store_true", help="with --model: look in sub-folders")
    add_canopy_options(g)
    add_inference_options(p)
    p.set_defaults(handler=run)


def _table(args: argparse.Namespace, out: Path):
    from vitiseg import season  # pandas, torch: not at --help time
    from vitiseg.engine.loaded import Model

    if args.model and args.masks:
        raise ConfigError("give either --model (predict the photos) or --masks, not both")
    if _predicts(args):
        if args.model is None:
            print(m.bundled_note())
        model = Model(args.model, inference_options(args), args.leaf_class, args.k, role_classes(args))  # fmt: skip
        args.predicted_by = str(model.directory.resolve())
        if note := roles_note(model.roles, model.class_names):
            print(f"note: {note}")
        table, report = season.predict_table(
            model, args.inputs, out, args.recursive, args.overwrite
        )
        print(f"{report.done} photo(s) predicted, {report.skipped} already done, "
              f"{len(report.failed)} unreadable, into {out / 'predictions'}")  # fmt: skip
        for _, message in report.failed:
            print(f"  skipped: {message}")
        args.unreadable = report.failed  # listed in photos.csv
        return table
    if args.masks:
        season.require_class_names(args.class_names)
        roles = roles_from_names(args.class_names, args.leaf_class, **role_classes(args))
        if note := roles_note(roles, args.class_names):
            print(f"note: {note}")
        return season.masks_table(args.inputs, args.class_names, roles, args.k, out, args.mask_suffix)  # fmt: skip
    return season.read_predictions(args.inputs[0])


def _predicts(args: argparse.Namespace) -> bool:
    """Whether the season starts by predicting its photos: ``--model`` given, or photos
    given without ``--masks`` (with the bundled model) rather than one predict folder."""
    from vitiseg.run import PredictFolder  # yaml, config: not at --help time

    given_predictions = (
        len(args.inputs) == 1 and PredictFolder(Path(args.inputs[0])).table.is_file()
    )
    return bool(args.model) or not (args.masks or given_predictions)


def run(args: argparse.Namespace) -> int:
    """Run ``vitiseg season``: summarise, print and write the season; returns the exit code."""
    from vitiseg import season  # pandas, torch: not at --help time
    from vitiseg.canopy import season_curves

    out = Path(args.output)
    chosen = {
        key: getattr(args, key) for key in ("bandwidth", "max_gap", "ci") if hasattr(args, key)
    }
    season.check_output(out, args.overwrite, update=_predicts(args))
    table = _table(args, out)
    photos, notes = season.prepare(
        table, args.camera_from, args.camera, args.date_from, args.quality_checks
    )
    result = season_curves.summarise(photos, **chosen)
    ci = chosen.get("ci", season_curves.CI)
    unreadable = getattr(args, "unreadable", [])
    result.photos = season.with_unreadable(result.photos, unreadable)
    forecast = None
    if args.forecast:
        from vitiseg import season_forecast  # statsmodels: only with --forecast

        settings = {key: value for key, value in chosen.items() if key in ("max_gap", "ci")}
        forecast = season_forecast.forecast(result.season, args.forecast, **settings)
    season.write_season(result, out, forecast)
    dropped = photos[photos["dropped"] != ""]
    days = result.season.drop_duplicates(["camera", "date"])
    print(f"{len(photos)} photo(s), {photos['camera'].nunique()} camera(s), {len(days)} "
          f"camera-days; {len(dropped)} photo(s) dropped by the quality checks")  # fmt: skip
    for file, reason in list(zip(dropped["file"], dropped["dropped"], strict=True))[:SHOWN]:
        print(f"  dropped {file}: {reason}")
    if len(dropped) > SHOWN:
        print(f"  ... and {len(dropped) - SHOWN} more, all in {out / 'photos.csv'}")
    for row in result.transitions.itertuples():
        print(f"  {row.camera} {row.trait}: {season.transition_text(row, ci)}")
    if forecast is not None:
        print(f"Forecast of the next {args.forecast} days:")
        for line in season_forecast.forecast_lines(forecast):
            print(line)
    for note in notes + result.notes:
        print(f"note: {note}")
    print(f"Season in {out}: season.csv, transitions.csv, photos.csv, figures/")
    from vitiseg.report.facts import read_facts  # the report: not at --help time
    from vitiseg.report.html import report_after

    predicted = None if args.masks else read_facts(args.inputs[0]).get("predict", {}).get("model")
    model = getattr(args, "predicted_by", None) or predicted  # whose trait errors the page shows
    report_after(out, "season", {"model": str(Path(model).resolve())} if model else None)
    if unreadable:
        print(f"{len(unreadable)} photo(s) could not be read: listed in {out / 'photos.csv'}",
              file=sys.stderr)  # fmt: skip
    return 1 if unreadable else 0
