"""The next 15 days of a camera's traits (issue #38): intervals that hold what they say,
hues on the circle, bounds kept, thin or broken histories given a reason or restarted,
nothing depending on the order of the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from vitiseg import season_forecast
from vitiseg.canopy import forecast
from vitiseg.canopy.circular import angle_difference
from vitiseg.errors import ConfigError

DAYS = np.arange(135.0)


def green_up(days: np.ndarray) -> np.ndarray:
    """Leaf cover: 0.05 on bare vines to 0.60, half-way on day 60 (12-day scale)."""
    return 0.05 + 0.55 / (1 + np.exp(-(days - 60) / 12))


def noisy(seed: int, sd: float = 0.03) -> np.ndarray:
    return green_up(DAYS) + np.random.default_rng(seed).normal(0, sd, len(DAYS))


def test_the_80_percent_band_holds_80_percent_of_a_logistic_season_with_known_noise():
    """200 seeded seasons (noise sd 0.03 of leaf cover), backtested from every day with 15
    days of history, 1-15 days ahead: the share of noisy values inside their band. It
    varies with the season's phase (under at the start of the rise, over at its end)."""
    method = (forecast.CHOSEN["leaf_cover"],)
    coverage = [
        forecast.backtest_series(DAYS, noisy(seed), "leaf_cover", method)["inside"].mean()
        for seed in range(200)
    ]
    print(f"coverage over 200 seasons: {np.mean(coverage):.3f}")
    assert 0.75 <= np.mean(coverage) <= 0.85


def test_a_band_from_15_exchangeable_errors_holds_80_percent_not_more():
    """The band's half-width from 15 errors holds a 16th error drawn like them 80 % of the
    time (conformal's 13th smallest would hold it 13 / 16 = 81.25 %)."""
    errors = np.abs(np.random.default_rng(0).standard_t(3, size=(40_000, 16)))
    widths = np.array([forecast._conformal_quantile(row[:15], 0.8) for row in errors])
    held = np.mean(errors[:, 15] <= widths)
    assert abs(held - 0.8) < 0.006, held


def test_the_forecast_of_a_season_holds_its_next_15_noisy_days_80_percent_of_the_time():
    """The same seasons forecast from day 120: the band of each of the next 15 days holds
    the noisy value in 75-85 % of the 200 x 15 cases."""
    inside = []
    for seed in range(200):
        values = noisy(seed)
        made = forecast.forecast_series(DAYS[:120], values[:120], "leaf_cover")
        assert made.ahead.tolist() == list(range(1, 16)) and not made.reason
        inside.append((made.lower <= values[120:]) & (values[120:] <= made.upper))
    assert 0.75 <= np.mean(inside) <= 0.85, np.mean(inside)


def test_a_hue_crossing_0_degrees_is_forecast_on_the_circle():
    """Inter-row hue from 340 deg through 0 to 15 deg: forecasts near the truth in [0, 360),
    never a leap to ~180 deg (the mean of 350 and 10 on a line)."""
    rng = np.random.default_rng(0)
    days = np.arange(40.0)
    truth = (340 + days * 0.9) % 360
    values = (truth + rng.normal(0, 2, len(days))) % 360
    made = forecast.forecast_series(days[:30], values[:30], "inter_row_hue", horizon=10)
    assert ((made.value >= 0) & (made.value < 360)).all()
    assert np.abs(angle_difference(made.value, truth[30:])).max() < 12
    width = angle_difference(made.upper, made.lower)  # the band, the short way round
    assert (width > 0).all() and (width < 90).all()
    inside = (angle_difference(values[30:], made.lower) >= 0) & (angle_difference(made.upper, values[30:]) >= 0)  # fmt: skip
    assert inside.mean() >= 0.7


def test_too_few_days_give_a_reason_instead_of_a_forecast():
    made = forecast.forecast_series(np.arange(10.0), green_up(np.arange(10.0)), "leaf_cover")
    assert not len(made.value)
    assert made.reason == "10 day(s) with a value in its last run of photos, fewer than the 15 a forecast needs"  # fmt: skip


def test_a_gap_longer_than_max_gap_restarts_the_history():
    """40 days, 20 without a photo, then 20: the forecast comes from the last 20 alone
    (what came before the gap changes nothing); with 10 after the gap, a reason."""
    days = np.r_[np.arange(0, 40.0), np.arange(60, 80.0)]
    values = green_up(days)
    made = forecast.forecast_series(days, values, "leaf_cover", max_gap=14)
    assert made.since == 60
    changed = np.where(days < 40, 0.5, values)
    again = forecast.forecast_series(days, changed, "leaf_cover", max_gap=14)
    assert np.array_equal(made.value, again.value) and np.array_equal(made.upper, again.upper)
    joined = forecast.forecast_series(days, changed, "leaf_cover", max_gap=30)
    assert joined.since == 0 and not np.array_equal(joined.value, made.value)
    short = forecast.forecast_series(days[:-10], values[:-10], "leaf_cover", max_gap=14)
    assert short.reason.startswith("10 day(s)") and short.since == 60


