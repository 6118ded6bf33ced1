"""Pandera validation with errors that name the file (or dataset), the column and the row.

Every raw and primary table is checked with :func:`validate`. On failure it raises
:class:`DataValidationError` whose message starts with the source, e.g.::

    data/01_raw/fedcycle/FedCycleData071012.csv: column 'LengthofCycle', row 17 (file line 19):
    value 0 fails check 'in_range(0, 120)'

Rows are 0-based table positions; for files read with a header the file line is row + 2.
"""

from __future__ import annotations

import hashlib
import logging

import pandas as pd
import pandera.pandas as pa
from kedro.io import DatasetError
from pandera.errors import SchemaError, SchemaErrors

logger = logging.getLogger(__name__)


class DataValidationError(DatasetError, ValueError):
    """Bad input: the message names the source, the column and the row.

    A ``DatasetError`` so that Kedro shows this message as it is when a dataset fails to load.
    """


def hash_id(raw: object, salt: str) -> str:
    """Return a stable 12-hex-digit pseudonym for a participant id (salted SHA-256)."""
    return hashlib.sha256(f"{salt}:{raw}".encode()).hexdigest()[:12]


def _describe(failures: pd.DataFrame, source: str, header_lines: int, n_more: int) -> str:
    lines = []
    for row in failures.itertuples(index=False):
        if row.check == "column_in_dataframe":
            lines.append(f"{source}: column '{row.failure_case}' is missing (row: header)")
            continue
        column = row.column if isinstance(row.column, str) else "<table>"
        where = "" if pd.isna(row.index) else f", row {int(row.index)}"
        if where and header_lines is not None:
            where += f" (file line {int(row.index) + header_lines + 1})"
        lines.append(
            f"{source}: column '{column}'{where}: value {row.failure_case!r} fails check '{row.check}'"
        )
    more = f"\n... and {n_more} more failure(s)" if n_more else ""
    return "\n".join(lines) + more


def validate(
    df: pd.DataFrame, schema: pa.DataFrameSchema, source: str, header_lines: int | None = None
) -> pd.DataFrame:
    """Validate ``df`` against ``schema``; raise :class:`DataValidationError` naming file, column, row.

    Args:
        df: the table to check.
        schema: a pandera schema (``coerce=True`` columns are converted on success).
        source: the file path or dataset name to put in the message.
        header_lines: lines before the first data row in the file (1 for a CSV with a header,
            0 for JSONL); ``None`` when the table is not a file.
    """
    if len(df.columns) == 0:
        raise DataValidationError(f"{source}: the table is empty (no columns, no rows)")
    if df.empty:
        raise DataValidationError(f"{source}: the file has no data rows")
    try:
        return schema.validate(df, lazy=True)
    except (SchemaErrors, SchemaError) as exc:
        cases = getattr(exc, "failure_cases", None)
        if cases is None or len(cases) == 0:
            raise DataValidationError(f"{source}: {exc}") from None
        cases = cases.copy()
        cases["_order"] = pd.to_numeric(cases["index"], errors="coerce").fillna(-1)
        cases = cases.sort_values(["_order"], kind="stable")
        shown = cases.head(10)
        message = _describe(shown, source, header_lines, len(cases) - len(shown))
        raise DataValidationError(message) from None
