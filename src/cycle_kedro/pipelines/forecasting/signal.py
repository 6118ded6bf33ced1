"""Nodes for the multimodal claim: do exogenous features help when (and only when) they matter?

The ``forecasting.signal`` cohort is the synthetic cohort with planted effects on cycle length
(a woman's mean steps shift her mean length; a cycle's P4 shifts the next cycle's length); the
default ``forecasting.synthetic`` cohort has none. ``oracle_planted`` is shrinkage on the lengths
with the planted shift removed, plus the target cycle's planted shift: what a model that knew
the planted effects exactly would do, so its gain over shrinkage is the *expected* gain.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.baselines import (
    estimate_shrinkage_k,
    expanding_baselines,
    population_mean,
)
from cycle_kedro.cycles.metrics import bootstrap_mae_difference
from cycle_kedro.tables import mlflow_metrics

from .folds import by_fold


def predict_oracle(details: pd.DataFrame) -> pd.DataFrame:
    """``oracle_planted`` forecasts when the generator planted steps/P4 effects (no column otherwise).

    Uses the planted shift of the target cycle, which no real model can know: a reference for
    the gain a perfect learner of the planted effects would reach, never a candidate model.
    """
    if "planted_shift" not in details or not details["planted_shift"].fillna(0.0).ne(0.0).any():
        return pd.DataFrame(index=details.index)
    adj = details.assign(cycle_length=details["cycle_length"] - details["planted_shift"])
    parts = []
    for _, train, test in by_fold(adj):
        fc = expanding_baselines(test, population_mean(train), estimate_shrinkage_k(train))
        parts.append(fc["shrinkage"] + test["planted_shift"])
    return pd.concat(parts).loc[details.index].rename("oracle_planted").to_frame()


def _gain(scored: pd.DataFrame, model: str, evaluation: dict[str, Any]) -> dict[str, float]:
    d = bootstrap_mae_difference(
        scored["cycle_length"],
        scored["pred_shrinkage"],
        scored[f"pred_{model}"],
        groups=scored["woman_id"],
        n_boot=int(evaluation["n_boot"]),
        confidence=float(evaluation["confidence"]),
        seed=int(evaluation["seed"]),
    )
    return {"gain": d["diff"], "gain_ci_low": d["ci_low"], "gain_ci_high": d["ci_high"]}


def compare_signal_cohorts(
    signal_predictions: pd.DataFrame,
    nosignal_predictions: pd.DataFrame,
    comparison: dict[str, Any],
) -> pd.DataFrame:
    """MAE gain over shrinkage (shrinkage MAE - model MAE, cluster-bootstrap CI) per model and cohort.

    Positive gain: the model beats shrinkage. ``expected_gain`` is the oracle's gain on the
    signal cohort (0 on the no-signal cohort, where nothing was planted).
    """
    rows = []
    for cohort, preds in (("signal", signal_predictions), ("no signal", nosignal_predictions)):
        scored = preds[preds["evaluated"]]
        oracle = (
            _gain(scored, "oracle_planted", comparison)["gain"]
            if "pred_oracle_planted" in scored
            else 0.0
        )
        for model in comparison["models"]:
            if f"pred_{model}" not in scored:
                continue
            mae = float(np.mean(np.abs(scored["cycle_length"] - scored[f"pred_{model}"])))
            rows.append(
                {
                    "cohort": cohort,
                    "model": model,
                    "n": int(scored[f"pred_{model}"].notna().sum()),
                    "mae": mae,
                    "shrinkage_mae": float(
                        np.mean(np.abs(scored["cycle_length"] - scored["pred_shrinkage"]))
                    ),
                    **_gain(scored, model, comparison),
                    "expected_gain": oracle,
                }
            )
    return pd.DataFrame(rows)


def build_signal_mlflow_metrics(signal_comparison: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{"signal_comparison.<cohort>.<model>.<gain|...>": ...}`` for MLflow."""
    cols = ("gain", "gain_ci_low", "gain_ci_high", "expected_gain", "mae")
    return mlflow_metrics(
        {
            f"{row['cohort'].replace(' ', '_')}.{row['model']}.{c}": row[c]
            for _, row in signal_comparison.iterrows()
            for c in cols
        }
    )
