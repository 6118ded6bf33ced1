"""Forecasting nodes: folds, no leakage, intervals, metrics table, next-cycle forecast."""

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.cycles.baselines import estimate_shrinkage_k, shrinkage_forecast
from cycle_kedro.pipelines.forecasting.evaluation import (
    add_prediction_intervals,
    build_mlflow_metrics,
    evaluate_forecasts,
)
from cycle_kedro.pipelines.forecasting.folds import prepare_forecast_frame
from cycle_kedro.pipelines.forecasting.models import (
    combine_predictions,
    predict_arima,
    predict_baselines,
    predict_lstm,
    predict_ridge,
)
from cycle_kedro.pipelines.forecasting.next_cycle import forecast_next_cycle
from cycle_kedro.validation import DataValidationError


@pytest.fixture
def frame(cycles, params):
    return prepare_forecast_frame(cycles, params["evaluation"])


def test_folds_hold_out_whole_women(frame, params):
    assert (frame.groupby("woman_id")["fold"].nunique() == 1).all()
    assert set(frame["fold"]) == {0, 1, 2}
    assert (frame["evaluated"] == (frame["n_prior"] >= 1)).all()
    again = prepare_forecast_frame(frame.sample(frac=1, random_state=1), params["evaluation"])
    pd.testing.assert_series_equal(frame["fold"], again["fold"])


def test_bad_input_names_dataset_column_and_row(cycles, params):
    bad = cycles.copy()
    bad.loc[4, "cycle_length"] = -3.0
    with pytest.raises(
        DataValidationError, match=r"test_model_input: column 'cycle_length', row 4"
    ):
        prepare_forecast_frame(bad, params["evaluation"])
    few = cycles[cycles.woman_id.isin(cycles.woman_id.unique()[:2])]
    with pytest.raises(DataValidationError, match="woman_id"):
        prepare_forecast_frame(few, params["evaluation"])
    params["evaluation"]["warmup_cycles"] = 0
    with pytest.raises(ValueError, match="warmup_cycles"):
        prepare_forecast_frame(cycles, params["evaluation"])


def _all_models(frame, params):
    lstm, _ = predict_lstm(frame, params["lstm"])
    return combine_predictions(
        frame,
        predict_baselines(frame),
        predict_arima(frame, params["arima"]),
        predict_ridge(frame, params["ridge"]),
        lstm,
    )


@pytest.mark.slow
def test_planted_target_cycle_cannot_change_its_own_forecast(frame, params):
    """Plant 999 days in one cycle: no model's forecast of that cycle (or earlier ones, or of
    other held-out women in its fold) may move. This fails if the test cycle leaks into training."""
    pytest.importorskip("lightning")
    before = _all_models(frame, params)
    target = frame.index[(frame.cycle_index == 6)][0]
    woman, fold = frame.loc[target, ["woman_id", "fold"]]
    planted = frame.copy()
    planted.loc[target, "cycle_length"] = 999.0
    after = _all_models(planted, params)
    pred_cols = [c for c in before.columns if c.startswith("pred_")]
    assert {"pred_shrinkage", "pred_arima", "pred_ridge", "pred_lstm"} <= set(pred_cols)
    same_woman_upto = (frame.woman_id == woman) & (frame.cycle_index <= 6)
    pd.testing.assert_frame_equal(
        before.loc[same_woman_upto, pred_cols], after.loc[same_woman_upto, pred_cols]
    )
    other_in_fold = (frame.fold == fold) & (frame.woman_id != woman)
    pd.testing.assert_frame_equal(
        before.loc[other_in_fold, pred_cols], after.loc[other_in_fold, pred_cols]
    )
    # sanity: the planted value does reach women of other folds (it is their training data)
    elsewhere = frame.fold != fold
    assert not np.allclose(
        before.loc[elsewhere, "pred_population_mean"], after.loc[elsewhere, "pred_population_mean"]
    )


