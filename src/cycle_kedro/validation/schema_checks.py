"""A table checked against its pandera schema (:mod:`cycle_kedro.schemas`); failures as one data error.

pandera's failure cases become :class:`~cycle_kedro.validation.Problem` entries with the column,
the row, its file line and the failing value, and pandera's check names become what was expected
(``in_range(10, 120)`` -> ``a number in [10, 120]``).
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from . import DataValidationError, Problem
from .file_lines import file_line
from .messages import MAX_PROBLEMS_SHOWN

_EXPECTED = [
    (re.compile(r"in_range\(([-\d.e]+), ([-\d.e]+)\)"), r"a number in [\1, \2]"),
    (re.compile(r"greater_than_or_equal_to\(([-\d.e]+)\)"), r"a number >= \1"),
    (re.compile(r"greater_than\(([-\d.e]+)\)"), r"a number > \1"),
    (re.compile(r"str_length\((\d+), None\)"), r"text of at least \1 character(s)"),
    (re.compile(r"str_matches\('(.*)'\)"), r"text matching \1"),
    (re.compile(r"coerce_dtype\('(int|float)\d*'\)"), r"a number (\1)"),
    (re.compile(r"coerce_dtype\('(.*)'\)"), r"values of type \1"),
    (re.compile(r"not_nullable"), "a value (the cell is empty)"),
    (re.compile(r"not_blank"), "non-blank text"),
    (re.compile(r"isin\((.*)\)"), r"one of \1"),
    (re.compile(r"field_uniqueness|multiple_fields_uniqueness|unique"), "unique values"),
]


def _expected(check: str) -> str:
    for pattern, text in _EXPECTED:
        if pattern.search(check):
            return pattern.sub(text, pattern.search(check).group(0))
    return f"to pass check '{check}'"


def validate(
    df: pd.DataFrame, schema: pa.DataFrameSchema, source: str, header_lines: int | None = None
) -> pd.DataFrame:
    """Validate ``df`` against ``schema``; raise :class:`DataValidationError` naming file, column, row.

    Args:
        df: the table to check.
        schema: a pandera schema (``coerce=True`` columns are converted on success).
        source: the file path or dataset name to put in the message.
        header_lines: lines before the first data row in the file (1 for a CSV with a header,
            0 for JSONL); ``None`` when the table is not a file. A reader's ``attrs`` win.
    """
    if len(df.columns) == 0:
        raise DataValidationError(source=source, summary="the table is empty (no columns, no rows)")
    if df.empty:
        raise DataValidationError(
            source=source, summary="the file has no data rows", hint="is this the right file?"
        )
    attrs = dict(df.attrs)
    try:
        out = schema.validate(df, lazy=True)
    except (SchemaErrors, SchemaError) as exc:
        cases = getattr(exc, "failure_cases", None)
        if cases is None or len(cases) == 0:
            raise DataValidationError(source=source, summary=str(exc)[:300]) from None
        raise _from_cases(cases, df, schema, source, header_lines) from None
    out.attrs = attrs
    return out


def _from_cases(
    cases: pd.DataFrame,
    df: pd.DataFrame,
    schema: pa.DataFrameSchema,
    source: str,
    header_lines: int | None,
) -> DataValidationError:
    cases = cases.copy()
    checks = cases["check"].astype(str)
    coerced = set(cases.loc[checks.str.startswith("coerce_dtype"), "column"])
    cases = cases[~(checks.str.startswith("dtype(") & cases["column"].isin(coerced))]
    cases["_order"] = pd.to_numeric(cases["index"], errors="coerce").fillna(-1)
    cases = cases.sort_values(["_order"], kind="stable")
    required = [name for name, col in schema.columns.items() if col.required]
    found = ", ".join(map(repr, list(df.columns)[:6])) + (", ..." if len(df.columns) > 6 else "")
    problems = []
    for row in cases.head(MAX_PROBLEMS_SHOWN).itertuples(index=False):
        if row.check == "column_in_dataframe":
            problems.append(
                Problem(
                    column=str(row.failure_case),
                    detail=f"the column is missing from the header (found: {found})",
                    expected="a header with "
                    + ", ".join(map(repr, required[:6]))
                    + (", ..." if len(required) > 6 else ""),
                )
            )
            continue
        column = row.column if isinstance(row.column, str) else None
        index = None if pd.isna(row.index) else int(row.index)
        problems.append(
            Problem(
                column=column,
                row=index,
                line=None if index is None else file_line(df, index, header_lines),
                value=row.failure_case,
                expected=_expected(str(row.check)),
            )
        )
    return DataValidationError(source=source, problems=problems, n_problems=len(cases))
