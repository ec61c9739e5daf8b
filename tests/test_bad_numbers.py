"""NaN, infinity, text and fractions are refused by the rules themselves: the config
dataclasses, the season's maths and every command's options say which parameter and what
is valid (exit 2 on the command line), and a start that fails leaves no run folder."""

import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_dataset, photo_rows, run_here, tree_snapshot

from vitiseg import season
from vitiseg.canopy import season_curves
from vitiseg.config import InferenceOptions, TrainConfig
from vitiseg.errors import ConfigError
from vitiseg.rules import (
    AT_LEAST_0,
    AT_LEAST_1,
    COUNT,
    GAP_DAYS,
    OPEN_SHARE,
    OVERLAP,
    POSITIVE,
    RANDOM_SEED,
    SCALE,
    SIDE,
    SMOOTHING_DAYS,
    Range,
    check,
)
from vitiseg.training import fit

NAN, INF = float("nan"), float("inf")
NUMBER_RULES = [AT_LEAST_0, COUNT, AT_LEAST_1, POSITIVE, OPEN_SHARE, OVERLAP, SCALE, SIDE,
                RANDOM_SEED, SMOOTHING_DAYS, GAP_DAYS, Range(2, 5)]  # fmt: skip
FUZZ = [NAN, INF, -INF, 1e300, -1e300, "12", "abc", True]
"""Values thrown at every number parameter; ``2.5`` too where a whole number goes."""
FUZZ_TEXT = ["nan", "inf", "-inf", "1e300", "-1e300", "12", "abc", "2.5"]
NUMBER_FIELDS = [f for f in fields(TrainConfig) if f.metadata["kind"] in ("int", "float")]
SEASON_OPTIONS = {"bandwidth": "--smooth-days", "max_gap": "--max-gap", "ci": "--ci"}
DAYS = [f"2024-05-{d:02d}" for d in range(1, 9)]


class Started(Exception):
    """The options were accepted: the job was about to train or write."""


@pytest.fixture
def no_training(monkeypatch):
    """`vitiseg train` stops where training would start (so a wrong acceptance is quick)."""

    def started(config, resume_from=None, overwrite=False):
        raise Started(config)

    monkeypatch.setattr(fit, "train", started)


@pytest.fixture
def no_season_written(monkeypatch):
    """`vitiseg season` stops once the season is computed, before writing it."""

    def started(result, out, forecast=None):
        raise Started(result)

    monkeypatch.setattr(season, "write_season", started)


def config(**changes) -> TrainConfig:
    return TrainConfig(**{"name": "m", "directory": "/data", **changes})


def assert_refused_in_one_line(result, option: str) -> None:
    """Exit 2, one error line naming ``option``, no traceback."""
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1 and option in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def season_photos(days: list[str]) -> pd.DataFrame:
    photos = photo_rows(days, leaf_cover=list(np.linspace(0.1, 0.8, len(days))))
    photos["camera"], photos["date"], photos["dropped"] = "cam", pd.to_datetime(days), ""
    return photos


def predict_folder(folder: Path) -> Path:
    """A canopy.csv as `vitiseg predict` writes it (no photos: use --no-quality-checks)."""
    folder.mkdir()
    season_photos(DAYS).drop(columns=["camera", "date", "dropped"]).to_csv(
        folder / "canopy.csv", index=False
    )
    return folder


# ---- 6. NaN and infinity, refused by the rule ---------------------------------------------


@pytest.mark.parametrize("rule", NUMBER_RULES, ids=str)
def test_range_refuses_nan(rule):
    with pytest.raises(ValueError, match=r"^must be"):
        rule(NAN)


def test_range_refuses_infinity_unless_it_means_something():
    with pytest.raises(ValueError, match=r"^must be a finite number above 0$"):
        POSITIVE(INF)
    with pytest.raises(ValueError, match=r"^must be in \(0, 1\)$"):
        OPEN_SHARE(INF)
    with pytest.raises(ValueError, match=r"^must be above 0"):
        GAP_DAYS(-INF)
    GAP_DAYS(INF)  # never split the curves: said where it is refused or described
    assert GAP_DAYS.describe() == "must be above 0 (inf: never split)"


