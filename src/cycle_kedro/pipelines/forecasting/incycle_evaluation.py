"""In-cycle evaluation nodes of the ``forecasting`` pipeline: the forecast that updates as the cycle goes on.

For every scored cycle of fold *f*, the population state (calibration residuals of the day-1
model, luteal model, the ovulation rule's residuals) is fitted on the other folds' women only;
the cycle's own length and ovulation day enter only through what is known on the forecast day
(:func:`cycle_kedro.cycles.incycle.expanding_incycle_forecasts`). The day-1 forecast is the
out-of-fold forecast of ``incycle.history_model`` from ``forecast_predictions``.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from cycle_kedro.cycles.incycle import expanding_incycle_forecasts, fit_incycle_state
from cycle_kedro.cycles.metrics import bootstrap_mae_difference, regression_metrics
from cycle_kedro.tables import mlflow_metrics

from .folds import KEYS

logger = logging.getLogger(__name__)


def day1_forecast(details: pd.DataFrame, predictions: pd.DataFrame, model: str) -> pd.Series:
    """The out-of-fold day-1 forecast ``pred_<model>`` of every cycle of ``details`` (same index)."""
    col = f"pred_{model}"
    if col not in predictions:
        raise KeyError(f"incycle.history_model {model!r}: forecast_predictions has no {col}")
    pred = details[KEYS].merge(predictions[[*KEYS, col]], on=KEYS, how="left")[col]
    return pd.Series(pred.to_numpy(), index=details.index)


def incycle_options(incycle: dict[str, Any]) -> dict[str, Any]:
    """The library's in-cycle options: ``incycle.intervals`` and ``incycle.update`` in one dict."""
    return {**incycle["intervals"], **incycle["update"]}


def _moments(incycle: dict[str, Any]) -> list:
    lo, hi, step = incycle["curve_days"]
    curve = [d for d in range(int(lo), int(hi) + 1, int(step)) if d > 1]
    table = [m for m in incycle["moments"] if m not in curve]
    return table + curve


def predict_incycle(
    details: pd.DataFrame, predictions: pd.DataFrame, incycle: dict[str, Any]
) -> pd.DataFrame:
    """Forecast every scored cycle at every moment (table moments and the curve's days), out of fold.

    Returns one row per (cycle, moment at which the cycle is still running): keys, ``fold``,
    ``n_prior``, ``moment``, ``day``, ``method``, ``predicted_length``, ``lower_80``,
    ``upper_80``, ``cycle_length``, and ``day1_length`` (the day-1 forecast of the same cycle).
    """
    model = incycle["history_model"]
    pred = day1_forecast(details, predictions, model)
    resid = details["cycle_length"] - pred
    parts = []
    for f in sorted(details["fold"].unique()):
        is_test = (details["fold"] == f).to_numpy()
        train, test = details[~is_test], details[is_test]  # test: all her cycles, scored ones forecast
        calib = train[train["evaluated"]].assign(residual=resid[train.index[train["evaluated"]]])
        state = fit_incycle_state(train, calib, incycle_options(incycle), {"history_model": model})
        table = expanding_incycle_forecasts(test, pred.loc[test.index], state, _moments(incycle))
        parts.append(table.assign(fold=int(f)))
        logger.info("fold %d: luteal model %s", f, state["luteal_model"])
    out = pd.concat(parts, ignore_index=True)
    extra = details[[*KEYS, "n_prior"]].assign(day1_length=pred)
    return out.merge(extra, on=KEYS, how="left")


def _moment_row(part: pd.DataFrame, evaluation: dict[str, Any]) -> dict[str, Any]:
    y, p = part["cycle_length"], part["predicted_length"]
    m = regression_metrics(y, p)
    diff = bootstrap_mae_difference(
        y,
        p,
        part["day1_length"].round(),
        groups=part["woman_id"],
        n_boot=int(evaluation["n_boot"]),
        confidence=float(evaluation["confidence"]),
        seed=int(evaluation["seed"]),
    )
    cover = (y >= part["lower_80"]) & (y <= part["upper_80"])
    methods = part["method"].value_counts(normalize=True)
    return {
        "n": m["n"],
        "n_women": int(part["woman_id"].nunique()),
        "mae": m["mae"],
        "rmse": m["rmse"],
        "interval_coverage": float(cover.mean()),
        "interval_width": float((part["upper_80"] - part["lower_80"]).mean()),
        "mae_vs_day1": diff["diff"],
        "mae_vs_day1_ci_low": diff["ci_low"],
        "mae_vs_day1_ci_high": diff["ci_high"],
        "share_ovulation_rule": float(methods.get("ovulation", 0.0)),
        "mean_day": float(part["day"].mean()),
    }


def evaluate_incycle(
    incycle_predictions: pd.DataFrame, incycle: dict[str, Any], evaluation: dict[str, Any]
) -> pd.DataFrame:
    """MAE / RMSE / 80% coverage of the predicted start per forecast moment (the in-cycle table).

    ``mae_vs_day1`` is the moment's MAE minus that of the day-1 forecast (whole days) on the
    same cycles, with a woman-level cluster-bootstrap CI (negative: the update helps).
    """
    rows = []
    for moment in [str(m) for m in incycle["moments"]]:
        part = incycle_predictions[incycle_predictions["moment"] == moment]
        if part.empty:
            continue
        rows.append(
            {
                "cohort": evaluation.get("cohort", ""),
                "moment": moment,
                "history_model": incycle["history_model"],
                **_moment_row(part, evaluation),
            }
        )
    table = pd.DataFrame(rows)
    table[["n", "n_women"]] = table[["n", "n_women"]].astype("Int64")
    return table


INCYCLE_MLFLOW = ("n", "mae", "rmse", "interval_coverage", "interval_width", "mae_vs_day1")


def build_incycle_mlflow_metrics(incycle_metrics: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{"incycle.<moment>.<metric>": {"value", "step"}}`` for every row of the in-cycle table."""
    return mlflow_metrics(
        {
            f"incycle.{row['moment']}.{c}": row[c]
            for _, row in incycle_metrics.iterrows()
            for c in INCYCLE_MLFLOW
            if pd.notna(row[c])
        }
    )
