"""Datasets for secrets and re-identifying data: never logged, never an MLflow artifact.

* :class:`PseudonymKeyDataset` loads the HMAC key of the pseudonyms from
  ``conf/local/credentials.yml`` (creating it on first use). It is a dataset, not a ``params:``
  input, so kedro-mlflow does not log it, and it is read from ``conf/local`` whatever ``--env`` is
  used (Kedro loads ``conf/local`` only for the default env).
* :class:`LocalLookupDataset` optionally writes the pseudonym -> raw id table of a user's own
  export to a local file of the user's choice (``USER_LOOKUP_FILE``), outside ``data/`` reporting
  folders and MLflow; without a path it writes nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from cycle_kedro.pseudonyms import PseudonymKey, load_or_create_key

logger = logging.getLogger(__name__)


class PseudonymKeyDataset(AbstractDataset[None, PseudonymKey]):
    """The pseudonymisation key from a credentials YAML file (created with a random key if absent)."""

    def __init__(
        self, *, filepath: str = "conf/local/credentials.yml", metadata: dict | None = None
    ):
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> PseudonymKey:
        return load_or_create_key(Path(str(self._filepath)))

    def save(self, data: Any) -> None:
        raise DatasetError("the pseudonymisation key is never saved by a pipeline")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "value": "<secret>"}

    def _exists(self) -> bool:
        return True


class LocalLookupDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """Pseudonym -> raw id table written only where the user asks (``filepath``), else discarded.

    ``.parquet`` keeps ids exactly; any other suffix writes CSV with spreadsheet formulas
    neutralised (a leading ``'`` before ``=``, ``+``, ``-``, ``@``, tab, CR).
    """

    def __init__(self, *, filepath: str | None = None, metadata: dict | None = None) -> None:
        self._filepath = Path(filepath) if filepath else None
        self.metadata = metadata

    def save(self, data: pd.DataFrame) -> None:
        if self._filepath is None:
            logger.info(
                "Pseudonym lookup table not written (set USER_LOOKUP_FILE=/private/path.csv to keep one)"
            )
            return
        from cycle_kedro.datasets.safe_csv import neutralise_formulas  # noqa: PLC0415

        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        if self._filepath.suffix == ".parquet":
            data.to_parquet(self._filepath, index=False)
        else:
            neutralise_formulas(data).to_csv(self._filepath, index=False)
        self._filepath.chmod(0o600)
        logger.info("Wrote the local pseudonym lookup table (%d ids)", len(data))

    def load(self) -> pd.DataFrame:
        if self._filepath is None or not self._filepath.is_file():
            raise DatasetError("no pseudonym lookup table was written (USER_LOOKUP_FILE unset)")
        if self._filepath.suffix == ".parquet":
            return pd.read_parquet(self._filepath)
        return pd.read_csv(self._filepath, dtype=str, keep_default_na=False)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": "<local, not shown>" if self._filepath else None}
