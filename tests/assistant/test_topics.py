"""Question topics (embedding clustering, c-TF-IDF) and the held-out split by document and focus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.assistant import topics
from cycle_kedro.validation import DataValidationError


def _kb(n_docs: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for d in range(n_docs):
        focus = f"Condition {d % 20}"  # foci 0-9 appear in two documents each
        for q in range(rng.integers(1, 4)):
            rows.append({"doc_id": f"2_GARD_QA/{d:07d}.xml", "focus": focus if q else focus.upper(),
                         "topic": d % 4, "question": f"q{d}-{q}"})  # fmt: skip
    return pd.DataFrame(rows)


def test_no_document_or_focus_on_both_sides():
    kb = _kb()
    split = topics.held_out_split(kb, {"n_test": 12, "seed": 3, "max_component_rows": 10})
    test, index = kb[split == "test"], kb[split == "index"]
    assert len(test) >= 12 and len(index) > 0
    assert not set(test["doc_id"]) & set(index["doc_id"])
    assert not set(test["focus"].map(topics.focus_key)) & set(index["focus"].map(topics.focus_key))
    assert test["topic"].nunique() >= 3  # drawn round-robin over topics


def test_split_is_seeded_and_fails_when_too_few_rows_can_be_held_out():
    kb = _kb()
    options = {"n_test": 12, "seed": 3, "max_component_rows": 10}
    assert topics.held_out_split(kb, options).equals(topics.held_out_split(kb, options))
    with pytest.raises(DataValidationError, match="held-out"):
        topics.held_out_split(kb, {**options, "n_test": 10_000})


def test_components_join_shared_documents_and_foci():
    labels = topics.components(pd.Series(["a", "b", "b", "c"]), pd.Series(["X", "y", "Z", "x!"]))
    assert labels[0] == labels[3]  # focus X == x!
    assert labels[1] == labels[2]  # document b
    assert labels[0] != labels[1]


def test_topics_separate_themes_and_name_them(minilm):
    texts = [
        f"{w} question {i}"
        for w in ("pregnancy prenatal", "breast cancer mammogram")
        for i in range(6)
    ]
    emb = minilm.encode(texts)
    labels, terms = topics.cluster_topics(emb, texts, {"n_topics": 2, "seed": 0, "top_terms": 2})
    assert len(set(labels[:6])) == 1 and len(set(labels[6:])) == 1 and labels[0] != labels[6]
    assert {"pregnancy", "prenatal"} == set(terms[labels[0]].split(", "))