@pytest.mark.parametrize("value", ["12", "abc", True, None, [1]])
def test_range_refuses_what_is_not_a_number(value):
    with pytest.raises(ValueError, match=r"^must be a number above 0$"):
        POSITIVE(value)


def test_whole_number_rules_refuse_fractions_and_take_any_integer():
    with pytest.raises(ValueError, match=r"^must be a whole number at least 1$"):
        AT_LEAST_1(2.5)
    with pytest.raises(ValueError, match=r"^must be a multiple of 32$"):
        SIDE(64.0)
    AT_LEAST_1(10**400)  # no float conversion on the way
    AT_LEAST_1(np.int64(3))
    POSITIVE(np.float32(0.5))


def test_check_shows_text_values_quoted():
    with pytest.raises(ConfigError, match=r"^epochs='12': must be a whole number at least 1$"):
        check("epochs", "12", AT_LEAST_1)


def test_ema_nan_is_refused_before_training(dataset: Path, tmp_path: Path, no_training):
    out = tmp_path / "out"
    result = run_here("train", "-n", "m", "-d", str(dataset), "-o", str(out), "--ema", "nan")
    assert_refused_in_one_line(result, "--ema")
    assert "must be a number in (0, 1), got nan" in result.stderr
    assert not out.exists()
    with pytest.raises(ConfigError, match=r"^ema=nan: must be a number in \(0, 1\)$"):
        config(ema=NAN)


def test_learning_rate_nan_is_refused_before_training(dataset: Path, tmp_path: Path, no_training):
    out = tmp_path / "out"
    result = run_here("train", "-n", "m", "-d", str(dataset), "-o", str(out), "-lr", "nan")
    assert_refused_in_one_line(result, "-lr/--learning_rate")
    assert not out.exists()
    with pytest.raises(ConfigError, match=r"^learning_rate=nan: must be a number above 0$"):
        config(learning_rate=NAN)
    with pytest.raises(ConfigError, match=r"^learning_rate=inf: must be a finite number above 0$"):
        config(learning_rate=INF)


def test_warmup_nan_is_refused():
    with pytest.raises(ConfigError, match=r"^warmup=nan: must be a number in \(0, 1\)$"):
        config(warmup=NAN)


@pytest.mark.parametrize(
    ("option", "value"),
    [("--ci", "nan"), ("--smooth-days", "nan"), ("--smooth-days", "inf"),
     ("--smooth-days", "1e300"), ("--max-gap", "nan")],
)  # fmt: skip
def test_season_options_refuse_nan_and_infinity(tmp_path: Path, no_season_written, option, value):
    result = run_here("season", str(predict_folder(tmp_path / "pred")), "-o", str(tmp_path / "s"),
                      "--no-quality-checks", option, value)  # fmt: skip
    assert_refused_in_one_line(result, option)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [("bandwidth", NAN, r"bandwidth=nan: must be a number in \(0, 1000\]"),
     ("bandwidth", INF, r"bandwidth=inf: must be in \(0, 1000\]"),
     ("max_gap", NAN, r"max_gap=nan: must be a number above 0 \(inf: never split\)"),
     ("ci", NAN, r"ci=nan: must be a number in \(0, 1\)"),
     ("replicates", 2.5, r"replicates=2.5: must be a whole number at least 1")],
)  # fmt: skip
def test_summarise_refuses_nan_and_infinity(parameter, value, message):
    with pytest.raises(ConfigError, match=f"^{message}$"):
        season_curves.summarise(season_photos(DAYS), **{parameter: value})


