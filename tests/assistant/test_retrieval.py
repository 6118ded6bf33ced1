"""Passages and hybrid retrieval (MiniLM dense + BM25, reciprocal-rank fusion)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from kedro.io import Version

from cycle_kedro.assistant import retrieval
from cycle_kedro.datasets.retrieval import RetrievalIndexDataset


def test_chunks_keep_whole_sentences_and_cap_words():
    text = "One two three. Four five six seven. Eight nine. " + " ".join(["w"] * 12) + "."
    chunks = retrieval.chunk_text(text, max_words=7)
    assert chunks[0] == "One two three. Four five six seven."
    assert all(len(c.split()) <= 7 for c in chunks)
    assert " ".join(chunks).split() == text.split()  # nothing lost
    assert retrieval.chunk_text(text, max_words=7, max_passages=1) == chunks[:1]


def test_passages_keep_question_focus_document_and_url(knowledge_base):
    passages = retrieval.split_passages(knowledge_base, max_words=12, max_passages=None)
    assert list(passages.columns) == retrieval.PASSAGE_COLUMNS
    first = passages[passages["row_id"] == 0]
    assert len(first) > 1 and set(first["doc_id"]) == {knowledge_base.loc[0, "doc_id"]}
    assert set(first["url"]) == {knowledge_base.loc[0, "url"]}
    assert set(first["question"]) == {knowledge_base.loc[0, "question"]}


def test_bm25_prefers_rare_matching_terms():
    bm25 = retrieval.Bm25.fit(["the cat sat", "the dog sat", "a rare aardvark here"])
    s = bm25.scores(["aardvark", "dog sat"])
    assert s[0].argmax() == 2 and s[0, 0] == 0.0
    assert s[1].argmax() == 1


def test_rrf_fuses_ranks_not_scores():
    a = np.array([[10.0, 9.0, 0.0]])  # item 0 first
    b = np.array([[0.0, 0.5, 0.4]])  # item 1 first, item 0 last
    fused = retrieval.rrf_fuse([a, b], k=1)
    assert fused[0].argmax() == 1  # 1/(1+2) + 1/(1+1) beats 1/(1+1) + 1/(1+3)


def test_planted_passage_is_found_first_and_index_round_trips(tmp_path, knowledge_base, minilm):
    planted = pd.DataFrame([{
        "row_id": 99, "doc_id": "4_MPlus_Health_Topics_QA/0009999.xml", "question": "What is mittelschmerz?",
        "focus": "Mittelschmerz", "url": "https://medlineplus.gov/mittelschmerz",
        "answer": "Mittelschmerz is one-sided lower abdominal pain at ovulation, midway through the cycle.",
    }])  # fmt: skip
    kb = pd.concat([knowledge_base, planted], ignore_index=True)
    passages = retrieval.split_passages(kb, max_words=40, max_passages=2)
    index = retrieval.build_index(passages, minilm, {"rrf_k": 60})
    queries = [
        "Why do I get pain on one side in the middle of my cycle at ovulation?",
        "mittelschmerz",
    ]
    for hits in index.search(queries, minilm, k=3):
        assert hits.iloc[0]["url"] == "https://medlineplus.gov/mittelschmerz"
        assert list(hits["rank"]) == [1, 2, 3]

    ds = RetrievalIndexDataset(filepath=str(tmp_path / "index"), version=Version(None, None))
    ds.save(index)
    loaded = RetrievalIndexDataset(
        filepath=str(tmp_path / "index"), version=Version(None, None)
    ).load()
    assert np.array_equal(loaded.embeddings, index.embeddings)
    again = loaded.search(queries, minilm, k=3)
    assert [h["passage_id"].tolist() for h in again] == [
        h["passage_id"].tolist() for h in index.search(queries, minilm, k=3)
    ]


def test_sibling_foci_are_broader_or_narrower_names_of_one_condition():
    assert retrieval._siblings("Ovarian Cancer", "childhood ovarian cancer")  # noqa: SLF001
    assert retrieval._siblings("PCOS", "pcos!")  # noqa: SLF001
    assert not retrieval._siblings("Ovarian cancer", "Breast cancer")  # noqa: SLF001
    assert not retrieval._siblings("", "Breast cancer")  # noqa: SLF001


class _StubIndex:
    """An index whose search returns fixed document lists (hand-computable recall)."""

    def __init__(self, docs: list[list[str]]):
        self.docs = docs

    def search(self, queries, encoder, k):
        return [
            pd.DataFrame(
                {
                    "doc_id": d[:k],
                    "row_id": range(len(d[:k])),
                    "dense": [0.9, 0.5, 0.1][: len(d[:k])],
                }
            )
            for d in self.docs
        ]


def test_document_recall_counts_the_first_passage_of_the_answering_document():
    questions = pd.DataFrame({"question": ["q1", "q2", "q3"], "doc_id": ["A", "C", "D"]})
    index = _StubIndex([["A", "B", "C"], ["A", "B", "C"], ["A", "B", "C"]])
    per_question, recall = retrieval.document_recall(questions, index, encoder=None, ks=(1, 3))
    assert per_question["rank"].tolist()[:2] == [1.0, 3.0] and np.isnan(
        per_question["rank"].iloc[2]
    )
    assert recall == {1: pytest.approx(1 / 3), 3: pytest.approx(2 / 3)}
    assert per_question["confidence"].tolist() == [0.9, 0.9, 0.9]
    rows = retrieval.answer_ranks(questions.assign(row_id=[2, 0, 1]), index, encoder=None, depth=3)
    assert rows["row_rank"].tolist() == [3.0, 1.0, 2.0]
    assert retrieval.recall_at(pd.Series(dtype=float), (1,)) == {
        1: pytest.approx(np.nan, nan_ok=True)
    }


def test_confidence_is_the_top_dense_cosine(knowledge_base, minilm):
    index = retrieval.build_index(retrieval.split_passages(knowledge_base, 40, 1), minilm, {})
    on_topic, off_topic = index.search(
        ["What are the symptoms of Osteoporosis?", "How do I change a bicycle tyre?"], minilm, k=3
    )
    assert -1.0 <= retrieval.confidence(off_topic) < retrieval.confidence(on_topic) <= 1.0
    assert retrieval.confidence(on_topic) == pytest.approx(on_topic["dense"].max())
    assert np.isnan(retrieval.confidence(on_topic.head(0)))


def test_the_question_type_boost_promotes_passages_of_the_asked_type(knowledge_base, minilm):
    passages = retrieval.split_passages(knowledge_base, 40, 1)
    passages["qtype"] = passages["row_id"].map(knowledge_base["qtype"])
    plain = retrieval.build_index(passages, minilm, {})
    boosted = replace(plain, type_weight=0.05)
    question = "how do I get rid of endometriosis?"  # a treatment question
    top = boosted.search([question], minilm, k=1)[0].iloc[0]
    assert (top["focus"], top["qtype"]) == ("Endometriosis", "treatment")
    before = plain.search([question], minilm, k=len(passages))[0].set_index("passage_id")["score"]
    after = boosted.search([question], minilm, k=len(passages))[0].set_index("passage_id")["score"]
    gain = (after - before.reindex(after.index)).round(9)
    meta = passages.set_index("passage_id").loc[gain.index]
    boosted_ones = (meta["qtype"] == "treatment") & (meta["focus"] == "Endometriosis")
    assert (
        boosted_ones.sum() == 1 and before.idxmax() in meta.index[meta["focus"] == "Endometriosis"]
    )
    # only the asked type of the top passage's condition: never another condition's treatment
    assert (gain[boosted_ones] == 0.05).all() and (gain[~boosted_ones] == 0).all()
    untyped = "I'm pregnant and my face is swelling"  # no type: no boost
    assert [h["passage_id"].tolist() for h in boosted.search([untyped], minilm, k=5)] == [
        h["passage_id"].tolist() for h in plain.search([untyped], minilm, k=5)
    ]


def test_extend_index_keeps_vectors_and_settings_and_round_trips(tmp_path, knowledge_base, minilm):
    first, rest = knowledge_base.iloc[:12], knowledge_base.iloc[12:]
    index = replace(
        retrieval.build_index(retrieval.split_passages(first, 40, 1), minilm, {}),
        lay_terms=True, type_weight=0.002,
    )  # fmt: skip
    extra = retrieval.split_passages(rest, 40, 1)
    full = retrieval.extend_index(index, extra, minilm, {})
    assert np.array_equal(full.embeddings[: len(index.passages)], index.embeddings)
    assert np.allclose(
        full.embeddings[len(index.passages) :],
        minilm.encode(retrieval.passage_text(extra)),
        atol=1e-5,
    )
    assert full.passages["passage_id"].is_unique and len(full.passages) == len(
        index.passages
    ) + len(extra)
    assert (full.lay_terms, full.type_weight) == (True, 0.002)
    assert set(full.passages["doc_id"]) == set(knowledge_base["doc_id"])

    ds = RetrievalIndexDataset(filepath=str(tmp_path / "full"), version=Version(None, None))
    ds.save(full)
    loaded = RetrievalIndexDataset(
        filepath=str(tmp_path / "full"), version=Version(None, None)
    ).load()
    assert (loaded.lay_terms, loaded.type_weight) == (True, 0.002)
    pretrained = RetrievalIndexDataset(
        filepath=str(tmp_path / "plain"), version=Version(None, None)
    )
    pretrained.save(replace(full, lay_terms=False, type_weight=0.0))
    meta = json.loads(next((tmp_path / "plain").glob("*/plain/bm25.json")).read_text())
    assert (
        "lay_terms" not in meta and "type_weight" not in meta
    )  # the pretrained index's file as before


def test_contexts_carry_the_search_confidence(knowledge_base, minilm):
    index = retrieval.build_index(retrieval.split_passages(knowledge_base, 40, 1), minilm, {})
    questions = pd.DataFrame({"question": ["What is osteoporosis?", "What does my forecast mean?"],
                              "kind": ["medquad", "forecast"], "focus": ["Osteoporosis", ""]})  # fmt: skip
    contexts = retrieval.retrieve_contexts(questions, index, minilm, k=2)
    assert 0 < contexts["confidence"].iloc[0] <= 1 and np.isnan(contexts["confidence"].iloc[1])
