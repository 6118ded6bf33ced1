"""Robust models and the selection rule, in-cycle forecasts, the current cycle, the signal oracle."""

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.cycles.incycle import INCYCLE_FIELDS
from cycle_kedro.cycles.robust import ROBUST_MODELS
from cycle_kedro.pipelines.forecasting.current_cycle import (
    add_current_cycle_fields,
    current_cycle_status,
    fit_cohort_incycle_state,
)
from cycle_kedro.pipelines.forecasting.folds import attach_cycle_details, prepare_forecast_frame
from cycle_kedro.pipelines.forecasting.incycle_evaluation import evaluate_incycle, predict_incycle
from cycle_kedro.pipelines.forecasting.model_selection import predict_robust, select_cohort_model
from cycle_kedro.pipelines.forecasting.models import combine_predictions, predict_baselines
from cycle_kedro.pipelines.forecasting.next_cycle import forecast_next_cycle
from cycle_kedro.pipelines.forecasting.signal import compare_signal_cohorts, predict_oracle
from tests.conftest import make_cycles

from .conftest import PARAMS


def _with_ovulation(cycles: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    luteal = np.clip(np.round(rng.normal(13, 1.2, len(cycles))), 9, 17)
    return cycles.assign(ovulation_day=cycles["cycle_length"] - luteal)


@pytest.fixture(scope="module")
def cohort():
    cycles = _with_ovulation(make_cycles(n_women=24, n_cycles=7, seed=4))
    frame = prepare_forecast_frame(cycles, PARAMS["evaluation"])
    details = attach_cycle_details(frame, cycles)
    robust, _ = predict_robust(frame, PARAMS["robust"])
    preds = combine_predictions(frame, predict_baselines(frame), robust)
    return cycles, frame, details, preds


def test_cycle_details_keep_the_frame_and_add_ovulation(cohort):
    cycles, frame, details, _ = cohort
    assert details.index.equals(frame.index)
    pd.testing.assert_frame_equal(details[frame.columns], frame)
    keys = ["woman_id", "cycle_index"]
    merged = frame[keys].merge(cycles[[*keys, "ovulation_day"]], on=keys)
    assert details["ovulation_day"].to_numpy() == pytest.approx(merged["ovulation_day"].to_numpy())
    assert "planted_shift" not in details


def test_selection_rule_never_sees_the_test_fold(cohort):
    _, frame, _, _ = cohort
    _, log = predict_robust(frame, PARAMS["robust"])
    planted = frame.copy()
    planted.loc[planted["fold"] == 0, "cycle_length"] = 100.0  # fold 0's women change entirely
    moved_pred, moved_log = predict_robust(planted, PARAMS["robust"])
    pd.testing.assert_series_equal(log.iloc[0], moved_log.iloc[0])  # fold 0's choice and scores
    assert not log.iloc[1].equals(moved_log.iloc[1])  # fold 1 trains on fold 0 (can fail)
    assert set(log["chosen"]) <= set(PARAMS["robust"]["selection"]["candidates"])
    assert set(ROBUST_MODELS) | {"selected"} == set(moved_pred.columns)


def test_incycle_forecasts_of_a_fold_use_other_folds_only(cohort):
    _, _, details, preds = cohort
    base = predict_incycle(details, preds, PARAMS["incycle"])
    planted = details.copy()
    # every fold-0 cycle after the 3rd becomes 60 days long with a late ovulation
    late = (planted["fold"] == 0) & (planted["cycle_index"] > 3)
    planted.loc[late, ["cycle_length", "ovulation_day"]] = [60.0, 45.0]
    moved = predict_incycle(planted, preds, PARAMS["incycle"])
    key = ["woman_id", "cycle_index", "moment"]
    early = base[(base["fold"] == 0) & (base["cycle_index"] <= 3)].set_index(key)
    cols = ["day", "method", "predicted_length", "lower_80", "upper_80"]
    pd.testing.assert_frame_equal(early[cols], moved.set_index(key).loc[early.index, cols])
    other = base[base["fold"] == 1].set_index(key)
    assert not other[cols].equals(moved.set_index(key).loc[other.index, cols])  # can fail


def test_incycle_table_per_moment(cohort):
    _, _, details, preds = cohort
    table = evaluate_incycle(
        predict_incycle(details, preds, PARAMS["incycle"]), PARAMS["incycle"], PARAMS["evaluation"]
    )
    assert table["moment"].tolist()[:2] == ["day1", "14"]
    assert "ovulation" in set(table["moment"])
    day1 = table.set_index("moment").loc["day1"]
    assert day1["mae_vs_day1"] == 0.0
    assert day1["n"] == len(details) - details["woman_id"].nunique()
    ovu = table.set_index("moment").loc["ovulation"]
    assert ovu["mae"] < day1["mae"] and ovu["mae_vs_day1_ci_high"] < 0
    big = table["n"] >= 50  # moments late in the cycle have few cycles in this small cohort
    assert big.sum() >= 3 and table.loc[big, "interval_coverage"].between(0.65, 0.95).all()


def test_next_cycle_forecast_gains_current_cycle_fields(cohort):
    _, frame, details, preds = cohort
    base = forecast_next_cycle(frame, preds, PARAMS["next_cycle"], PARAMS["intervals"])
    state = fit_cohort_incycle_state(
        details, preds, select_cohort_model(frame, PARAMS["robust"]), PARAMS["incycle"]
    )
    status = current_cycle_status(frame)
    out = add_current_cycle_fields(base, details, state, status)
    pd.testing.assert_frame_equal(out[base.columns], base)  # existing columns unchanged
    assert set(INCYCLE_FIELDS) <= set(out.columns)
    assert (out["days_since_start"] == 1).all() and out["ovulation_day"].isna().all()
    assert (out["incycle_predicted_length"] == base["predicted_length"].round()).all()
    # the same woman on day 20 with ovulation detected on day 15: ovulation + her luteal length
    woman = status["woman_id"].iloc[0]
    later = status.assign(days_since_start=20.0, ovulation_day=15.0)
    row = add_current_cycle_fields(base, details, state, later).set_index("woman_id").loc[woman]
    assert row["incycle_method"] == "ovulation"
    assert 15 + 9 <= row["incycle_predicted_length"] <= 15 + 17
    assert row["incycle_lower_80"] <= row["incycle_predicted_length"] <= row["incycle_upper_80"]
    assert row["incycle_predicted_start_day"] == row["incycle_predicted_length"] + 1


def test_oracle_only_when_effects_were_planted_and_it_gains(cohort):
    cycles, frame, details, preds = cohort
    assert predict_oracle(details).columns.empty
    rng = np.random.default_rng(1)
    shift = rng.normal(0, 3, len(cycles))
    planted_cycles = cycles.assign(
        cycle_length=(cycles["cycle_length"] + shift).round().clip(15, 60), planted_shift=shift
    )
    planted_frame = prepare_forecast_frame(planted_cycles, PARAMS["evaluation"])
    planted = attach_cycle_details(planted_frame, planted_cycles)
    oracle = predict_oracle(planted)
    preds = combine_predictions(planted_frame, predict_baselines(planted_frame), oracle)
    table = compare_signal_cohorts(
        preds, preds, {**PARAMS["evaluation"], "models": ["oracle_planted"]}
    )
    assert (table["gain"] > 0.5).all() and (table["gain_ci_low"] > 0).all()
    assert table["expected_gain"].to_numpy() == pytest.approx(table["gain"].to_numpy())
