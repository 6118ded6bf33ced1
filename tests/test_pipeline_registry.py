"""The registry as the Kedro CLI uses it: a pipeline found by name, the served model in the default run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from cycle_kedro.errors import data_error

from .conftest import PROJECT_ROOT, in_project_copy


def _kedro(*args: str) -> subprocess.CompletedProcess:
    """``kedro <args>`` in the project root; log lines unwrapped (rich wraps at the terminal width)."""
    kedro = Path(sys.executable).parent / "kedro"
    env = {**os.environ, "COLUMNS": "1000"}
    return subprocess.run(
        [str(kedro), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_mcphases_is_found_by_name_with_no_untyped_predict_warning():
    done = _kedro("registry", "describe", "mcphases")
    assert done.returncode == 0, done.stderr[-3000:]
    nodes = yaml.safe_load(done.stdout[done.stdout.index("Nodes:") :])["Nodes"]  # after the log
    assert "ingestion.build_mcphases_daily (build_mcphases_daily)" in nodes
    assert any(n.startswith("statistics.mcphases.") for n in nodes), nodes
    assert "Add type hints to the `predict` method" not in done.stdout + done.stderr


def test_mcphases_run_by_name_stops_only_on_the_missing_restricted_data(tmp_path, monkeypatch):
    monkeypatch.delenv("MCPHASES_DIR", raising=False)
    with in_project_copy(tmp_path / "project") as project:
        with KedroSession.create(project_path=project) as session:
            with pytest.raises(Exception) as err:  # noqa: PT011 (the data error is a cause)
                session.run(pipeline_names=["mcphases"])
    found = data_error(err.value)
    assert found is not None, err.value
    assert "required mcPHASES table is missing" in str(found)


def test_default_run_logs_and_registers_the_served_forecaster():
    bootstrap_project(PROJECT_ROOT)
    default = pipelines["__default__"]
    assert "cycle_forecaster" in default.all_outputs()
    assert not {n.name for n in pipelines["mcphases"].nodes} & {n.name for n in default.nodes}
    catalog = yaml.safe_load(
        (PROJECT_ROOT / "conf" / "base" / "catalog_forecasting_training.yml").read_text()
    )
    entry = catalog["cycle_forecaster"]
    assert entry["type"] == "cycle_kedro.datasets.mlflow_model.MlflowServedModelDataset"
    assert entry["save_args"]["registered_model_name"] == "cycle_forecaster"
