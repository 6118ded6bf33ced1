"""The project as Kedro sees it: settings, registry, and a real session run of ingestion."""

import pandas as pd
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from .conftest import PROJECT_ROOT, copy_project

EXPECTED = {"ingestion", "statistics", "forecasting", "llm", "population"}


def test_registry_has_every_pipeline_and_default_is_their_sum():
    bootstrap_project(PROJECT_ROOT)
    assert EXPECTED <= set(pipelines)
    named = set().union(
        *(
            set(pipelines[name].nodes)
            for name in pipelines
            if name not in ("__default__", "mcphases")
        )
    )
    assert set(pipelines["__default__"].nodes) == named
    node_names = [n.name for n in pipelines["__default__"].nodes]
    assert len(node_names) == len(set(node_names))


def test_session_runs_ingestion_in_a_copy_of_the_project(tmp_path, monkeypatch):
    project = copy_project(tmp_path / "project")
    monkeypatch.chdir(project)
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_name="ingestion")
    cycles = pd.read_parquet(project / "data" / "03_primary" / "fedcycle_cycles.parquet")
    assert cycles["woman_id"].nunique() == 159
    for path in (project / "data").rglob("*"):
        if path.is_file() and "01_raw" not in path.parts:
            assert b"nfp8" not in path.read_bytes(), f"raw participant id written to {path}"
