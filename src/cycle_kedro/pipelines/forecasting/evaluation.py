"""Evaluation nodes of the ``forecasting`` pipeline: intervals, the metrics table, MLflow metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.baselines import BASELINE_MODELS
from cycle_kedro.cycles.intervals import conformal_offsets, interval_band
from cycle_kedro.cycles.metrics import (
    bootstrap_mae_difference,
    interval_coverage,
    regression_metrics,
)
from cycle_kedro.cycles.robust import ROBUST_MODELS
from cycle_kedro.tables import mlflow_metrics

MODEL_KIND = {
    **dict.fromkeys(BASELINE_MODELS, "baseline"),
    "arima": "statistical",
    "ridge": "pooled linear",
    "lstm": "neural",
    "gru": "neural",
    **dict.fromkeys(ROBUST_MODELS, "robust"),
    "selected": "robust (inner-CV rule)",
    "oracle_planted": "oracle (knows the planted effects)",
}


def add_prediction_intervals(predictions: pd.DataFrame, intervals: dict[str, Any]) -> pd.DataFrame:
    """Add split-conformal ``lo_<model>``/``hi_<model>`` for every model; calibrated on other folds only.

    For fold *f* the residual quantiles come from scored rows of the other folds in the same
    band of earlier cycles (``n_prior_bands``), or from all their rows when a band has fewer
    than ``min_calibration`` residuals.
    """
    out = predictions.copy()
    cov, min_cal = float(intervals["coverage"]), int(intervals["min_calibration"])
    band = interval_band(out["n_prior"], list(intervals["n_prior_bands"]))
    for m in model_names(out):
        resid = out["cycle_length"] - out[f"pred_{m}"]
        lo, hi = np.full(len(out), np.nan), np.full(len(out), np.nan)
        for f in out["fold"].unique():
            calib = (
                (out["fold"] != f).to_numpy()
                & out["evaluated"].to_numpy()
                & resid.notna().to_numpy()
            )
            for b in np.unique(band):
                target = (out["fold"] == f).to_numpy() & (band == b)
                use = calib & (band == b) if (calib & (band == b)).sum() >= min_cal else calib
                q_lo, q_hi = conformal_offsets(resid[use], cov)
                lo[target], hi[target] = q_lo, q_hi
        out[f"lo_{m}"] = out[f"pred_{m}"] + lo
        out[f"hi_{m}"] = out[f"pred_{m}"] + hi
    return out


def model_names(predictions: pd.DataFrame) -> list[str]:
    """Return the models of a predictions table (its ``pred_<model>`` columns), in column order."""
    return [c[5:] for c in predictions.columns if c.startswith("pred_")]


def _model_row(scored: pd.DataFrame, m: str, ref: str, evaluation: dict[str, Any]) -> dict:
    y, p = scored["cycle_length"], scored[f"pred_{m}"]
    row = {"model": m, "kind": MODEL_KIND.get(m, "other"), **regression_metrics(y, p)}
    row["n_women"] = int(scored.loc[p.notna(), "woman_id"].nunique())
    diff = bootstrap_mae_difference(
        y,
        p,
        scored[f"pred_{ref}"],
        groups=scored["woman_id"],
        n_boot=int(evaluation["n_boot"]),
        confidence=float(evaluation["confidence"]),
        seed=int(evaluation["seed"]),
    )
    row.update(
        reference=ref,
        mae_diff=diff["diff"],
        mae_diff_ci_low=diff["ci_low"],
        mae_diff_ci_high=diff["ci_high"],
    )
    if f"lo_{m}" in scored:
        row["interval_coverage"] = interval_coverage(y, scored[f"lo_{m}"], scored[f"hi_{m}"])
        row["interval_width"] = float((scored[f"hi_{m}"] - scored[f"lo_{m}"]).mean())
    return row


def _note(row: dict, shrink: dict | None) -> str:
    if row["kind"] != "neural" or shrink is None:
        return ""
    verdict = (
        "beats" if row["mae"] < shrink["mae"] and row["rmse"] < shrink["rmse"] else "does not beat"
    )
    return f"{verdict} the shrinkage baseline (MAE {row['mae']:.2f} vs {shrink['mae']:.2f})"


def evaluate_forecasts(
    predictions: pd.DataFrame,
    evaluation: dict[str, Any],
    intervals: dict[str, Any],
    study_reference: dict[str, Any],
) -> pd.DataFrame:
    """Score every model on the scored cycles; add the MAE difference vs the best simple baseline.

    The best baseline is the simple baseline with the lowest MAE; ``mae_diff < 0`` means the
    model beats it, with a woman-level cluster-bootstrap CI. The study's Table 1 numbers are
    appended as separate rows with ``source`` "study (Fu), not our data".
    """
    scored = predictions[predictions["evaluated"]]
    models = model_names(scored)
    maes = {
        m: np.mean(np.abs(scored["cycle_length"] - scored[f"pred_{m}"]))
        for m in BASELINE_MODELS
        if m in models
    }
    ref = min(maes, key=maes.get)
    rows = [_model_row(scored, m, ref, evaluation) for m in models]
    shrink = next((r for r in rows if r["model"] == "shrinkage"), None)
    for r in rows:
        r["note"] = "best simple baseline (reference)" if r["model"] == ref else _note(r, shrink)
        r["source"] = f"our data: {evaluation.get('cohort', '')}".strip()
        r["interval_nominal"] = float(intervals["coverage"])
    study = pd.DataFrame(study_reference["rows"]).assign(
        source=study_reference["label"], kind="study", note=study_reference["note"]
    )
    table = pd.concat([pd.DataFrame(rows), study], ignore_index=True)
    table[["n", "n_women"]] = table[["n", "n_women"]].astype("Int64")
    first = ["source", "model", "kind", "n", "n_women", "mse", "mae", "rmse", "r2"]
    return table[first + [c for c in table.columns if c not in first]]


MLFLOW_COLUMNS = (
    "n",
    "mse",
    "mae",
    "rmse",
    "r2",
    "mae_diff",
    "mae_diff_ci_low",
    "mae_diff_ci_high",
    "interval_coverage",
    "interval_width",
)


def build_mlflow_metrics(forecast_metrics: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Turn our rows of the metrics table into ``{"<model>.<metric>": {"value", "step"}}`` entries."""
    ours = forecast_metrics[forecast_metrics["kind"] != "study"]
    return mlflow_metrics(
        {
            f"{row['model']}.{c}": row[c]
            for _, row in ours.iterrows()
            for c in MLFLOW_COLUMNS
            if c in row and pd.notna(row[c])
        }
    )
