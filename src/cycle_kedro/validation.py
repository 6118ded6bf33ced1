"""Data errors that fit on one screen: file, column, row/line, the value (truncated), what is expected, a hint.

Every raw and primary table is checked with :func:`validate` (pandera) and the plausibility helpers
below. On failure they raise :class:`DataValidationError`. Its ``str()`` is one line per problem,
starting with the source, e.g.::

    data/01_raw/fedcycle/FedCycleData071012.csv: column 'LengthofCycle', row 17 (file line 19):
    value 1.0 is outside the plausible range; expected whole days in [10, 120]

and :meth:`DataValidationError.block` is the short block the CLI prints instead of a traceback
(see :mod:`cycle_kedro.errors`). Rows are 0-based data rows; file lines are 1-based and count the
header. Values are truncated (:data:`MAX_VALUE_CHARS`) so a 5 MB field never floods the console.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from kedro.io import DatasetError
from pandera.errors import SchemaError, SchemaErrors

logger = logging.getLogger(__name__)

MAX_VALUE_CHARS = 60
MAX_PROBLEMS_SHOWN = 5
_HEADLINE = "cycle_kedro: bad input, the run stopped (nothing was written from it)."
_UNSET = object()


def truncate(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, with the full length when it was cut."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = repr(value)
    if len(text) <= limit:
        return text
    size = len(value) if isinstance(value, str | bytes) else len(text)
    return f"{text[: limit - 1]}… ({size:,} characters)"


@dataclass
class Problem:
    """One bad cell, line or file: where it is, what it holds and what was expected."""

    column: str | None = None
    row: int | None = None
    line: int | None = None
    value: Any = _UNSET
    expected: str | None = None
    detail: str | None = None

    def where(self) -> str:
        parts = []
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        if self.row is not None:
            row = f"row {self.row}"
            parts.append(f"{row} (file line {self.line})" if self.line is not None else row)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        return ", ".join(parts)

    def text(self) -> str:
        what = []
        if self.value is not _UNSET:
            what.append(f"value {truncate(self.value)}")
        if self.detail:
            what.append(self.detail)
        if self.expected:
            what.append(f"expected {self.expected}")
        return "; ".join(what)


@dataclass
class _Details:
    source: str
    problems: list[Problem] = field(default_factory=list)
    n_problems: int = 0
    summary: str | None = None
    hint: str | None = None


class DataValidationError(DatasetError, ValueError):
    """Bad input: names the source, the column and the row; :meth:`block` is the one-screen form.

    A ``DatasetError`` so that Kedro passes it on unchanged when a dataset fails to load. Build it
    with keywords (``source=``, ``problems=`` or the fields of one :class:`Problem`, ``summary=``,
    ``hint=``) or, as before, with a ready message.
    """

    source_label = "file"

    def __init__(  # noqa: PLR0913
        self,
        message: str | None = None,
        *,
        source: str | None = None,
        problems: list[Problem] | None = None,
        n_problems: int | None = None,
        summary: str | None = None,
        hint: str | None = None,
        **one: Any,
    ) -> None:
        problems = list(problems or [])
        if one:
            problems.append(Problem(**one))
        self.details = _Details(
            source=str(source) if source is not None else "",
            problems=problems,
            n_problems=max(n_problems or 0, len(problems)),
            summary=summary,
            hint=hint,
        )
        self._message = message
        super().__init__(message if message is not None else self._compose())

    def __reduce__(self):  # picklable with its details (Dask workers raise it)
        return (_rebuild, (self._message, self.details))

    @property
    def source(self) -> str:
        return self.details.source

    @property
    def hint(self) -> str | None:
        return self.details.hint

    def _compose(self) -> str:
        d = self.details
        lines = []
        if d.summary:
            lines.append(f"{d.source}: {d.summary}" if d.source else d.summary)
        for p in d.problems[:MAX_PROBLEMS_SHOWN]:
            where = p.where()
            head = f"{d.source}: {where}" if where else d.source
            lines.append(f"{head}: {p.text()}" if head else p.text())
        more = d.n_problems - min(len(d.problems), MAX_PROBLEMS_SHOWN)
        if more > 0:
            lines.append(f"... and {more} more problem(s) of this kind")
        if d.hint:
            lines.append(f"Hint: {d.hint}")
        return "\n".join(lines)

    def block(self) -> str:
        """The short block printed instead of a traceback: file, column, row/line, value, expected, hint."""
        d = self.details
        if self._message is not None and not d.problems:
            body = [f"  {line}" for line in self._message.splitlines()[:12]]
            return "\n".join([_HEADLINE, *body])
        label = f"{self.source_label}:".ljust(9)
        out = [_HEADLINE, f"  {label} {d.source or '(unknown)'}"]
        shown = d.problems[:MAX_PROBLEMS_SHOWN]
        common = {
            name: values.pop()
            for name in ("column", "detail", "expected")
            if len(values := {getattr(p, name) for p in shown}) == 1 and None not in values
        }
        if d.summary or "detail" in common:
            out.append(f"  problem:  {d.summary or common['detail']}")
        if "column" in common:
            out.append(f"  column:   {common['column']}")
        if "expected" in common:
            out.append(f"  expected: {common['expected']}")
        for i, p in enumerate(shown):
            parts = [p.where()] if p.where() and "column" not in common else []
            if "column" in common and p.where():
                parts = (
                    [p.where().split(", ", 1)[-1]]
                    if p.row is not None or p.line is not None
                    else []
                )
            if p.value is not _UNSET:
                parts.append(f"value {truncate(p.value)}")
            if p.detail and "detail" not in common and p.detail != d.summary:
                parts.append(p.detail)
            if p.expected and "expected" not in common:
                parts.append(f"expected {p.expected}")
            if parts:
                out.append(f"  {'at:' if i == 0 else '':9} {'; '.join(parts)}")
        more = d.n_problems - len(shown)
        if more > 0:
            out.append(f"  {'':9} ... and {more:,} more")
        if d.hint:
            out.append(f"  hint:     {d.hint}")
        return "\n".join(out)


def _rebuild(message: str | None, details: _Details) -> DataValidationError:
    err = DataValidationError(
        message,
        source=details.source,
        problems=details.problems,
        n_problems=details.n_problems,
        summary=details.summary,
        hint=details.hint,
    )
    return err


def hash_id(raw: object, salt: str) -> str:
    """A public 12-hex-digit *label* for a generated (synthetic) id: SHA-256 of ``salt:raw``.

    Not a pseudonym: anyone can recompute it. Real participant ids go through the keyed HMAC in
    :mod:`cycle_kedro.pseudonyms` instead.
    """
    return hashlib.sha256(f"{salt}:{raw}".encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- file lines
def source_of(df: pd.DataFrame, default: str) -> str:
    """The file a reader loaded ``df`` from (``df.attrs['source']``), else ``default``."""
    return str(getattr(df, "attrs", {}).get("source") or default)


def file_line(df: pd.DataFrame, row: int, header_lines: int | None = None) -> int | None:
    """The 1-based file line of data row ``row`` as recorded by the reader, else ``row + header + 1``.

    Readers store ``attrs['header_lines']`` and, when blank lines or multi-line records shift the
    numbering, ``attrs['line_breaks']`` (``[[first_row, line_of_that_row], ...]``).
    """
    attrs = getattr(df, "attrs", {}) or {}
    header = attrs.get("header_lines", header_lines)
    breaks = attrs.get("line_breaks") or []
    base_row, base_line = 0, None if header is None else header + 1
    for first_row, line in breaks:
        if first_row > row:
            break
        base_row, base_line = first_row, line
    return None if base_line is None else base_line + (row - base_row)


def clear_attrs(df: pd.DataFrame) -> pd.DataFrame:
    """Drop reader bookkeeping (source path, line numbers) before a table is saved."""
    df.attrs = {}
    return df


# --------------------------------------------------------------------------- pandera
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


# --------------------------------------------------------------------------- plausibility
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
            value=_UNSET if source_values is None else source_values.iloc[int(i)],
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
                value=df[column].iloc[r] if show_value else _UNSET,
            )
            for r in rows
        ],
        n_problems=int(len(clash)),
        summary=summary,
        hint=hint,
    )