def _noisy_predictions(n_women=200, n_cycles=8, sigma=2.5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(29, 3, n_women * n_cycles)
    return pd.DataFrame(
        {
            "woman_id": np.repeat([f"{i:012x}" for i in range(n_women)], n_cycles),
            "cycle_index": np.tile(np.arange(1, n_cycles + 1), n_women),
            "fold": np.repeat(np.arange(n_women) % 5, n_cycles),
            "n_prior": np.tile(np.arange(n_cycles), n_women),
            "evaluated": np.tile(np.arange(n_cycles), n_women) >= 1,
            "cycle_length": y,
            "pred_model": y + rng.normal(0, sigma, len(y)),
        }
    )


def test_conformal_intervals_reach_nominal_coverage_with_known_noise(params):
    sigma = 2.5
    pred = _noisy_predictions(sigma=sigma)
    out = add_prediction_intervals(pred, params["intervals"])
    scored = out[out.evaluated]
    inside = (scored.cycle_length >= scored.lo_model) & (scored.cycle_length <= scored.hi_model)
    assert 0.77 <= inside.mean() <= 0.83
    width = (scored.hi_model - scored.lo_model).mean()
    assert width == pytest.approx(2 * 1.2816 * sigma, rel=0.1)


def test_interval_of_a_fold_ignores_that_folds_residuals(params):
    pred = _noisy_predictions()
    base = add_prediction_intervals(pred, params["intervals"])
    spoiled = pred.copy()
    spoiled.loc[spoiled.fold == 2, "pred_model"] += 50.0
    after = add_prediction_intervals(spoiled, params["intervals"])
    f2 = pred.fold == 2
    np.testing.assert_allclose(
        (after.hi_model - after.pred_model)[f2], (base.hi_model - base.pred_model)[f2]
    )
    assert not np.allclose(after.hi_model[~f2], base.hi_model[~f2])


def test_metrics_table_and_mlflow_dict(params):
    pred = _noisy_predictions(sigma=2.0)
    rng = np.random.default_rng(1)
    for name, sd in [("shrinkage", 2.5), ("mean_previous", 3.0), ("lstm", 2.0)]:
        pred[f"pred_{name}"] = pred.cycle_length + rng.normal(0, sd, len(pred))
    pred = add_prediction_intervals(pred.drop(columns="pred_model"), params["intervals"])
    table = evaluate_forecasts(
        pred, params["evaluation"], params["intervals"], params["study_reference"]
    )
    ours = table[table.kind != "study"].set_index("model")
    assert ours.loc["shrinkage", "note"].startswith("best simple baseline")
    assert (ours["reference"] == "shrinkage").all()
    assert ours.loc["lstm", "mae_diff"] < 0 and ours.loc["lstm", "mae_diff_ci_high"] < 0
    assert ours.loc["lstm", "note"].startswith("beats")
    assert ours.loc["lstm", "n"] == pred.evaluated.sum()
    study = table[table.kind == "study"]
    assert list(study.source) == ["study (Fu), not our data"] and study.mae.item() == 3.92
    logged = build_mlflow_metrics(table)
    assert logged["lstm.mae"] == {"value": pytest.approx(ours.loc["lstm", "mae"]), "step": 0}
    assert "LSTM.mae" not in logged and all(set(v) == {"value", "step"} for v in logged.values())


def test_next_cycle_forecast_one_row_per_woman(frame, params):
    preds = add_prediction_intervals(
        combine_predictions(frame, predict_baselines(frame)), params["intervals"]
    )
    out = forecast_next_cycle(frame, preds, params["next_cycle"], params["intervals"])
    assert list(out.columns) == [
        "woman_id",
        "n_cycles_used",
        "last_cycle_length",
        "history_mean",
        "history_sd",
        "predicted_length",
        "lower_80",
        "upper_80",
        "model",
    ]
    assert out.woman_id.is_unique and len(out) == frame.woman_id.nunique()
    row = out.iloc[0]
    hist = frame[frame.woman_id == row.woman_id].sort_values("cycle_index").cycle_length.to_numpy()
    assert row.n_cycles_used == len(hist) and row.last_cycle_length == hist[-1]
    assert row.history_mean == pytest.approx(hist.mean())
    assert row.history_sd == pytest.approx(hist.std(ddof=1))
    assert row.lower_80 < row.predicted_length < row.upper_80
    k = estimate_shrinkage_k(frame)
    assert row.predicted_length == pytest.approx(
        shrinkage_forecast(hist, frame.cycle_length.mean(), k)
    )
    with pytest.raises(ValueError, match="next_cycle.model"):
        forecast_next_cycle(frame, preds, {"model": "lstm"}, params["intervals"])


def test_folds_do_not_depend_on_the_pseudonyms(cycles, params):
    """Every install has its own pseudonym key: the same women must land in the same folds."""
    frame = prepare_forecast_frame(cycles, params["evaluation"])
    ids = frame["woman_id"].unique()
    relabel = dict(zip(ids, [f"{i:012x}" for i in np.random.default_rng(7).permutation(len(ids))], strict=True))
    other = prepare_forecast_frame(
        cycles.assign(woman_id=cycles["woman_id"].map(relabel)), params["evaluation"]
    )
    fold = frame.drop_duplicates("woman_id").set_index("woman_id")["fold"]
    other_fold = other.drop_duplicates("woman_id").set_index("woman_id")["fold"]
    assert (fold.rename(index=relabel).sort_index() == other_fold.sort_index()).all()
