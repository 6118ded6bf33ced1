"""Shared renderers: one markdown-table renderer and one MLflow metrics-dict builder for every pipeline."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd


def markdown_table(table: pd.DataFrame, fmt: Callable[[Any], str] = str) -> str:
    """A GitHub-flavoured markdown table: header, rule, one line per row; cells are ``fmt(value)``.

    ``|`` inside a cell is escaped so that a value can never break the table.
    """
    header = "| " + " | ".join(str(c) for c in table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    rows = [
        "| " + " | ".join(fmt(v).replace("|", "\\|") for v in row) + " |"
        for row in table.astype(object).itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def mlflow_metrics(values: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """``{key: {"value": v, "step": 0}}`` for ``MlflowMetricsHistoryDataset``; non-finite values are left out."""
    return {k: {"value": float(v), "step": 0} for k, v in values.items() if math.isfinite(float(v))}
