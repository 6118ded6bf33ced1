"""Run any pipeline alone: a missing upstream output, or the user's own export in the way, stops
the run before any node with one block (what is missing, which pipeline makes it, what to run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession

from cycle_kedro.errors import DEBUG_ENV
from cycle_kedro.preflight import MissingUpstreamError, ReadOnlyOutputError, check_upstream

from .conftest import in_project_copy, run_kedro

#: registered pipeline -> the pipelines that must run before it on an empty data/ (raw files only)
RUN_FIRST = {
    "__default__": set(),
    "ingestion": set(),
    "mcphases": set(),
    "statistics": {"ingestion"},
    "forecasting": {"ingestion"},
    "forecasting_training": {"ingestion", "population"},
    "population": {"ingestion"},
    "llm": {"ingestion", "forecasting"},
    "reporting": {"ingestion", "statistics", "forecasting", "population", "llm"},
}


def _written(project: Path) -> list[Path]:
    return [p for p in (project / "data").rglob("*") if p.is_file() and "01_raw" not in p.parts]


def test_every_registered_pipeline_alone_on_an_empty_data_folder(tmp_path):
    with in_project_copy(tmp_path / "project") as project:
        with KedroSession.create(project_path=project) as session:
            catalog = session.load_context().catalog
            registered = dict(pipelines)
            assert set(registered) == set(RUN_FIRST), "a new pipeline: say what it needs first"
            for name, needed in RUN_FIRST.items():
                if not needed:
                    check_upstream(registered[name], catalog, registered)  # nothing missing
                    continue
                with pytest.raises(MissingUpstreamError) as raised:
                    check_upstream(registered[name], catalog, registered)
                block = raised.value.block()
                first = block.split("input:", 1)[1].split()[0]
                assert first in registered[name].inputs(), block
                commands = [w.strip("`,") for w in block.split() if w.startswith("--pipelines=")]
                assert {c.removeprefix("--pipelines=") for c in commands} == needed, block
                assert commands[0] == "--pipelines=ingestion", block  # in the order to run them
                if "llm" in needed:
                    assert commands.index("--pipelines=forecasting") < commands.index(
                        "--pipelines=llm"
                    )
                assert len(block.splitlines()) <= 5, block
        assert not _written(project)


@pytest.mark.slow
def test_cli_run_of_a_pipeline_alone_stops_before_any_node(tmp_path):
    """``kedro run --pipelines=llm`` on a fresh clone: one block, exit 1, nothing written."""
    with in_project_copy(tmp_path / "project") as project:
        env = {k: v for k, v in os.environ.items() if k != DEBUG_ENV}
        done = run_kedro(project, ["run", "--pipelines=llm"], env)
        out = done.stdout + done.stderr
        assert done.returncode == 1, out
        assert "Traceback" not in out and "Running node" not in out, out
        block = out[out.index("cycle_kedro: bad input") :]
        assert "does not exist yet" in block and "--pipelines=forecasting" in block, block
        assert out.count("does not exist yet") == 1, out
        assert not _written(project)


def test_app_export_without_namespaces_stops_before_any_node(tmp_path, monkeypatch):
    """The synthetic generator would write over the user's export: stop, name the right command."""
    export = tmp_path / "export.csv"
    export.write_text("user_id,period_start\nu1,2026-01-03\nu1,2026-01-31\nu2,2026-02-02\n")
    before = export.read_bytes()
    monkeypatch.setenv("PERIOD_STARTS_FILE", str(export))
    with in_project_copy(tmp_path / "project") as project:
        with pytest.raises(ReadOnlyOutputError) as raised:
            with KedroSession.create(project_path=project, env="app_export") as session:
                session.run(pipeline_name="population")
        block = raised.value.block()
        assert str(export) in block, block
        assert "--env app_export --namespaces=population.app" in block, block
        assert not _written(project)  # before: 02_intermediate/population/fedcycle_period_starts
    assert export.read_bytes() == before
