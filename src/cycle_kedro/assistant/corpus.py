"""Corpus helpers on forecast tables: the column check and the finite-number test.

Pure functions on pandas tables and values (no model, no I/O), shared by the llm pipeline's forecast
Q&A node and the ``cycle-ask`` CLI. The forecast question and explanation templates are
:mod:`cycle_kedro.cycles.explain`.
"""

from __future__ import annotations

import math

import pandas as pd

from cycle_kedro.cycles.contracts import NEXT_CYCLE_COLUMNS
from cycle_kedro.validation import DataValidationError


def check_forecast(forecast: pd.DataFrame, source: str) -> None:
    """Raise :class:`DataValidationError` naming ``source`` if a forecast column is missing."""
    missing = [c for c in NEXT_CYCLE_COLUMNS if c not in forecast.columns]
    if missing:
        raise DataValidationError(
            f"{source}: missing column(s) {missing}; expected {NEXT_CYCLE_COLUMNS}"
        )


def is_finite(value: object) -> bool:
    """True for a real, finite number."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
