"""Nodes of the ``forecasting_training`` pipeline: fit the forecaster (training), answer a request (inference).

The logic is the library's (:mod:`cycle_kedro.cycles.forecaster`); these nodes only wire it to
the catalog and turn a bad request into the error MLflow's scoring server answers with a 400.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.forecaster import (
    fit_forecaster,
    out_of_fold_residuals,
    predict_next,
    validate_histories,
)
from cycle_kedro.validation import DataValidationError

logger = logging.getLogger(__name__)

KEYS = ["woman_id", "cycle_index"]


def attach_ovulation_days(model_input: pd.DataFrame, cycles: pd.DataFrame) -> pd.DataFrame:
    """The cohort's model input with each cycle's ``ovulation_day`` (NaN where not recorded)."""
    if "ovulation_day" not in cycles:
        return model_input.assign(ovulation_day=np.nan)
    days = cycles[[*KEYS, "ovulation_day"]].drop_duplicates(KEYS)
    out = model_input.drop(columns="ovulation_day", errors="ignore").merge(
        days, on=KEYS, how="left"
    )
    logger.info(
        "%d cycles of %d women, ovulation day recorded for %.0f%%",
        len(out),
        out["woman_id"].nunique(),
        100 * out["ovulation_day"].notna().mean(),
    )
    return out


def compute_calibration_residuals(
    model_input: pd.DataFrame, calibration: dict[str, Any], forecaster: dict[str, Any]
) -> pd.DataFrame:
    """Women-held-out residuals of the forecaster's model on the cohort's model input (the same
    table, folds and fits as the ``forecasting`` pipeline's out-of-fold ``pred_<model>``)."""
    return out_of_fold_residuals(
        model_input,
        forecaster["model"],
        n_folds=int(calibration["n_folds"]),
        seed=int(calibration["seed"]),
        warmup_cycles=int(calibration["warmup_cycles"]),
    )


def fit_cycle_forecaster(
    training_cycles: pd.DataFrame, residuals: pd.DataFrame, forecaster: dict[str, Any]
) -> dict[str, Any]:
    """Fit everything the served model carries (JSON): population mean, shrinkage strength,
    per-band 80% conformal offsets, the in-cycle state (luteal prior, calibration residuals)."""
    state = fit_forecaster(training_cycles, residuals, forecaster)
    logger.info(
        "forecaster %s on %d women: population mean %.2f d, shrinkage k %.2f, luteal model %s",
        state["model"],
        state["n_women"],
        state["population_mean"],
        state["shrinkage_k"],
        (state["incycle"] or {}).get("luteal_model"),
    )
    return state


def check_histories(cycle_histories: pd.DataFrame) -> pd.DataFrame:
    """Validate a request; a bad one raises ``MlflowException(INVALID_PARAMETER_VALUE)`` (HTTP 400).

    MLflow's server answers any other exception with a generic message, so the validation
    error (which names the column and the rows) is re-raised as the exception it passes on.
    """
    try:
        return validate_histories(cycle_histories)
    except DataValidationError as exc:
        from mlflow.exceptions import MlflowException  # noqa: PLC0415
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE  # noqa: PLC0415

        raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc


def forecast_histories(
    cycle_forecaster_state: dict[str, Any], valid_cycle_histories: pd.DataFrame
) -> pd.DataFrame:
    """Each woman's forecast and explanation (``cycle_kedro.cycles.forecaster.FORECAST_COLUMNS``);
    missing values are ``None`` so the JSON answer has ``null``, not ``NaN``."""
    out = predict_next(cycle_forecaster_state, valid_cycle_histories, validate=False)
    return out.astype(object).where(out.notna(), None)
