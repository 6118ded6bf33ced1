"""Data contracts of the cycle tables that pipelines hand to each other or read from users.

* :data:`NEXT_CYCLE_COLUMNS` — columns of ``forecasting.<cohort>.next_cycle_forecast``, one row
  per woman (the table the llm pipeline explains).
* :data:`PERIOD_STARTS` — the period-start log read by the population pipeline, one row per
  logged period start, any order::

      user_id       str    the app's user id (any non-empty text; a number is read as text)
      period_start  str    ISO date "YYYY-MM-DD" (an ISO timestamp or a parquet date also works)

* :data:`CLEAN_COLUMNS` / :data:`CYCLE_COLUMNS` — dtypes of the cleaned log and of the
  per-start cycle table built from it (also the Dask ``meta`` of those tables).

The per-cycle table of the cohorts (``CYCLES``) is in :mod:`cycle_kedro.schemas`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.pandas import Check, Column

__all__ = [
    "CLEAN_COLUMNS",
    "CYCLE_COLUMNS",
    "NEXT_CYCLE_COLUMNS",
    "NEXT_CYCLE_CURRENT_COLUMNS",
    "PERIOD_STARTS",
]

NEXT_CYCLE_COLUMNS = (
    "woman_id",
    "n_cycles_used",
    "last_cycle_length",
    "history_mean",
    "history_sd",
    "predicted_length",
    "lower_80",
    "upper_80",
    "model",
)
"""Columns of ``forecasting.<cohort>.next_cycle_forecast``, the table the llm pipeline explains."""

NEXT_CYCLE_CURRENT_COLUMNS = (
    "days_since_start",
    "ovulation_day",
    "incycle_method",
    "incycle_predicted_length",
    "incycle_lower_80",
    "incycle_upper_80",
    "incycle_predicted_start_day",
)
"""Current-cycle columns that ``next_cycle_forecast`` adds after :data:`NEXT_CYCLE_COLUMNS`.

``days_since_start``: today's cycle day (1 = first day of the current period); ``ovulation_day``:
cycle day ovulation was detected on (NaN: none yet); ``incycle_method``: ``history`` (day 1),
``survival`` (no period yet, forecast conditioned on it), ``ovulation`` (ovulation day + her
luteal length) or ``no_ovulation_yet``; ``incycle_predicted_length`` and its 80% interval
``incycle_lower_80``..``incycle_upper_80`` (whole days, cycle length in days); and
``incycle_predicted_start_day``: the cycle day the next period is expected to start
(``incycle_predicted_length + 1``). Written by :func:`cycle_kedro.cycles.incycle.forecast_current_cycle`.
"""


def _non_empty(s: pd.Series) -> pd.Series:
    """True where the id is non-blank text (each distinct id checked once; nulls left to pandera)."""
    codes, uniques = pd.factorize(s)
    ok = np.r_[pd.Index(uniques).astype(str).str.strip().str.len().to_numpy() > 0, True]
    return pd.Series(ok[codes], index=s.index)


PERIOD_STARTS = pa.DataFrameSchema(
    {
        "user_id": Column(
            checks=Check(_non_empty, name="non_empty_user_id"),
            nullable=False,
        ),
        "period_start": Column(nullable=False),
    },
    strict=False,
    name="period_starts",
)

CLEAN_COLUMNS = {
    "user_id": "object",
    "period_start": "datetime64[ns]",
    "raw_period_start": "object",
    "reason": "object",
}
CYCLE_COLUMNS = {
    "user_id": "object",
    "cycle_index": "int64",
    "cycle_start": "datetime64[ns]",
    "cycle_length": "float64",
    "typical_length": "float64",
    "skip_flag": "bool",
    "skip_k": "int64",
}
