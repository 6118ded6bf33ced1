"""CSV files that are safe to open in a spreadsheet (no formula injection).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3+cmd|...``).
:func:`neutralise_formulas` prefixes such cells with a single quote ``'`` (OWASP's advice), so they
show as text. Numbers are never touched: numeric columns stay numeric (``-0.25`` is written as
``-0.25``), and a text cell that is a plain number (``"-0.25"``, ``"+3"``, ``"-1e-3"``) is kept as
it is. Column names get the same treatment.

:class:`SpreadsheetSafeCSVDataset` is ``pandas.CSVDataset`` with that applied on save; every CSV in
``data/08_reporting`` (and so every CSV artifact in MLflow) uses it.
"""

from __future__ import annotations

import re

import pandas as pd
from kedro_datasets.pandas import CSVDataset

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def neutralise_cell(value: object) -> object:
    """``"'" + value`` for a text cell that a spreadsheet would run as a formula; else ``value``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        if not _PLAIN_NUMBER.match(value):
            return "'" + value
    return value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names cannot start a formula."""
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            text = series.map(neutralise_cell, na_action="ignore")
            out[column] = text.astype(series.dtype) if series.dtype != object else text
        elif isinstance(series.dtype, pd.CategoricalDtype):
            out[column] = series.cat.rename_categories(
                [neutralise_cell(c) for c in series.cat.categories]
            )
    out.columns = [neutralise_cell(c) for c in out.columns]
    if out.index.dtype == object:
        out.index = out.index.map(neutralise_cell)
    return out


class SpreadsheetSafeCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` whose saved text cells cannot be run as spreadsheet formulas."""

    def save(self, data: pd.DataFrame) -> None:
        # CSVDataset.save is already wrapped by kedro (versioning, errors): call the raw body
        CSVDataset.save.__wrapped__(self, neutralise_formulas(data))
