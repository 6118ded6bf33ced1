"""Training nodes of the ``forecasting_training`` pipeline: fit the forecaster, wrap it as the served model.

The logic is the library's (:mod:`cycle_kedro.cycles.forecaster`; the served model is
:class:`cycle_kedro.cycles.serving.CycleForecasterModel`); these nodes only wire it to the catalog.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.forecaster import fit_forecaster, out_of_fold_residuals
from cycle_kedro.cycles.serving import CycleForecasterModel

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
    training_cycles: pd.DataFrame,
    residuals: pd.DataFrame,
    forecaster: dict[str, Any],
    skip_aware_model: dict[str, Any],
) -> dict[str, Any]:
    """Fit everything the served model carries (JSON): population mean, shrinkage strength,
    per-band 80% conformal offsets, the in-cycle state (luteal prior, calibration residuals), and
    the app cohort's skip-aware model as fitted by the population pipeline (FedCycle, a study
    cohort, has no missed logs to learn a skip rate from), so that a served answer also says
    whether a period has probably been missed."""
    state = fit_forecaster(training_cycles, residuals, forecaster, skip_aware=skip_aware_model)
    logger.info(
        "forecaster %s on %d women: population mean %.2f d, shrinkage k %.2f, luteal model %s",
        state["model"],
        state["n_women"],
        state["population_mean"],
        state["shrinkage_k"],
        (state["incycle"] or {}).get("luteal_model"),
    )
    return state


def build_cycle_forecaster(cycle_forecaster_state: dict[str, Any]) -> CycleForecasterModel:
    """The served MLflow model ``cycle_forecaster``: the fitted state behind a typed ``predict``."""
    return CycleForecasterModel(cycle_forecaster_state)
