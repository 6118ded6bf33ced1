"""Passages and hybrid retrieval (MiniLM dense + BM25, reciprocal-rank fusion)."""

from __future__ import annotations

import numpy as np
import pandas as pd
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