def test_max_gap_infinity_means_never_split(tmp_path: Path, no_season_written):
    days = DAYS[:5] + ["2024-07-01", "2024-07-02", "2024-07-03"]  # a 53-day gap
    split = season_curves.summarise(season_photos(days), replicates=5)
    assert any("the curves stop there" in note for note in split.notes)
    whole = season_curves.summarise(season_photos(days), max_gap=INF, replicates=5)
    assert not any("the curves stop there" in note for note in whole.notes)
    assert set(whole.season["segment"]) == {0}
    with pytest.raises(Started):  # the command line takes it too, and says what it means
        run_here("season", str(predict_folder(tmp_path / "pred")), "-o", str(tmp_path / "s"),
                 "--no-quality-checks", "--max-gap", "inf")  # fmt: skip
    assert "inf: never split" in " ".join(run_here("season", "--help").stdout.split())


def test_overlap_nan_is_refused(tmp_path: Path):
    result = run_here("predict", str(tmp_path), "--model", str(tmp_path), "-o",
                      str(tmp_path / "p"), "--overlap", "nan")  # fmt: skip
    assert_refused_in_one_line(result, "--overlap")
    with pytest.raises(ConfigError, match=r"^overlap=nan: must be a number in \[0, 1\)$"):
        InferenceOptions(overlap=NAN)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_k_nan_and_infinity_are_refused(tmp_path: Path, value):
    result = run_here("predict", str(tmp_path), "--model", str(tmp_path), "-o",
                      str(tmp_path / "p"), "--k", value)  # fmt: skip
    assert_refused_in_one_line(result, "--k")
    assert not (tmp_path / "p").exists()


def failing_start(data: Path, out: Path, overwrite: bool = False) -> None:
    """Start a run (FAST_TRAIN's network) with a NaN learning rate slipped past the checks
    (set after the config was made): torch refuses it once the run folder is made."""
    settings = {"encoder": "mobilenet_v2", "encoder_weights": "none", "crop_size": 64,
                "decoder_channels": [16] * 5, "workers": 0, "precision": "32", "epochs": 1,
                "batch_size": 2, "classes": 3}  # fmt: skip
    started = TrainConfig(name="new", directory=str(data), output=str(out), **settings)
    started.learning_rate = NAN
    with pytest.raises(ValueError, match="Invalid learning rate: nan"):
        fit.train(started, overwrite=overwrite)


def test_failed_start_leaves_no_run_folder(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=6)
    out = tmp_path / "out"
    failing_start(data, out)
    assert not out.exists()  # the run folder, and the output folder made for it


def test_failed_start_keeps_earlier_runs(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=6)
    out = tmp_path / "out"
    (out / "earlier" / "checkpoints").mkdir(parents=True)
    (out / "earlier" / "config.yaml").write_text("name: earlier\n")
    before = tree_snapshot(out)
    failing_start(data, out)
    assert tree_snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["earlier"]


def test_failed_start_over_an_earlier_run_keeps_its_folder(tmp_path: Path):
    data = make_dataset(tmp_path / "data", n=6)
    run = tmp_path / "out" / "new"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"earlier")
    failing_start(data, tmp_path / "out", overwrite=True)  # replaced, as asked, then failed
    assert run.is_dir()  # a folder this start did not make is never removed


