"""Read-only dataset for a local copy of mcPHASES (PhysioNet, restricted access: never shipped here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from cycle_kedro.validation import DataValidationError

REQUIRED = {
    "hormones_and_selfreport": [
        "id",
        "study_interval",
        "day_in_study",
        "phase",
        "lh",
        "estrogen",
        "pdg",
    ],
    "steps": ["id", "study_interval", "day_in_study", "timestamp", "steps"],
    "subject-info": ["id", "birth_year"],
    "height_and_weight": ["id", "height_2022", "weight_2022", "height_2024", "weight_2024"],
}


class McPhasesDataset(AbstractDataset[dict[str, pd.DataFrame], None]):
    """Loads the four mcPHASES tables the project uses from a directory into a dict of DataFrames.

    The directory comes from the catalog (default ``${oc.env:MCPHASES_DIR,data/01_raw/mcphases}``). A missing
    directory, file or column fails with a message naming it.
    """

    def __init__(self, *, path: str, metadata: dict | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> dict[str, pd.DataFrame]:
        if not self._path.is_dir():
            raise DataValidationError(
                f"{self._path}: mcPHASES directory not found; set MCPHASES_DIR to your local copy "
                "(PhysioNet restricted access, see data/01_raw/mcphases/SOURCE.md)"
            )
        tables = {}
        for name, columns in REQUIRED.items():
            file = self._path / f"{name}.csv"
            if not file.is_file():
                raise DataValidationError(f"{file}: required mcPHASES table is missing")
            df = pd.read_csv(file, low_memory=False)
            missing = [c for c in columns if c not in df.columns]
            if missing:
                raise DataValidationError(f"{file}: column(s) {missing} missing (row: header)")
            tables[name] = df
        return tables

    def save(self, data: Any) -> None:
        raise DatasetError("mcPHASES is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
