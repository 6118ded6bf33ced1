"""Two ``kedro run``s started together in one project both finish and both appear in MLflow."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from kedro.framework.session import KedroSession
from mlflow.tracking import MlflowClient

from cycle_kedro.mlflow_lock import acquire, release

from .conftest import KEDRO, copy_project, in_project_copy

FAST_STATISTICS = "statistics.synthetic.inference.n_boot=200"


def test_the_setup_lock_is_exclusive_across_descriptors(tmp_path):
    held = acquire(tmp_path)
    assert held is not None
    assert acquire(tmp_path, wait=0.3) is None  # a second run waits, then goes on
    release(held)
    again = acquire(tmp_path, wait=0.3)
    assert again is not None
    release(again)


@pytest.mark.slow
def test_two_runs_started_together_on_a_fresh_store_both_finish(tmp_path):
    with in_project_copy(tmp_path / "first") as first:  # statistics reads ingestion's output
        with KedroSession.create(project_path=first) as session:
            session.run(pipeline_name="ingestion", to_outputs=["synthetic_daily"])
    project = copy_project(tmp_path / "project")
    shutil.copytree(first / "data", project / "data", dirs_exist_ok=True)
    assert not (project / "mlflow.db").exists()  # both runs create the store and the experiment

    runs = {
        name: subprocess.Popen(
            [str(KEDRO), "run", f"--pipelines={name}", *extra],
            cwd=project,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, extra in (("ingestion", []), ("statistics", ["--params", FAST_STATISTICS]))
    }
    for name, run in runs.items():
        output = run.communicate(timeout=400)[0]
        assert run.returncode == 0, f"{name}:\n{output}"

    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cycle_kedro")
    found = {r.info.run_name: r.info.status for r in client.search_runs([experiment.experiment_id])}
    assert found == {"ingestion": "FINISHED", "statistics": "FINISHED"}
