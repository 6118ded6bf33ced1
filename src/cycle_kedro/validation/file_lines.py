"""Which file and line a loaded row came from, as recorded by the readers in ``df.attrs``.

Readers (:mod:`cycle_kedro.datasets.validated`) store ``attrs['source']`` (the path),
``attrs['header_lines']`` and, when blank lines or multi-line records shift the numbering,
``attrs['line_breaks']``; checks done later in the first node use them to name the file and line.
"""

from __future__ import annotations

import pandas as pd


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
