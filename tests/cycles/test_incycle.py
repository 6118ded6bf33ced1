"""In-cycle forecasts (cycle_kedro.cycles.incycle): survival conditioning and the ovulation rule."""

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.cycles.incycle import (
    INCYCLE_FIELDS,
    expanding_incycle_forecasts,
    fit_incycle_state,
    forecast_current_cycle,
    history_forecast,
    survival_update,
)

from .conftest import INCYCLE_OPTIONS, make_cohort

MOMENTS = ["day1", 14, 21, 28, 35, "overdue", "ovulation"]


def _shrinkage(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.Series, dict]:
    m = train["cycle_length"].mean()
    k = 1.0
    s = test.sort_values(["woman_id", "cycle_index"])
    prior_sum = s.groupby("woman_id")["cycle_length"].cumsum() - s["cycle_length"]
    n = s.groupby("woman_id").cumcount()
    pred = ((prior_sum + k * m) / (n + k)).loc[test.index]
    return pred, {"history_model": "shrinkage", "population_mean": m, "shrinkage_k": k}


@pytest.fixture(scope="module")
def fitted():
    train, test = make_cohort(n_women=120, seed=1), make_cohort(n_women=40, seed=2)
    train_pred, hist = _shrinkage(train, train)
    resid = train.assign(residual=train["cycle_length"] - train_pred)
    state = fit_incycle_state(train, resid[resid["n_prior"] >= 1], INCYCLE_OPTIONS, hist)
    test_pred, _ = _shrinkage(train, test)
    return state, test, test_pred


@pytest.mark.parametrize("seed", range(5))
def test_survival_conditioning_never_moves_forecast_or_interval_earlier(seed):
    rng = np.random.default_rng(seed)
    residuals = np.concatenate([rng.normal(0, 2.5, 400), rng.uniform(10, 60, 12)])
    pred = rng.uniform(24, 34)
    first = survival_update(pred, residuals, 1)
    lo0, hi0 = first[1], first[2]
    assert first[0] == pytest.approx(pred)  # day 1 is the history forecast
    assert lo0 < pred < hi0
    previous = first
    for day in range(2, 120):
        now = survival_update(pred, residuals, day)
        assert now[0] >= previous[0] - 1e-12 and now[1] >= previous[1] and now[2] >= previous[2]
        assert now[0] >= day  # the period has not come by ``day``
        previous = now
    assert previous[0] > pred + 50  # far out, the forecast does move (the test can fail)


def test_survival_interval_keeps_its_coverage_among_cycles_still_running():
    rng = np.random.default_rng(0)
    fitted = rng.uniform(25, 32, 3000)  # calibration forecasts of many women
    calib = (fitted + rng.normal(0, 3, 3000)).round() - fitted  # whole-day lengths - forecast
    pred, day = 28.3, 30
    lengths = (pred + rng.normal(0, 3, 6000)).round()
    running = lengths[lengths >= day]  # cycles still going on day 30
    _, lo, hi = survival_update(pred, calib, day)
    lo, hi = np.ceil(lo), np.floor(hi)  # whole days, as the pipeline reports them
    # conservative: on day 30 a fifth of the running cycles end that day, so the lower end
    # (day 30) cannot exclude a 10% tail
    assert 0.78 <= np.mean((running >= lo) & (running <= hi)) <= 0.92