def test_a_run_without_checkpoint_is_not_offered_for_resume(dataset: Path, tmp_path: Path):
    stopped = tmp_path / "out" / "m"
    stopped.mkdir(parents=True)
    (stopped / "config.yaml").write_text("name: m\n")
    result = run_here("train", "-n", "m", "-d", str(dataset), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "no checkpoint to resume from" in result.stderr and "--overwrite" in result.stderr
    assert "-r -m" not in result.stderr


# ---- 7. TrainConfig checks from Python -----------------------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "..", ".", " ", "/tmp/x", "a\\b"])
def test_train_config_name_cannot_leave_output(name):
    with pytest.raises(ConfigError, match=r"^name='.*': must be a folder name, without /"):
        config(name=name)


@pytest.mark.parametrize("parameter", ["epochs", "batch_size"])
def test_train_config_counts_must_be_whole_numbers(parameter):
    with pytest.raises(ConfigError, match=rf"^{parameter}=2.5: must be a whole number at least 1$"):
        config(**{parameter: 2.5})


def test_train_config_max_time_must_be_text():
    with pytest.raises(ConfigError, match=r"^max_time=5: give text: minutes \('90'\) or DD"):
        config(max_time=5)
    with pytest.raises(ConfigError, match=r"^max_time='abc': give text"):
        config(max_time="abc")
    with pytest.raises(ConfigError, match=r"^max_time='9{20}': at most 999999999 days$"):
        config(max_time="9" * 20)
    assert config(max_time="90").max_time == "90"


def test_train_config_number_given_as_text_is_refused():
    with pytest.raises(ConfigError, match=r"^epochs='12': must be a whole number at least 1$"):
        config(epochs="12")
    with pytest.raises(ConfigError, match=r"^learning_rate='1e-3': must be a number above 0$"):
        config(learning_rate="1e-3")


def test_train_config_class_names_must_be_a_list():
    with pytest.raises(ConfigError, match=r"^class_names='abcde': must be a list of names"):
        config(classes=5, class_names="abcde")
    assert config(classes=2, class_names=("soil", "leaf")).names_of_classes == ("soil", "leaf")


def test_train_config_seed_is_one_numpy_takes():
    with pytest.raises(ConfigError, match=r"^seed=4294967296: must be in \[0, 4294967295\]$"):
        config(seed=2**32)


# ---- fuzz: no traceback, whatever the number --------------------------------------------


def fuzz_values(kind: str) -> list:
    return FUZZ + ([2.5] if kind == "int" else [])


@pytest.mark.parametrize("spec", NUMBER_FIELDS, ids=lambda f: f.name)
def test_fuzz_train_config_numbers(spec):
    for value in fuzz_values(spec.metadata["kind"]):
        try:
            made = config(**{spec.name: value})
        except ConfigError as exc:
            assert str(exc).startswith(f"{spec.name}="), exc
        else:
            assert getattr(made, spec.name) == value


@pytest.mark.parametrize(("parameter", "value"), [
    (name, value) for name, kind in (("tile", "int"), ("overlap", "float"), ("batch_size", "int"))
    for value in fuzz_values(kind)
])  # fmt: skip
def test_fuzz_inference_options(parameter, value):
    with pytest.raises(ConfigError, match=rf"^{parameter}="):
        InferenceOptions(**{parameter: value})


@pytest.mark.parametrize("spec", NUMBER_FIELDS, ids=lambda f: f.name)
def test_fuzz_train_options(dataset: Path, tmp_path: Path, no_training, spec):
    flag = spec.metadata["flags"][-1]
    for value in FUZZ_TEXT:
        try:
            result = run_here("train", "-n", "m", "-d", str(dataset), "-o", str(tmp_path / "o"),
                              flag, value)  # fmt: skip
        except Started as started:  # accepted: training would start, with a finite number
            assert math.isfinite(getattr(started.args[0], spec.name)), value
            continue
        assert_refused_in_one_line(result, flag)


@pytest.mark.parametrize(("parameter", "kind"), [
    ("bandwidth", "float"), ("max_gap", "float"), ("ci", "float"), ("replicates", "int"),
])  # fmt: skip
def test_fuzz_season_numbers(parameter, kind):
    photos = season_photos(DAYS)
    for value in fuzz_values(kind):
        settings = {"replicates": 5, parameter: value}  # few replicates: fast
        try:
            result = season_curves.summarise(photos, **settings)
        except ConfigError as exc:
            assert str(exc).startswith(f"{parameter}="), exc
        else:
            assert result.season["smoothed"].notna().any()


@pytest.mark.parametrize("option", SEASON_OPTIONS.values())
def test_fuzz_season_options(tmp_path: Path, no_season_written, option):
    predicted = predict_folder(tmp_path / "pred")
    for value in FUZZ_TEXT:
        try:
            result = run_here("season", str(predicted), "-o", str(tmp_path / "s"),
                              "--no-quality-checks", option, value)  # fmt: skip
        except Started:  # accepted: the season was computed
            assert value not in ("nan", "-inf"), value
            continue
        assert_refused_in_one_line(result, option)
