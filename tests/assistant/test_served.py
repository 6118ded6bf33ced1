"""The served assistant's request checks and its artifacts (written and read back by the same functions)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.assistant import retrieval
from cycle_kedro.assistant.artifacts import read_resource, write_resource

mlflow = pytest.importorskip("mlflow")

from cycle_kedro.assistant.served import AssistantModel  # noqa: E402 (needs mlflow)


@pytest.fixture
def served(llm_params) -> AssistantModel:
    """A served model without resources (enough to check requests)."""
    params = {
        k: llm_params[k] for k in ("prompt", "retrieval", "evaluation", "gating", "extractive")
    }
    serving = {**llm_params["serving"], "default_system": "lora_rag"}
    return AssistantModel({}, params=params, options=llm_params["ask"], serving=serving)


def test_a_row_without_a_system_gets_the_default(served):
    frame = pd.DataFrame({"question": ["What is PMS?", "And PMDD?", "Cramps?"],
                          "system": [None, "", "base_rag"]})  # fmt: skip
    assert served.requests(frame) == [
        ("What is PMS?", "lora_rag"), ("And PMDD?", "lora_rag"), ("Cramps?", "base_rag")
    ]  # fmt: skip
    assert served.requests(frame[["question"]])[2] == ("Cramps?", "lora_rag")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"question": ["What is PMS?", " \n"]}), "row 1: the question is empty"),
        (pd.DataFrame({"question": [None]}), "row 0: the question is empty"),
        (pd.DataFrame({"question": ["x" * 201]}), "row 0: the question has 201 characters; at most 200"),
        (pd.DataFrame({"question": ["Hi?"], "system": ["gpt"]}), "row 0: unknown system 'gpt'; choose from"),
        (pd.DataFrame({"text": ["Hi?"]}), "the request needs a column 'question'"),
        (pd.DataFrame({"question": []}), "the request has no rows"),
    ],
)  # fmt: skip
def test_a_bad_request_is_an_invalid_parameter_error(served, frame, message):
    with pytest.raises(mlflow.exceptions.MlflowException, match=message) as caught:
        served.predict(None, frame)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_an_unknown_default_system_is_refused(llm_params):
    with pytest.raises(ValueError, match="default_system must be one of"):
        AssistantModel({}, params={}, options={}, serving={"default_system": "gpt"})


def test_resources_are_pickled_as_nothing(served):
    import cloudpickle  # noqa: PLC0415

    served.resources = {"retrieval_index": np.zeros(10**6)}
    assert cloudpickle.loads(cloudpickle.dumps(served)).resources == {}
    assert served.resources["retrieval_index"].shape == (10**6,)  # the node's object is unchanged
    assert copy.deepcopy(served).resources is served.resources  # a copy (MemoryDataset) keeps them


def test_index_and_adapter_read_back_equal(tmp_path, knowledge_base, minilm, random_adapter):
    torch = pytest.importorskip("torch")
    index = retrieval.build_index(retrieval.split_passages(knowledge_base, 12, 2), minilm, {})
    back = read_resource(
        "retrieval_index", write_resource("retrieval_index", index, tmp_path / "i")
    )
    pd.testing.assert_frame_equal(back.passages, index.passages)
    np.testing.assert_array_equal(back.embeddings, index.embeddings)
    assert (back.bm25.doc_tf != index.bm25.doc_tf).nnz == 0 and back.rrf_k == index.rrf_k
    query = ["heavy periods and bleeding"]
    assert back.search(query, minilm, k=3)[0].equals(index.search(query, minilm, k=3)[0])

    adapter = read_resource(
        "lora_adapter", write_resource("lora_adapter", random_adapter, tmp_path / "a")
    )
    assert adapter.config.r == random_adapter.config.r and adapter.config.inference_mode
    assert adapter.state_dict.keys() == random_adapter.state_dict.keys()
    assert all(torch.equal(adapter.state_dict[k], v) for k, v in random_adapter.state_dict.items())


def test_an_unknown_resource_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no writer for the resource 'weights'"):
        write_resource("weights", object(), tmp_path)