def test_incycle_forecast_never_uses_information_from_after_its_day(fitted):
    state, test, pred = fitted
    base = expanding_incycle_forecasts(test, pred, state, MOMENTS)
    key = ["woman_id", "cycle_index", "moment"]
    # plant: cycle 5 of every woman becomes 60 days long with ovulation on day 45, and her
    # later cycles change; nothing about cycle 5 after a forecast's day may move that forecast
    planted = test.copy()
    c5 = planted["cycle_index"] == 5
    planted.loc[c5, "cycle_length"] = 60.0
    planted.loc[c5, "ovulation_day"] = 45.0
    later = planted["cycle_index"] > 5
    planted.loc[later, "cycle_length"] += 7
    train = make_cohort(n_women=120, seed=1)
    planted_pred, _ = _shrinkage(train, planted)  # day-1 forecasts redone from the planted table
    moved = expanding_incycle_forecasts(planted, planted_pred, state, MOMENTS)
    b5 = base[base["cycle_index"] == 5].set_index(key)
    m5 = moved[moved["cycle_index"] == 5].set_index(key)
    # forecasts made before the original end and before either ovulation was known
    ov = test.loc[c5].set_index("woman_id")["ovulation_day"]
    known_before = b5.index.get_level_values(0).map(ov).to_numpy() + 1
    same = b5[(b5["day"].to_numpy() < known_before) & (b5.index.get_level_values(2) != "ovulation")]
    cols = ["day", "method", "predicted_length", "lower_80", "upper_80"]
    assert len(same) > 40
    pd.testing.assert_frame_equal(same[cols], m5.loc[same.index, cols])
    earlier = base[base["cycle_index"] < 5].set_index(key)
    pd.testing.assert_frame_equal(earlier[cols], moved.set_index(key).loc[earlier.index, cols])
    # ... while the ovulation forecast, made after day 45, does move (the test can fail)
    ovu = (slice(None), 5, "ovulation")
    assert (m5.loc[ovu, "predicted_length"].to_numpy() > 50).all()


def test_ovulation_rule_is_ovulation_day_plus_luteal_and_beats_history(fitted):
    state, test, pred = fitted
    table = expanding_incycle_forecasts(test, pred, state, MOMENTS)
    err = (table["cycle_length"] - table["predicted_length"]).abs().groupby(table["moment"]).mean()
    assert err["ovulation"] < 0.7 * err["day1"]  # luteal SD ~1.4 d vs cycle SD ~2.2 d
    ovu = table[table["moment"] == "ovulation"].merge(test, on=["woman_id", "cycle_index"])
    luteal = ovu["predicted_length"] - ovu["ovulation_day"]
    assert luteal.between(10, 16).all()
    cover = (ovu["cycle_length_x"] >= ovu["lower_80"]) & (ovu["cycle_length_x"] <= ovu["upper_80"])
    assert cover.mean() == pytest.approx(0.8, abs=0.08)


def test_moments_exist_only_while_the_cycle_is_running(fitted):
    state, test, pred = fitted
    table = expanding_incycle_forecasts(test, pred, state, MOMENTS)
    assert (table["cycle_length"] >= table["day"]).all()
    assert table.loc[table["moment"] == "day1", "method"].eq("history").all()
    d1 = table[table["moment"] == "day1"].set_index(["woman_id", "cycle_index"])
    surv = table[table["method"] == "survival"].set_index(["woman_id", "cycle_index"])
    assert (surv["predicted_length"] >= d1.loc[surv.index, "predicted_length"]).all()
    assert (surv["lower_80"] >= d1.loc[surv.index, "lower_80"]).all()


def test_serving_function_matches_the_table_form(fitted):
    state, test, pred = fitted
    table = expanding_incycle_forecasts(test, pred, state, MOMENTS).set_index(
        ["woman_id", "cycle_index", "moment"]
    )
    woman = test["woman_id"].iloc[0]
    hist = test[(test["woman_id"] == woman) & (test["cycle_index"] < 6)]
    cycle6 = test[(test["woman_id"] == woman) & (test["cycle_index"] == 6)].iloc[0]
    assert history_forecast(hist["cycle_length"], state) == pytest.approx(pred.loc[cycle6.name])
    for moment in ("day1", 14, "ovulation"):
        row = table.loc[(woman, 6, str(moment))]
        ov = cycle6["ovulation_day"]  # used only from the day after it
        got = forecast_current_cycle(state, hist, days_since_start=row["day"], ovulation_day=ov)
        assert set(got) == set(INCYCLE_FIELDS)
        assert got["incycle_predicted_length"] == row["predicted_length"]
        assert (got["incycle_lower_80"], got["incycle_upper_80"]) == (
            row["lower_80"],
            row["upper_80"],
        )
        assert got["incycle_predicted_start_day"] == row["predicted_length"] + 1
