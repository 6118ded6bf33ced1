"""The retriever's nodes: training pairs kept apart from every evaluated question, the two indexes, recall."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from cycle_kedro.assistant import retrieval
from cycle_kedro.pipelines.llm import create_pipeline
from cycle_kedro.pipelines.llm.retriever import build_retriever_sets, build_tuned_indexes


@pytest.fixture
def kb_split(knowledge_base) -> pd.DataFrame:
    """Held-out documents (``test``, never indexed) and held-out in-KB pairs (``in_kb_test``, indexed)."""
    split = ["test"] * 4 + ["in_kb_test"] * 3 + ["index"] * 17
    return knowledge_base.assign(split=split)


@pytest.fixture
def index(kb_split, minilm, llm_params) -> retrieval.RetrievalIndex:
    """The pretrained evaluation index: every row but the held-out documents (as build_retrieval_index)."""
    indexed = kb_split[kb_split["split"] != "test"]
    passages = retrieval.split_passages(indexed, 12, 2)
    passages["topic"] = passages["row_id"].map(indexed.set_index("row_id")["topic"])
    return retrieval.build_index(passages, minilm, llm_params["index"])


def test_no_evaluated_question_is_in_the_training_pairs(kb_split, llm_params):
    pairs, questions = build_retriever_sets(kb_split, llm_params["retriever"])
    held = kb_split[kb_split["split"].isin(["test", "in_kb_test"])]
    assert not set(pairs["row_id"]) & set(held["row_id"])
    assert not set(pairs["query"]) & set(held["question"])  # no held-out question, word for word
    assert not set(pairs["row_id"]) & set(questions["row_id"])  # nor a dev one
    in_kb = questions[questions["set"] == "in_kb"]
    assert sorted(in_kb["row_id"]) == sorted(
        kb_split.loc[kb_split["split"] == "in_kb_test", "row_id"]
    )
    assert questions["set"].value_counts().to_dict() == {
        "in_kb": 3,
        "in_kb_consumer": 3,
        "dev": 3,
        "dev_consumer": 3,
    }
    consumer = questions[questions["set"] == "in_kb_consumer"]
    assert not set(consumer["question"]) & set(pairs["query"])  # the evaluation's own template


def test_the_deployment_index_holds_every_document_the_evaluation_index_no_held_out_one(
    kb_split, index, minilm, llm_params
):
    tuned, deployment = build_tuned_indexes(
        kb_split, index, minilm, llm_params["index"], llm_params["retriever"]
    )
    held_out = set(kb_split.loc[kb_split["split"] == "test", "doc_id"]) - set(
        kb_split.loc[kb_split["split"] != "test", "doc_id"]
    )
    assert held_out and not held_out & set(tuned.passages["doc_id"])
    assert set(deployment.passages["doc_id"]) == set(kb_split["doc_id"])
    assert set(deployment.passages["row_id"]) == set(kb_split["row_id"])
    assert (
        deployment.passages["passage_id"].is_unique and deployment.passages["topic"].notna().all()
    )
    assert tuned.type_weight == deployment.type_weight == llm_params["retriever"]["type_weight"]
    assert set(tuned.passages["qtype"]) == set(kb_split["qtype"])
    assert len(tuned.passages) == len(index.passages)  # the pretrained vectors, re-used


@pytest.mark.slow
def test_retriever_nodes_measure_recall_before_and_after(kb_split, index, minilm, llm_params):
    pipeline = create_pipeline().from_nodes("llm.build_retriever_sets").to_nodes(
        "llm.evaluate_retrievers"
    ) + create_pipeline().only_nodes("llm.build_tuned_indexes")
    catalog = DataCatalog()
    catalog["llm.kb_split"] = kb_split
    catalog["llm.retrieval_index"] = MemoryDataset(index, copy_mode="assign")
    catalog["llm.text_encoder"] = MemoryDataset(minilm, copy_mode="assign")
    for group in ("retriever", "index"):
        catalog[f"params:llm.{group}"] = llm_params[group]
    outputs = SequentialRunner().run(pipeline, catalog)

    table = outputs["llm.retriever_evaluation"].load()
    assert table[["retriever", "set"]].values.tolist() == [
        [r, s] for r in ("minilm_bm25", "tuned", "tuned_types") for s in ("in_kb", "in_kb_consumer")
    ]
    assert table.filter(like="recall_at").stack().between(0, 1).all()
    assert (table["recall_at_3"] >= table["recall_at_1"]).all()
    weights = outputs["llm.retriever_type_weights"].load()
    assert weights["type_weight"].tolist() == llm_params["retriever"]["type_weights"]
    metrics = outputs["llm.retriever_metrics"].load()
    before = table.set_index(["retriever", "set"]).loc[("minilm_bm25", "in_kb"), "recall_at_3"]
    assert metrics["llm.retriever.minilm_bm25.in_kb.recall_at_3"]["value"] == pytest.approx(before)
    assert len(outputs["llm.retriever_loss"].load()) > 0
