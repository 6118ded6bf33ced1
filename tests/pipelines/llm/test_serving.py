"""The served assistant ``cycle_assistant`` on a tiny model: registered, loaded back, served over HTTP.

``package_assistant_model`` packages the tiny Llama, its tokenizer, a LoRA adapter, an index over the
fixture knowledge base and the MiniLM encoder; the catalog's dataset class logs and registers it in a
temporary sqlite store. Loaded back from the registry, it answers every system exactly as the
library's :func:`~cycle_kedro.assistant.answer` (``cycle-ask``'s call) does on the same objects;
served by ``mlflow models serve`` on a free port of 127.0.0.1, it answers with its sources and
rejects an empty or over-long question with a 400, and is stopped by its process group.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cycle_kedro.assistant import SYSTEMS, answer, model_of, retrieval, system_models
from tests.http_client import mlflow_model_server, post_frame

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("peft")

MODEL = "cycle_assistant"
QUESTIONS = ["What is osteoporosis?", "What are the symptoms of menopause?"]


@pytest.fixture
def resources(tiny_model, tiny_tokenizer, random_adapter, knowledge_base, minilm):
    index = retrieval.build_index(retrieval.split_passages(knowledge_base, 12, 2), minilm, {})
    return {"base_model": tiny_model, "tokenizer": tiny_tokenizer, "adapter": random_adapter,
            "index": index, "encoder": minilm}  # fmt: skip


def _catalog_entry(project_root: Path) -> dict:
    catalog = yaml.safe_load((project_root / "conf/base/catalog_llm.yml").read_text())
    return catalog["llm.cycle_assistant"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A temporary sqlite MLflow store (its URI, current for the module) and an experiment's id."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:  # creates the database (its tables) once; artifacts beside it, not in the working directory
        yield uri, mlflow.create_experiment("serving", (root / "artifacts").as_uri())
    finally:
        mlflow.set_tracking_uri(previous)


@pytest.fixture
def registered(store, resources, llm_params, project_root):
    """A new version of ``cycle_assistant`` in the store (its URI), logged by the project's
    catalog entry ``llm.cycle_assistant`` as the llm run logs it."""
    from kedro.io import AbstractDataset  # noqa: PLC0415

    from cycle_kedro.pipelines.llm.serving import package_assistant_model  # noqa: PLC0415

    model = package_assistant_model(
        **resources, prompt=llm_params["prompt"], retrieval=llm_params["retrieval"],
        evaluation=llm_params["evaluation"], gating=llm_params["gating"],
        extractive=llm_params["extractive"], ask=llm_params["ask"], serving=llm_params["serving"],
    )  # fmt: skip
    dataset = AbstractDataset.from_config("llm.cycle_assistant", _catalog_entry(project_root))
    uri, experiment_id = store
    with mlflow.start_run(experiment_id=experiment_id) as run:
        dataset.save(model)
    assert mlflow.active_run() is None
    return uri, run.info.run_id


def test_default_run_logs_and_registers_the_served_assistant(project_root):
    from kedro.framework.project import pipelines  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(project_root)
    assert "llm.cycle_assistant" in pipelines["__default__"].all_outputs()
    entry = _catalog_entry(project_root)
    assert entry["type"] == "cycle_kedro.datasets.mlflow_model.MlflowServedModelDataset"
    assert entry["save_args"]["registered_model_name"] == MODEL


def _library_answer(question, system, resources, llm_params):
    """``cycle-ask --json``'s answer: the library call on the same objects (its NaN ``null``, as
    ``json.dumps`` + a strict parser would read it)."""
    models = system_models(resources["base_model"], resources["adapter"], [system])
    result = answer(
        question, system, model=models.get(model_of(system)), tokenizer=resources["tokenizer"],
        index=resources["index"], encoder=resources["encoder"], params=llm_params,
        options=llm_params["ask"],
    )  # fmt: skip
    flags = {
        k: None if isinstance(v, float) and math.isnan(v) else v for k, v in result["flags"].items()
    }
    return {**result, "flags": flags}


@pytest.mark.slow
def test_registered_model_answers_as_cycle_ask(registered, resources, llm_params):
    uri, run_id = registered
    client = mlflow.MlflowClient(tracking_uri=uri)
    latest = max(client.search_model_versions(f"name='{MODEL}'"), key=lambda v: int(v.version))
    assert latest.run_id == run_id
    info = mlflow.models.get_model_info(f"models:/{MODEL}/{latest.version}")
    assert set(info.flavors["python_function"]["artifacts"]) == {
        "base_model",
        "tokenizer",
        "lora_adapter",
        "retrieval_index",
        "text_encoder",
    }
    inputs = {c["name"]: c["required"] for c in info.signature.inputs.to_dict()}
    assert inputs == {"question": True, "system": False}
    assert info.saved_input_example_info is not None

    served = mlflow.pyfunc.load_model(f"models:/{MODEL}/latest")
    request = pd.DataFrame({"question": QUESTIONS * len(SYSTEMS),
                            "system": [s for s in SYSTEMS for _ in QUESTIONS]})  # fmt: skip
    out = served.predict(request)
    assert list(out.columns) == ["answer", "sources", "flags", "abstained", "system"]
    for row, (question, system) in zip(out.to_dict("records"), request.itertuples(index=False),
                                       strict=True):  # fmt: skip
        expected = _library_answer(question, system, resources, llm_params)
        got = {"answer": row["answer"], "sources": list(row["sources"]), "flags": row["flags"]}
        assert got == {k: expected[k] for k in got}, (question, system)
        assert row["abstained"] == expected["flags"]["abstained"] and row["system"] == system
    default = served.predict(pd.DataFrame({"question": QUESTIONS[:1]}))  # no system column
    system = llm_params["ask"]["system"]  # cycle-ask's default
    assert default["system"].tolist() == [system]
    assert default["answer"].tolist() == [
        _library_answer(QUESTIONS[0], system, resources, llm_params)["answer"]
    ]


@pytest.fixture
def server(registered, tmp_path):
    """``mlflow models serve -m models:/cycle_assistant/latest`` on a free port; its base URL."""
    uri, _ = registered
    with mlflow_model_server(f"models:/{MODEL}/latest", uri, tmp_path, tmp_path / "serve.log",
                             start_timeout=60) as base:  # fmt: skip
        yield base


@pytest.mark.slow
def test_served_over_http_with_sources_and_400s(server, resources, llm_params, knowledge_base):
    request = pd.DataFrame({"question": QUESTIONS, "system": ["retrieval", "base_rag"]})
    status, body = post_frame(f"{server}/invocations", request)
    assert status == 200, body
    top, rag = body["predictions"]
    assert top["answer"].lower().startswith("osteoporosis")
    assert top["sources"] and set(top["sources"]) <= set(knowledge_base["url"])
    expected = _library_answer(QUESTIONS[1], "base_rag", resources, llm_params)
    assert {k: rag[k] for k in ("answer", "sources", "flags")} == {
        k: expected[k] for k in ("answer", "sources", "flags")
    }
    # a symptom question ends with a clinician pointer: the symptoms one, or the gate's "not covered" answer
    assert rag["answer"].endswith(("Please see a doctor or nurse.", llm_params["gating"]["not_covered"]))

    for question, message in [
        ("   ", "row 0: the question is empty; ask something"),
        ("why " * 60, "row 0: the question has 240 characters; at most 200"),
    ]:
        status, body = post_frame(f"{server}/invocations", pd.DataFrame({"question": [question]}))
        assert status == 400, body
        assert body["error_code"] == "INVALID_PARAMETER_VALUE"
        assert message in body["message"], body["message"]
