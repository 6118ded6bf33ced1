"""statsforecast ARIMA wrapper: fallback for short series, earlier cycles only."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("statsforecast")

from cycle_kedro.cycles.arima import expanding_arima, forecast_series  # noqa: E402


def test_forecast_series_fallback_for_short_series():
    rng = np.random.default_rng(0)
    long_y = 30 + np.sin(np.arange(20)) + rng.normal(0, 0.3, 20)
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": "long", "ds": np.arange(1, 21), "y": long_y}),
            pd.DataFrame({"unique_id": "short", "ds": [1, 2, 3], "y": [26.0, 28.0, 33.0]}),
        ]
    )
    out = forecast_series(df, h=2, min_length=6).set_index(["unique_id", "step"])
    assert out.loc[("short", 1), "model"] == "fallback_mean"
    assert out.loc[("short", 2), "forecast"] == pytest.approx(29.0)
    assert out.loc[("long", 1), "model"] == "arima"
    assert abs(out.loc[("long", 1), "forecast"] - long_y.mean()) < 3
    assert forecast_series(df.iloc[:0]).empty


def test_ar1_forecast_tracks_persistent_series():
    """An AR(1) series far above its mean should be forecast above the mean."""
    rng = np.random.default_rng(2)
    y = np.empty(60)
    y[0] = 0
    for t in range(1, 60):
        y[t] = 0.8 * y[t - 1] + rng.normal(0, 1)
    y = y + 30
    y[-1] = 38.0
    fc = forecast_series(pd.DataFrame({"unique_id": "a", "ds": np.arange(60), "y": y}))
    assert fc["forecast"].item() > y.mean() + 2


def test_expanding_arima_uses_only_earlier_cycles(fed_like):
    base = expanding_arima(fed_like, min_prior=1, min_length=4)
    first = fed_like.groupby("woman_id").cumcount() == 0
    assert base.loc[first, "arima"].isna().all()
    assert base.loc[~first, "arima"].notna().all()
    # plant a huge value in one woman's 5th cycle: forecasts up to and including it stay put
    planted = fed_like.copy()
    woman = planted.loc[planted.cycle_index == 6, "woman_id"].iloc[0]
    planted.loc[(planted.woman_id == woman) & (planted.cycle_index == 5), "cycle_length"] = 500.0
    after = expanding_arima(planted, min_prior=1, min_length=4)
    upto = (planted.woman_id == woman) & (planted.cycle_index <= 5)
    np.testing.assert_allclose(after.loc[upto, "arima"], base.loc[upto, "arima"])
    nxt = (planted.woman_id == woman) & (planted.cycle_index == 6)
    assert after.loc[nxt, "arima"].item() > base.loc[nxt, "arima"].item() + 10
