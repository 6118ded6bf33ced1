"""The forecaster trained through Kedro, registered in MLflow and served by ``mlflow models serve``.

In a copy of the project: ``ingestion`` (FedCycle tables only), then
``kedro run --pipeline=forecasting_training`` through a ``KedroSession`` (logs the model and
registers version 1 of ``cycle_forecaster`` in the copy's sqlite store). Then MLflow's own server
is started on ``models:/cycle_forecaster/latest`` as a subprocess, answers two women's histories
with the forecasting pipeline's own ``next_cycle_forecast`` rows (day-1 and current-cycle
columns), rejects bad payloads with a 400
and a message naming the column, and is stopped by its process group in ``finally``.
"""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from mlflow.tracking import MlflowClient

from cycle_kedro.cycles.contracts import NEXT_CYCLE_COLUMNS, NEXT_CYCLE_CURRENT_COLUMNS
from cycle_kedro.cycles.explain import explain_forecast
from cycle_kedro.cycles.forecaster import FORECAST_COLUMNS, SKIP_AWARE_COLUMNS, predict_next
from cycle_kedro.pipelines.forecasting.current_cycle import (
    add_current_cycle_fields,
    current_cycle_status,
    fit_cohort_incycle_state,
)
from cycle_kedro.pipelines.forecasting.folds import attach_cycle_details, prepare_forecast_frame
from cycle_kedro.pipelines.forecasting.model_selection import select_cohort_model
from cycle_kedro.pipelines.forecasting.models import predict_baselines
from cycle_kedro.pipelines.forecasting.next_cycle import forecast_next_cycle
from tests.http_client import mlflow_model_server, post_frame

from ...conftest import in_project_copy, load_params

