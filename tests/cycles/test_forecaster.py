"""The forecaster library: same folds and rows as the forecasting pipeline, clear request errors."""

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.cycles.adherence import adherence_posterior, fit_adherence_model, forecast_as_of
from cycle_kedro.cycles.contracts import NEXT_CYCLE_COLUMNS
from cycle_kedro.cycles.explain import explain_forecast, forecast_answer
from cycle_kedro.cycles.forecaster import (
    EXAMPLE_HISTORIES,
    FORECAST_COLUMNS,
    SKIP_AWARE_COLUMNS,
    fit_forecaster,
    out_of_fold_residuals,
    predict_next,
    validate_histories,
)
from cycle_kedro.pipelines.forecasting.folds import prepare_forecast_frame
from cycle_kedro.pipelines.forecasting.models import predict_baselines
from cycle_kedro.pipelines.forecasting.next_cycle import forecast_next_cycle
from cycle_kedro.validation import DataValidationError

from ..conftest import load_params, make_cycles

FC = load_params("forecasting")["forecasting"]["fedcycle"]
SERVING = load_params("forecasting_training")["forecasting_training"]


@pytest.fixture(scope="module")
def cycles() -> pd.DataFrame:
    df = make_cycles(n_women=40, n_cycles=8, seed=3)
    rng = np.random.default_rng(0)
    return df.assign(
        ovulation_day=np.where(rng.random(len(df)) < 0.8, df["cycle_length"] - 14, np.nan)
    )


def _pipeline_rows(cycles: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The forecasting pipeline's own out-of-fold predictions and next_cycle_forecast rows."""
    frame = prepare_forecast_frame(cycles, FC["evaluation"])
    preds = frame.join(predict_baselines(frame).add_prefix("pred_"))
    return preds, forecast_next_cycle(frame, preds, FC["next_cycle"], FC["intervals"])


def test_out_of_fold_residuals_are_the_pipelines(cycles):
    preds, _ = _pipeline_rows(cycles)
    scored = preds[preds["evaluated"]]
    got = out_of_fold_residuals(cycles, "shrinkage", **SERVING["calibration"])
    want = (scored["cycle_length"] - scored["pred_shrinkage"]).to_numpy()
    np.testing.assert_array_equal(got["residual"].to_numpy(), want)


def test_served_state_reproduces_next_cycle_forecast(cycles):
    _, rows = _pipeline_rows(cycles)
    res = out_of_fold_residuals(cycles, "shrinkage", **SERVING["calibration"])
    state = fit_forecaster(cycles, res, SERVING["forecaster"])
    out = predict_next(state, cycles[["woman_id", "cycle_index", "cycle_length", "ovulation_day"]])
    assert list(out.columns) == list(FORECAST_COLUMNS)
    pd.testing.assert_frame_equal(out[list(NEXT_CYCLE_COLUMNS)], rows, check_exact=True)
    assert (out["incycle_method"] == "history").all()  # day 1, nothing detected
    # day 1: the explanation is the llm corpus's template answer, word for word
    assert out["explanation"].tolist() == [forecast_answer(r) for _, r in out.iterrows()]


def test_example_request_and_incycle_sentence(cycles):
    res = out_of_fold_residuals(cycles, "shrinkage", **SERVING["calibration"])
    state = fit_forecaster(cycles, res, SERVING["forecaster"])
    out = predict_next(state, pd.DataFrame(EXAMPLE_HISTORIES)).set_index("woman_id")
    a, b = out.loc["A"], out.loc["B"]
    assert a["incycle_method"] == "ovulation" and a["ovulation_day"] == 15
    assert (
        "Now that ovulation was detected on day 15, your period is expected on day"
        in a["explanation"]
    )
    start = pd.Timestamp("2026-11-14") + pd.Timedelta(days=a["incycle_predicted_length"])
    assert a["predicted_next_start"] == start.strftime("%Y-%m-%d")
    assert a["next_start_lower_80"] <= a["predicted_next_start"] <= a["next_start_upper_80"]
    assert b["predicted_next_start"] is None and b["incycle_method"] == "history"
    assert explain_forecast(b.to_dict()) == forecast_answer(b.to_dict())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="cycle_length"), "missing required column(s) ['cycle_length']"),
        (lambda d: d.assign(cycle_length=-3.0), "column 'cycle_length' must not be negative"),
        (lambda d: d.assign(cycle_index=1), "'cycle_index' repeats within a woman"),
        (
            lambda d: d.assign(current_cycle_start="soon"),
            "'current_cycle_start' must be an ISO date",
        ),
        (lambda d: d.assign(bmi=500.0), "column 'bmi' must be in"),
    ],
)
def test_bad_requests_name_the_column(change, message):
    with pytest.raises(DataValidationError, match="cycle_histories") as err:
        validate_histories(change(pd.DataFrame(EXAMPLE_HISTORIES)))
    assert message in str(err.value)


def test_serving_parameters_equal_forecastings():
    assert SERVING["forecaster"]["model"] == FC["next_cycle"]["model"]
    assert SERVING["forecaster"]["intervals"] == FC["intervals"]
    ev = FC["evaluation"]
    assert SERVING["calibration"] == {k: ev[k] for k in ("n_folds", "seed", "warmup_cycles")}
    if "incycle" in FC:  # the in-cycle parameters
        inc = {k: FC["incycle"][k] for k in ("history_model", "intervals", "update")}
        assert SERVING["forecaster"]["incycle"] == inc


def test_skip_aware_columns_are_the_adherence_models_answer_on_her_cycle_day(cycles):
    """With a skip-aware model in the state, cycle day d (1 = the period's first day) is d - 1 days
    after the last logged start: the answer is adherence.forecast_as_of's, shifted to cycle days."""
    codes = pd.factorize(cycles["woman_id"], sort=True)[0]
    skip_state = fit_adherence_model(cycles["cycle_length"], codes, {"family": "normal"})
    res = out_of_fold_residuals(cycles, "shrinkage", **SERVING["calibration"])
    state = fit_forecaster(cycles, res, SERVING["forecaster"], skip_aware=skip_state)
    women = sorted(cycles["woman_id"].unique())[:3]
    history = cycles[cycles["woman_id"].isin(women)][["woman_id", "cycle_index", "cycle_length"]]
    days = {women[0]: 1.0, women[1]: 30.0, women[2]: 75.0}
    out = predict_next(state, history.assign(days_since_start=history["woman_id"].map(days)))
    assert list(out.columns) == [*FORECAST_COLUMNS, *SKIP_AWARE_COLUMNS]
    codes = pd.factorize(history["woman_id"], sort=True)[0]
    post, _ = adherence_posterior(skip_state, history["cycle_length"], codes, 3)
    want = forecast_as_of(skip_state, post, np.array([0, 29, 74]))
    np.testing.assert_array_equal(out["skip_aware_start_day"], want["median_gap_days"] + 1)
    np.testing.assert_array_equal(out["skip_aware_start_day_upper_80"], want["hi_gap_days"] + 1)
    np.testing.assert_allclose(out["p_missed_start"], want["p_missed_start"])
    # never before today
    assert (out["skip_aware_start_day_lower_80"] > out["days_since_start"]).all()
    without = predict_next({**state, "skip_aware": None}, history)
    assert list(without.columns) == list(FORECAST_COLUMNS)