def test_the_forecast_does_not_depend_on_the_order_of_the_rows():
    rng = np.random.default_rng(1)
    dates = pd.date_range("2024-04-01", periods=50)
    table = pd.concat(
        pd.DataFrame(
            {
                "camera": camera,
                "date": dates,
                "leaf_cover": noisy(k)[:50],
                "leaf_hue": (350 + rng.normal(0, 5, 50)) % 360,
            }
        )  # fmt: skip
        for k, camera in enumerate(("a", "b"))
    )
    first = season_forecast.forecast(table)
    shuffled = season_forecast.forecast(table.sample(frac=1, random_state=3))
    pd.testing.assert_frame_equal(first, shuffled)
    assert len(first) == 2 * 2 * 15 and set(first["camera"]) == {"a", "b"}


def test_values_and_bands_stay_inside_the_traits_bounds():
    """A cover rising fast to 0.99, another falling to 0.01: forecasts and bands in [0, 1]."""
    days = np.arange(40.0)
    rising = np.clip(0.5 + days * 0.0125, 0, 0.99)
    falling = np.clip(0.5 - days * 0.0125, 0.01, 1)
    for values in (rising, falling):
        made = forecast.forecast_series(days, values, "leaf_cover")
        for column in (made.value, made.lower, made.upper):
            assert ((column >= 0) & (column <= 1)).all()
    lai = forecast.forecast_series(days, np.maximum(2 - days * 0.06, 0.0), "lai_estimate")
    assert (lai.lower >= 0).all() and (lai.value > 0).all()


def test_the_rolling_forecasts_are_statsmodels_own():
    """The filter's state on the last day gives what statsmodels' ``forecast`` gives."""
    run = forecast.Run(0.0, noisy(2)[:60])
    method = forecast.CHOSEN["leaf_cover"]
    z = forecast.to_scale(run.observed, "leaf_cover")
    model = ExponentialSmoothing(z, trend="add", damped_trend=True, initialization_method="known",
                                 initial_level=z[0], initial_trend=0.0)  # fmt: skip
    fitted = model.fit(smoothing_level=method.alpha, smoothing_trend=method.beta,
                       damping_trend=method.phi, optimized=False)  # fmt: skip
    ours = forecast.rolling_forecasts(run, "leaf_cover", method, 15)[-1]
    np.testing.assert_allclose(ours, forecast.from_scale(fitted.forecast(15), "leaf_cover"))


def test_a_forecast_from_a_camera_whose_last_photo_is_older_says_so():
    dates = pd.date_range("2024-05-01", periods=40)
    table = pd.concat([
        pd.DataFrame({"camera": "fresh", "date": dates, "leaf_cover": green_up(np.arange(40.0))}),
        pd.DataFrame({"camera": "stale", "date": dates[:-5], "leaf_cover": green_up(np.arange(35.0))}),
        pd.DataFrame({"camera": "gone", "date": dates[:20], "leaf_cover": green_up(np.arange(20.0))}),
    ])  # fmt: skip
    result = season_forecast.forecast(table, days=15).set_index("camera")
    stale = result.loc["stale"]
    assert stale["horizon"].tolist() == list(range(6, 21))
    assert (stale["date"] == pd.date_range("2024-06-10", periods=15)).all()
    assert "last photo on 2024-06-04, 5 day(s) before the forecast origin 2024-06-09" in stale["note"].iloc[0]  # fmt: skip
    gone = result.loc[["gone"]]
    assert len(gone) == 1 and pd.isna(gone["value"].iloc[0])
    assert "20 days before the forecast origin 2024-06-09 (more than max_gap=14): no forecast" in gone["note"].iloc[0]  # fmt: skip
    assert (result.loc["fresh", "note"] == "").all()


def test_bad_settings_are_refused_with_the_parameter_named():
    table = pd.DataFrame({"camera": "c", "date": pd.date_range("2024-05-01", periods=20), "leaf_cover": 0.2})  # fmt: skip
    with pytest.raises(ConfigError, match="days=0"):
        season_forecast.forecast(table, days=0)
    with pytest.raises(ConfigError, match="ci=1.0"):
        season_forecast.forecast(table, ci=1.0)
    with pytest.raises(ConfigError, match="max_gap=nan"):
        season_forecast.forecast(table, max_gap=float("nan"))
