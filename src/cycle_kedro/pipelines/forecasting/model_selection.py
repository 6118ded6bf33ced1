"""Model-selection nodes of the ``forecasting`` pipeline: the robust candidates and the rule that picks a cohort's model.

The robust models (:mod:`cycle_kedro.cycles.robust`) are fitted on the other folds' women, like
every model here. ``selected`` is the *rule* fixed in parameters (``robust.selection``): for each
outer fold, the candidate with the lowest inner women-held-out CV error on that fold's training
women; the test fold is never looked at. The same rule on the whole cohort gives the model the
in-cycle forecasts of a cohort may use (``incycle.history_model: selected``).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from cycle_kedro.cycles.baselines import (
    estimate_shrinkage_k,
    expanding_baselines,
    population_mean,
)
from cycle_kedro.cycles.robust import (
    ROBUST_MODELS,
    expanding_robust_forecasts,
    fit_robust_state,
    select_model_inner_cv,
)
from cycle_kedro.tables import mlflow_metrics

from .folds import by_fold

logger = logging.getLogger(__name__)


def _forecasts(
    train: pd.DataFrame, test: pd.DataFrame, robust: dict[str, Any], models
) -> pd.DataFrame:
    """Forecasts of ``test`` from earlier cycles by ``models``, population fitted on ``train``."""
    out = expanding_robust_forecasts(
        test,
        fit_robust_state(train, robust["options"]),
        models=[m for m in models if m in ROBUST_MODELS],
    )
    base = expanding_baselines(test, population_mean(train), estimate_shrinkage_k(train))
    for m in models:
        if m not in out:
            out[m] = base[m]
    return out[list(models)]


def _candidates(train: pd.DataFrame, test: pd.DataFrame, robust: dict[str, Any]) -> pd.DataFrame:
    """Every candidate's forecast of ``test`` from earlier cycles, population fitted on ``train``."""
    return _forecasts(train, test, robust, list(robust["selection"]["candidates"]))


def _select(train: pd.DataFrame, robust: dict[str, Any]) -> tuple[str, dict[str, float]]:
    sel = robust["selection"]
    if sel["rule"] != "inner_cv":
        raise ValueError(f"robust.selection.rule must be 'inner_cv', got {sel['rule']!r}")
    return select_model_inner_cv(
        train,
        lambda a, b: _candidates(a, b, robust),
        n_folds=int(sel["inner_folds"]),
        seed=int(sel["seed"]),
        min_prior=int(sel.get("min_prior", 1)),
        metric=sel["metric"],
    )


def predict_robust(
    frame: pd.DataFrame, robust: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Out-of-fold forecasts of the robust models and of ``selected`` (inner-CV rule per fold).

    Returns:
        The predictions (one column per robust model plus ``selected``) and the selection log:
        one row per outer fold with the chosen model and every candidate's inner-CV error.
    """
    parts, log = [], []
    for f, train, test in by_fold(frame):
        names = list(dict.fromkeys([*ROBUST_MODELS, *robust["selection"]["candidates"]]))
        preds = _forecasts(train, test, robust, names)
        best, scores = _select(train, robust)
        logger.info("fold %d: rule chose %s (inner-CV %s)", f, best, scores)
        out = preds[list(ROBUST_MODELS)].copy()
        out["selected"] = preds[best]
        parts.append(out)
        log.append(
            {"fold": str(f), "chosen": best, **{f"inner_cv_{k}": v for k, v in scores.items()}}
        )
    return pd.concat(parts).loc[frame.index], pd.DataFrame(log)


def select_cohort_model(frame: pd.DataFrame, robust: dict[str, Any]) -> dict[str, Any]:
    """Apply the selection rule to the whole cohort: the model used for its new forecasts."""
    best, scores = _select(frame, robust)
    logger.info("cohort model by the rule: %s (inner-CV %s)", best, scores)
    return {
        "model": best,
        "rule": robust["selection"]["rule"],
        "metric": robust["selection"]["metric"],
        "inner_cv": scores,
        "robust": fit_robust_state(frame, robust["options"]),
        "population_mean": population_mean(frame),
        "shrinkage_k": estimate_shrinkage_k(frame),
    }


def selection_table(selection_log: pd.DataFrame, cohort_model: dict[str, Any]) -> pd.DataFrame:
    """The rule's choice per outer fold and on the whole cohort (``fold`` = ``all``), with inner-CV errors."""
    whole = {
        "fold": "all",
        "chosen": cohort_model["model"],
        **{f"inner_cv_{k}": v for k, v in cohort_model["inner_cv"].items()},
    }
    return pd.concat([selection_log, pd.DataFrame([whole])], ignore_index=True)


def build_selection_mlflow_metrics(model_selection: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{"selection.<fold>.<inner_cv_candidate>": ...}``: the rule's inner-CV errors for MLflow."""
    cols = [c for c in model_selection.columns if c.startswith("inner_cv_")]
    return mlflow_metrics(
        {
            f"selection.fold_{row['fold']}.{c}": row[c]
            for _, row in model_selection.iterrows()
            for c in cols
            if pd.notna(row[c])
        }
    )
