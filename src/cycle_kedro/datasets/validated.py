"""Datasets that validate what they load, so errors can name the file, the column and the row."""

from __future__ import annotations

import importlib
import json
from pathlib import PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from kedro_datasets.pandas import CSVDataset

from cycle_kedro.validation import DataValidationError, validate


def _schema(path: str):
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


class ValidatedCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` that checks the loaded table against a pandera schema.

    ``schema`` is a dotted path such as ``cycle_kedro.schemas.FEDCYCLE_RAW``.
    """

    def __init__(self, *, schema: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._schema_path = schema

    def load(self) -> pd.DataFrame:
        source = str(self._filepath)
        try:
            df = super().load()
        except DatasetError as exc:
            if isinstance(exc.__cause__, pd.errors.EmptyDataError) or "No columns to parse" in str(
                exc
            ):
                raise DataValidationError(
                    f"{source}: the file is empty (no header, no rows)"
                ) from None
            raise
        return validate(df, _schema(self._schema_path), source=source, header_lines=1)


class ValidatedJSONLinesDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """JSON Lines file loaded line by line: a bad line fails with the file and line number."""

    def __init__(self, *, filepath: str, schema: str, metadata: dict | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self._schema_path = schema
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        source = str(self._filepath)
        records = []
        with open(self._filepath, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataValidationError(
                        f"{source}: line {line_no} (row {len(records)}) is not valid JSON: {exc.msg}"
                    ) from None
                if not isinstance(record, dict):
                    raise DataValidationError(f"{source}: line {line_no} is not a JSON object")
                records.append(record)
        if not records:
            raise DataValidationError(f"{source}: the file is empty (no JSON records)")
        return validate(
            pd.DataFrame(records), _schema(self._schema_path), source=source, header_lines=0
        )

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(f"{self._filepath} is read-only raw data")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "schema": self._schema_path}


class ReadOnlyCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` for a user's own export: loads, never writes over it."""

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(
            f"{self._filepath} is your own data and is never overwritten. With the app_export env run "
            "`kedro run --pipeline=population --env app_export --namespaces=population.app`, "
            "which does not run the synthetic generator."
        )
