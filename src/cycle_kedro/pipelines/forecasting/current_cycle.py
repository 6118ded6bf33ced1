"""Current-cycle nodes of the ``forecasting`` pipeline: each woman's cycle as the data leave it.

The in-cycle state is fitted on the whole cohort (what a serving model carries) and turns each
woman's next-cycle forecast into one for her current cycle
(:func:`cycle_kedro.cycles.incycle.forecast_current_cycle`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.incycle import fit_incycle_state, forecast_current_cycle

from .folds import KEYS
from .incycle_evaluation import day1_forecast, incycle_options


def _history_state(frame: pd.DataFrame, cohort_model: dict[str, Any], model: str) -> dict:
    if model == "selected":
        model = cohort_model["model"]
    state = {"history_model": model}
    if model == "shrinkage":
        state |= {
            "population_mean": cohort_model["population_mean"],
            "shrinkage_k": cohort_model["shrinkage_k"],
        }
    else:
        state["robust"] = cohort_model["robust"]
    return state


def fit_cohort_incycle_state(
    details: pd.DataFrame,
    predictions: pd.DataFrame,
    cohort_model: dict[str, Any],
    incycle: dict[str, Any],
) -> dict[str, Any]:
    """The in-cycle population state fitted on the whole cohort (what a serving model carries).

    Calibration residuals are the day-1 model's out-of-fold residuals (as the next-cycle
    intervals); population mean, shrinkage strength and robust fits come from all cycles.
    """
    model = incycle["history_model"]
    pred = day1_forecast(details, predictions, model)
    calib = details[details["evaluated"]].assign(
        residual=(details["cycle_length"] - pred)[details["evaluated"]]
    )
    hist = _history_state(details, cohort_model, model)
    return fit_incycle_state(details, calib, incycle_options(incycle), hist)


def current_cycle_status(frame: pd.DataFrame) -> pd.DataFrame:
    """Each woman's current cycle as the cohort data leave it: day 1, no ovulation detected.

    The cohorts end with a completed cycle, so the next one has just begun. A serving pipeline
    replaces this table with what a user sends (``days_since_start``, ``ovulation_day``).
    """
    women = np.sort(frame["woman_id"].unique())
    return pd.DataFrame({"woman_id": women, "days_since_start": 1.0, "ovulation_day": np.nan})


def add_current_cycle_fields(
    next_cycle_base: pd.DataFrame,
    details: pd.DataFrame,
    incycle_state: dict[str, Any],
    current_cycle: pd.DataFrame,
) -> pd.DataFrame:
    """Add the current-cycle fields to each woman's next-cycle forecast (existing columns kept).

    New columns (:data:`cycle_kedro.cycles.incycle.INCYCLE_FIELDS`): ``days_since_start``,
    ``ovulation_day``, ``incycle_method``, ``incycle_predicted_length``, ``incycle_lower_80``,
    ``incycle_upper_80``, ``incycle_predicted_start_day``.
    """
    status = current_cycle.set_index("woman_id")
    by_woman = dict(tuple(details.sort_values(KEYS).groupby("woman_id")))
    rows = []
    for woman in next_cycle_base["woman_id"]:
        now = status.loc[woman] if woman in status.index else pd.Series(dtype=float)
        rows.append(
            forecast_current_cycle(
                incycle_state,
                by_woman[woman],
                days_since_start=now.get("days_since_start"),
                ovulation_day=now.get("ovulation_day"),
            )
        )
    fields = pd.DataFrame(rows, index=next_cycle_base.index)
    return pd.concat([next_cycle_base, fields], axis=1)
