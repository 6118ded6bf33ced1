"""The app_export env reads a user's own period-start export and refuses to overwrite it."""

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DatasetError

from .conftest import PROJECT_ROOT


def test_app_export_env_reads_the_export_and_never_writes_it(tmp_path, monkeypatch):
    export = tmp_path / "export.csv"
    export.write_text("user_id,period_start\nu1,2026-01-03\nu1,2026-01-31\n")
    monkeypatch.setenv("PERIOD_STARTS_FILE", str(export))
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env="app_export") as session:
        dataset = session.load_context().catalog.get("period_starts")
    assert dataset.load()["period_start"].tolist() == ["2026-01-03", "2026-01-31"]
    with pytest.raises(DatasetError, match="never overwritten"):
        dataset.save(pd.DataFrame({"user_id": ["x"], "period_start": ["2026-02-01"]}))
    assert export.read_text().count("\n") == 3
