"""One-screen errors: the block, the exit status, the debug switch, an unknown --env, cycle-ask."""

from __future__ import annotations

import logging
import os
import pickle
import sys

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from cycle_kedro import ask
from cycle_kedro.errors import (
    DEBUG_ENV,
    UnknownEnvironmentError,
    check_environment,
    data_error,
    excepthook,
)
from cycle_kedro.validation import DataValidationError, Problem

from .conftest import PROJECT_ROOT, copy_project, run_kedro


def _error() -> DataValidationError:
    return DataValidationError(
        source="export.csv",
        problems=[
            Problem(
                column="period_start", row=i, line=i + 2, value="x" * 10_000, expected="YYYY-MM-DD"
            )
            for i in range(9)
        ],
        n_problems=900,
        summary="900 of 900 dates are not ISO dates",
        hint="export ISO dates",
    )


def test_block_is_short_and_truncates_values():
    block = _error().block()
    lines = block.splitlines()
    assert len(lines) <= 15 and max(map(len, lines)) < 120
    assert "file:     export.csv" in block and "column:   period_start" in block
    assert "row 0 (file line 2)" in block and "... and 895 more" in block
    assert "(10,000 characters)" in block and "hint:     export ISO dates" in block


def test_error_survives_pickling_with_its_details():  # Dask workers raise it in another process
    again = pickle.loads(pickle.dumps(_error()))
    assert isinstance(again, DataValidationError) and again.block() == _error().block()


def test_excepthook_prints_the_block_and_honours_the_debug_switch(capsys, monkeypatch):
    seen = []
    monkeypatch.setattr(excepthook, "previous", lambda *a: seen.append(a[0]))
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    wrapped = RuntimeError("node failed")
    wrapped.__cause__ = _error()
    excepthook(RuntimeError, wrapped, None)  # a data error as the cause still counts
    err = capsys.readouterr().err
    assert "900 of 900 dates" in err and f"{DEBUG_ENV}=1" in err and not seen
    monkeypatch.setenv(DEBUG_ENV, "1")
    excepthook(RuntimeError, wrapped, None)
    assert seen == [RuntimeError] and capsys.readouterr().err == ""
    monkeypatch.delenv(DEBUG_ENV)
    excepthook(KeyError, KeyError("a bug"), None)  # not a data error: the full traceback
    assert seen == [RuntimeError, KeyError]


def test_unknown_env_lists_the_environments(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "app_export").mkdir()
    check_environment(tmp_path, "app_export")
    check_environment(tmp_path, None)
    with pytest.raises(UnknownEnvironmentError, match="no Kedro environment 'app_exprot'") as err:
        check_environment(tmp_path, "app_exprot")
    assert "use one of: app_export, base" in err.value.block()
    assert data_error(err.value) is err.value


def test_env_typo_in_a_session_is_clear_not_an_mlflow_error(tmp_path, monkeypatch):
    project = copy_project(tmp_path / "project")
    monkeypatch.chdir(project)
    bootstrap_project(project)
    with pytest.raises(UnknownEnvironmentError, match="no Kedro environment 'a10'"):
        with KedroSession.create(project_path=project, env="a10") as session:
            session.run(pipeline_name="ingestion")
    assert not (project / "mlruns").exists()  # stopped before kedro-mlflow touched anything


@pytest.mark.slow
def test_cli_bad_export_ends_in_one_short_block(tmp_path):
    """``kedro run`` on a bad export: the block names the user's file, exit 1, no traceback."""
    project = copy_project(tmp_path / "project")
    # MLflow's file store: the same hooks, without 10 s of creating a sqlite store
    mlflow_yml = project / "conf" / "base" / "mlflow.yml"
    mlflow_yml.write_text(
        mlflow_yml.read_text().replace("sqlite:///${cwd:}/mlflow.db", "file://${cwd:}/mlruns")
    )
    export = tmp_path / "my export.csv"
    export.write_text("user_id,period_start\nu1,03/01/2026\nu1,31/01/2026\nu2,02/02/2026\n")
    env = os.environ | {
        "PERIOD_STARTS_FILE": str(export),
        "MLFLOW_ALLOW_FILE_STORE": "true",
        "KEDRO_DISABLE_TELEMETRY": "true",
    }
    env.pop(DEBUG_ENV, None)
    args = ["run", "--pipeline=population", "--env", "app_export", "--namespaces=population.app"]
    done = run_kedro(project, args, env)
    assert done.returncode == 1
    err = done.stderr
    block = err[err.index("cycle_kedro: bad input") :]
    assert str(export) in block and "3 of 3 dates are not ISO dates" in block
    assert "dd/mm/yyyy or mm/dd/yyyy" in block and "YYYY-MM-DD" in block
    assert len(block.splitlines()) <= 15
    assert "Traceback" not in done.stdout + done.stderr
    assert not (project / "data" / "02_intermediate" / "population").exists()  # nothing written
    assert "data/01_raw/population/period_starts.csv" not in done.stdout + done.stderr


def test_cycle_ask_rejects_a_blank_question(capsys):
    with pytest.raises(SystemExit) as exit_info:
        ask.main(["   "])
    assert exit_info.value.code == 2 and "the question is empty" in capsys.readouterr().err


def test_cycle_ask_prints_only_the_answer_on_stdout(monkeypatch, capsys):
    def fake_run(args):
        handler = logging.StreamHandler(sys.stdout)  # a library logging to stdout, as Kedro's does
        logging.getLogger("fake").addHandler(handler)
        logging.getLogger("fake").warning("128 lines of logs")
        print("progress...")  # noqa: T201
        logging.getLogger("fake").removeHandler(handler)
        return f"A: {args.question}\n"

    monkeypatch.setattr(ask, "_run", fake_run)
    assert ask.main(["What is PMS?"]) == 0
    out, err = capsys.readouterr()
    assert out == "A: What is PMS?\n"
    assert "128 lines of logs" in err and "progress..." in err


def test_project_settings_register_the_hook():
    bootstrap_project(PROJECT_ROOT)
    from kedro.framework.project import settings  # noqa: PLC0415  (after bootstrap_project)

    assert any(type(h).__name__ == "DataErrorHooks" for h in settings.HOOKS)