MODEL = "cycle_forecaster"
KEYS = ["woman_id", "cycle_index"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The project copy after the FedCycle ingestion and one ``forecasting_training`` run."""
    with in_project_copy(tmp_path_factory.mktemp("serving") / "project") as project:
        with KedroSession.create(project_path=project) as session:
            session.run(
                pipeline_name="ingestion", to_outputs=["fedcycle_model_input", "fedcycle_cycles"]
            )
        small = {"population.generator.n_users": 1000}  # the app cohort's skip-aware model, quickly
        with KedroSession.create(project_path=project, runtime_params=small) as session:
            session.run(pipeline_name="population", to_outputs=["population.app.adherence_model"])
        with KedroSession.create(project_path=project) as session:
            session.run(pipeline_name="forecasting_training")
        assert mlflow.active_run() is None
        yield project


@pytest.fixture(scope="module")
def server(trained):
    """``mlflow models serve -m models:/cycle_forecaster/latest`` on a free port; its base URL."""
    uri = f"sqlite:///{trained / 'mlflow.db'}"
    with mlflow_model_server(f"models:/{MODEL}/latest", uri, trained, trained / "serve.log",
                             start_timeout=90) as base:  # fmt: skip
        yield base


@pytest.fixture(scope="module")
def cohort(trained) -> pd.DataFrame:
    return pd.read_parquet(trained / "data/05_model_input/fedcycle_model_input.parquet")


@pytest.fixture(scope="module")
def cycles(trained) -> pd.DataFrame:
    return pd.read_parquet(trained / "data/03_primary/fedcycle_cycles.parquet")


def _pipeline_rows(cohort: pd.DataFrame, cycles: pd.DataFrame) -> pd.DataFrame:
    """``forecasting.fedcycle.next_cycle_forecast`` as the forecasting pipeline's own nodes build it.

    Its next-cycle and current-cycle nodes read only the out-of-fold ``pred_shrinkage`` of
    ``forecast_predictions``, so the baselines stand in for the (slow) full model comparison.
    """
    fc = load_params("forecasting")["forecasting"]["fedcycle"]
    frame = prepare_forecast_frame(cohort, fc["evaluation"])
    preds = frame.join(predict_baselines(frame).add_prefix("pred_"))
    base = forecast_next_cycle(frame, preds, fc["next_cycle"], fc["intervals"])
    details = attach_cycle_details(frame, cycles)
    state = fit_cohort_incycle_state(
        details, preds, select_cohort_model(frame, fc["robust"]), fc["incycle"]
    )
    rows = add_current_cycle_fields(base, details, state, current_cycle_status(frame))
    return rows.set_index("woman_id")


@pytest.mark.slow
def test_training_run_logs_and_registers_the_model(trained):
    client = MlflowClient(tracking_uri=f"sqlite:///{trained / 'mlflow.db'}")
    versions = client.search_model_versions(f"name='{MODEL}'")
    assert [int(v.version) for v in versions] == [1]
    run = client.get_run(versions[0].run_id)
    assert run.info.run_name == "forecasting_training" and run.info.status == "FINISHED"
    logged = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id], output_format="list"
    )
    assert [m.source_run_id for m in logged] == [run.info.run_id]
    info = mlflow.models.get_model_info(f"models:/{MODEL}/1")
    assert {"woman_id", "cycle_index", "cycle_length"} <= set(info.signature.inputs.input_names())
    assert info.saved_input_example_info is not None


@pytest.mark.slow
def test_served_answers_equal_the_pipeline_rows(server, cohort, cycles):
    women = sorted(cohort["woman_id"].unique())[:2]
    history = cohort[cohort["woman_id"].isin(women)].merge(
        cycles[[*KEYS, "ovulation_day"]], on=KEYS, how="left"
    )
    request = history[[*KEYS, "cycle_length", "ovulation_day"]]
    status, body = post_frame(f"{server}/invocations", request)
    assert status == 200, body
    served = pd.DataFrame(body["predictions"]).set_index("woman_id")
    assert list(served.reset_index().columns) == [*FORECAST_COLUMNS, *SKIP_AWARE_COLUMNS]
    rows = _pipeline_rows(cohort, cycles).loc[women]
    cols = [c for c in (*NEXT_CYCLE_COLUMNS, *NEXT_CYCLE_CURRENT_COLUMNS) if c != "woman_id"]
    assert list(rows.columns) == cols
    served = served.astype({c: float for c in cols if rows[c].dtype.kind == "f"})
    pd.testing.assert_frame_equal(served[cols], rows[cols], check_dtype=False, rtol=1e-12)
    assert served["explanation"].tolist() == [
        explain_forecast(r) for r in served.to_dict("records")
    ]
    # and on a later cycle day with a detected ovulation
    late = request.assign(days_since_start=20.0, current_ovulation_day=14.0,
                          current_cycle_start="2026-11-01")  # fmt: skip
    status, body = post_frame(f"{server}/invocations", late)
    assert status == 200, body
    answer = body["predictions"][0]
    assert answer["incycle_method"] == "ovulation"
    assert "Now that ovulation was detected on day 14" in answer["explanation"]
    assert answer["predicted_next_start"] >= "2026-11-20"


@pytest.mark.slow
def test_served_skip_aware_answer_is_the_app_cohorts_model(server, trained, cohort):
    """The skip-aware columns come from the population pipeline's app model, carried in the state:
    the library's answer for the same request; a period 40 days late has probably been missed."""
    state = json.loads((trained / "data/06_models/cycle_forecaster_state.json").read_text())
    app = json.loads((trained / "data/06_models/population/app_adherence_model.json").read_text())
    assert state["skip_aware"] == app
    woman = cohort["woman_id"].min()
    history = cohort[cohort["woman_id"] == woman][[*KEYS, "cycle_length"]]
    answers = {}
    for day in (2.0, history["cycle_length"].max() + 40):
        request = history.assign(days_since_start=day)
        status, body = post_frame(f"{server}/invocations", request)
        assert status == 200, body
        answers[day] = body["predictions"][0]
        want = predict_next(state, request).iloc[0]
        for col in SKIP_AWARE_COLUMNS:
            assert answers[day][col] == pytest.approx(want[col], rel=1e-12), col
        assert answers[day]["skip_aware_start_day"] > day
    early, late = answers.values()
    assert early["p_missed_start"] < 0.05
    assert late["p_missed_start"] > 0.5


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="cycle_length"), "missing inputs ['cycle_length']"),
        (
            lambda d: d.assign(cycle_length=np.where(d["cycle_index"] == 2, -3.0, 28.0)),
            "column 'cycle_length' must not be negative",
        ),  # fmt: skip
    ],
)
def test_bad_payload_is_a_400_naming_the_column(server, cohort, change, message):
    request = cohort[cohort["woman_id"] == cohort["woman_id"].min()][[*KEYS, "cycle_length"]]
    status, body = post_frame(f"{server}/invocations", change(request))
    assert status == 400, body
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in body["message"], body["message"]
