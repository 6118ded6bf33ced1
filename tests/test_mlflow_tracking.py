"""kedro-mlflow logs one run per ``kedro run``, named after the pipeline, into the sqlite store.

Runs the real ``ingestion`` and ``statistics`` pipelines through a ``KedroSession`` in a copy of
the project (so the project's own ``mlflow.db`` and ``data/`` are untouched) and reads the runs
back with ``MlflowClient``.
"""

from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession
from mlflow.tracking import MlflowClient

from cycle_kedro.pseudonyms import PseudonymKey

from .conftest import PROJECT_ROOT, TEST_KEY, in_project_copy

RUNTIME_PARAMS = {
    "statistics": {"synthetic": {"inference": {"n_boot": 200}}}
}  # as `kedro run --params`; fast


def _runs_by_name(client: MlflowClient, experiment: str) -> dict[str, list]:
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"experiment {experiment!r} was not created"
    runs: dict[str, list] = {}
    for run in client.search_runs([exp.experiment_id]):
        runs.setdefault(run.info.run_name, []).append(run)
    return runs


def _artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    out = []
    for info in client.list_artifacts(run_id, path):
        out += _artifact_paths(client, run_id, info.path) if info.is_dir else [info.path]
    return out


@pytest.fixture(scope="module")
def tracked_project(tmp_path_factory):
    """A project copy after ``kedro run --pipeline=ingestion`` then ``--pipeline=statistics``."""
    with in_project_copy(tmp_path_factory.mktemp("tracked") / "project") as project:
        for name in ("ingestion", "statistics"):
            with KedroSession.create(
                project_path=project, runtime_params=RUNTIME_PARAMS
            ) as session:
                session.run(pipeline_name=name)
            # tracking.run.nested is off, so each session closes its run (notebooks run several)
            assert mlflow.active_run() is None, f"the {name} session left its MLflow run active"
        yield project


@pytest.fixture(scope="module")
def client(tracked_project) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{tracked_project / 'mlflow.db'}")


@pytest.fixture(scope="module")
def runs(client) -> dict[str, list]:
    conf = yaml.safe_load((PROJECT_ROOT / "conf" / "base" / "mlflow.yml").read_text())
    return _runs_by_name(client, conf["tracking"]["experiment"]["name"])


@pytest.mark.slow
def test_one_finished_run_per_pipeline_named_after_it(runs):
    assert set(runs) == {"ingestion", "statistics"}
    for name, found in runs.items():
        assert len(found) == 1, f"{len(found)} runs named {name!r}"
        assert found[0].info.status == "FINISHED"
        assert found[0].data.tags.get("kedro_command") == f"kedro run --pipeline={name}"


@pytest.mark.slow
def test_params_are_logged_flattened(runs):
    ingestion = runs["ingestion"][0].data.params
    params = yaml.safe_load(
        (PROJECT_ROOT / "conf" / "base" / "parameters_ingestion.yml").read_text()
    )
    assert ingestion["synthetic_cohort.seed"] == str(params["synthetic_cohort"]["seed"])
    assert ingestion["synthetic_cohort.effects.rho_steps_p4"] == str(
        params["synthetic_cohort"]["effects"]["rho_steps_p4"]
    )
    statistics = runs["statistics"][0].data.params
    assert (
        statistics["statistics.synthetic.inference.n_boot"] == "200"
    )  # the runtime override, not the file's
    assert "statistics.synthetic.activity.threshold_steps" in statistics


@pytest.mark.slow
def test_statistics_metrics_carry_the_cohort_prefix(runs):
    metrics = runs["statistics"][0].data.metrics
    assert metrics, "the statistics run logged no metric"
    assert all(key.startswith("synthetic.") for key in metrics), sorted(metrics)[:10]
    assert metrics["synthetic.n_women"] == 85
    assert -1 <= metrics["synthetic.pearson_r_steps_p4"] <= 1
    assert 0 <= metrics["synthetic.pearson_p_steps_p4"] <= 1


@pytest.mark.slow
def test_statistics_tables_and_figures_are_artifacts(client, runs):
    paths = _artifact_paths(client, runs["statistics"][0].info.run_id)
    names = {Path(p).name for p in paths}
    assert "synthetic_statistics_results.csv" in names, paths
    assert any(name.endswith(".png") for name in names), paths
    assert all(p.startswith("statistics/synthetic") for p in paths), paths


@pytest.mark.slow
def test_no_key_salt_or_raw_id_in_params_artifacts_or_outputs(client, runs, tracked_project):
    """The pseudonymisation key, the old committed salt and raw ids never reach MLflow or data/."""
    secrets = [TEST_KEY, "cycle_kedro-v1"]
    for run in (found[0] for found in runs.values()):
        for name, value in run.data.params.items():
            assert not any(s in value for s in secrets), f"param {name} holds a secret"
            assert not {"salt", "hmac", "key"} & set(name.lower().replace(".", "_").split("_"))
        for tag in run.data.tags.values():
            assert not any(s in tag for s in secrets)
    written = [
        p
        for folder in ("data", "mlruns")
        for p in (tracked_project / folder).rglob("*")
        if p.is_file() and "01_raw" not in p.parts
    ]
    written.append(tracked_project / "mlflow.db")  # params, tags and metrics live here
    artifacts = [p for p in written if "artifacts" in p.parts]
    assert artifacts and any(p.suffix == ".parquet" for p in written)
    for path in written:
        content = path.read_bytes()
        assert not any(s.encode() in content for s in secrets), f"a secret was written to {path}"
        assert b"nfp8" not in content, f"a raw FedCycle id was written to {path}"
    cycles = pd.read_parquet(tracked_project / "data" / "03_primary" / "fedcycle_cycles.parquet")
    assert set(cycles["woman_id"]) <= {
        PseudonymKey(TEST_KEY).pseudonym(f"nfp8{n:03d}") for n in range(1000)
    }
