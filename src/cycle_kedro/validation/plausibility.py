"""Plausibility checks beyond a schema: value ranges from parameters, ids differing only in case, bad rows.

Each raises one :class:`~cycle_kedro.validation.DataValidationError` naming the file, the column
and the first few rows with their file lines (the rest are counted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import DataValidationError, Problem
from .file_lines import file_line
from .messages import MAX_PROBLEMS_SHOWN, UNSET


def check_range(  # noqa: PLR0913
    df: pd.DataFrame,
    column: str,
    bounds: list[float] | tuple[float, float],
    source: str,
    *,
    whole: bool = False,
    unit: str = "",
    parameter: str = "",
    label: str | None = None,
) -> None:
    """Raise when a non-missing value of ``column`` is outside ``bounds`` (or not whole).

    ``parameter`` names the parameter that sets the range, so the hint says where to change it.
    """
    values = pd.to_numeric(df[column], errors="coerce")
    lo, hi = float(bounds[0]), float(bounds[1])
    bad = values.notna() & ((values < lo) | (values > hi))
    if whole:
        bad |= values.notna() & (values % 1 != 0)
    if not bad.any():
        return
    kind = f"whole {unit}" if whole else (unit or "values")
    expected = f"{kind} in [{_num(lo)}, {_num(hi)}]"
    raise_rows(
        df,
        bad,
        source,
        column=label or column,
        detail="implausible value",
        expected=expected,
        hint=f"fix the file, or widen the range in parameters ({parameter})" if parameter else None,
    )


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def raise_rows(  # noqa: PLR0913
    df: pd.DataFrame,
    mask: pd.Series | np.ndarray,
    source: str,
    *,
    column: str | None,
    detail: str | None = None,
    expected: str | None = None,
    hint: str | None = None,
    summary: str | None = None,
    values: pd.Series | None = None,
) -> None:
    """Raise one :class:`DataValidationError` for the rows where ``mask`` is true (first few shown)."""
    positions = np.flatnonzero(np.asarray(mask))
    if len(positions) == 0:
        return
    source_values = values if values is not None else (df[column] if column in df else None)
    problems = [
        Problem(
            column=column,
            row=int(i),
            line=file_line(df, int(i)),
            value=UNSET if source_values is None else source_values.iloc[int(i)],
            detail=detail,
            expected=expected,
        )
        for i in positions[:MAX_PROBLEMS_SHOWN]
    ]
    raise DataValidationError(
        source=source, problems=problems, n_problems=len(positions), summary=summary, hint=hint
    )


def check_case_variants(  # noqa: PLR0913
    df: pd.DataFrame,
    ids: pd.Series,
    source: str,
    column: str,
    *,
    summary: str,
    hint: str,
    show_value: bool = True,
) -> None:
    """Two distinct ids equal up to upper/lower case: one person or two? An error naming a row of each."""
    distinct = pd.Series(ids.dropna().unique(), dtype=object)
    folded = distinct.str.casefold()
    clash = distinct[folded.duplicated(keep=False)]
    if clash.empty:
        return
    first = folded[clash.index[0]]
    variants = [v for v in clash if v.casefold() == first][:2]
    rows = [int(np.flatnonzero(ids.to_numpy() == v)[0]) for v in variants]
    raise DataValidationError(
        source=source,
        problems=[
            Problem(
                column=column,
                row=r,
                line=file_line(df, r),
                value=df[column].iloc[r] if show_value else UNSET,
            )
            for r in rows
        ],
        n_problems=int(len(clash)),
        summary=summary,
        hint=hint,
    )
