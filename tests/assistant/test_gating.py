"""Know when you know: the retrieval confidence, the gate, the trade-off table and the dev-set rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.assistant import gating, retrieval, selection
from tests.conftest import load_params


def test_stem_joins_word_forms():
    assert gating.stem("pregnant") == gating.stem("pregnancy") == "pregn"
    assert gating.stem("bleeding") == gating.stem("bleed") == "bleed"
    assert gating.stem("periods") == gating.stem("period")


WEIGHTS = {"preeclampsia": 3.0, "blood": 1.0, "pressure": 1.0}
PASSAGES = [
    {"focus": "preeclampsia", "question": "What is preeclampsia?", "text": "High blood pressure."},
    {"focus": "Anemia", "question": "What is anemia?", "text": "Low blood counts."},
]


def test_confidence_hand_computed():
    weights, passages = WEIGHTS, PASSAGES
    # content words: blood (1), pressure (1), up (unseen: the largest weight, 3), preeclampsia (3);
    # the first passage holds blood, pressure, preeclampsia: (1 + 1 + 3) / 8
    question = "My blood pressure is up, is it preeclampsia?"
    assert gating.confidence(question, passages, weights) == pytest.approx(5 / 8)
    assert gating.confidence(question, passages[1:], weights) == pytest.approx(1 / 8)
    assert gating.confidence(question, [], weights) == 0.0


def test_the_gate_threshold():
    assert gating.is_gated(0.2, 0.5) and not gating.is_gated(0.5, 0.5)
    assert not gating.is_gated(float("nan"), 0.5)  # forecast questions are never gated


def _rows(subset, confidence, abstained, kp, on_target):
    n = len(confidence)
    return pd.DataFrame({"system": "extractive", "subset": subset, "confidence": confidence,
                         "raw_abstained": abstained, "raw_k_precision": kp, "raw_on_target": on_target,
                         "covered": pd.notna(on_target),  # NaN: no answering document
                         "question_id": [f"{subset}{i}" for i in range(n)]})  # fmt: skip


def test_tradeoff_and_the_dev_threshold_rule():
    dev = _rows("dev", [0.9, 0.7, 0.4, 0.2], [False] * 4, [1.0, 1.0, 0.5, 1.0],
                [True, True, True, np.nan])  # fmt: skip
    table = gating.tradeoff(dev, "extractive", [0.0, 0.3, 0.5, 0.8], kp_min=0.8).set_index(
        "threshold"
    )
    assert table["answered"].tolist() == [1.0, 0.75, 0.5, 0.25]
    assert table.loc[0.0, "faithfulness"] == pytest.approx(3 / 4)  # the 0.5 K-Precision answer
    assert table.loc[0.0, "precision"] == pytest.approx(2 / 4)  # ... and the uncovered question
    assert table.loc[0.5, "precision"] == pytest.approx(1.0)
    assert table.loc[0.3, "faithful_or_abstained"] == pytest.approx(3 / 4)
    # utility (+1 grounded, -1 other answer, 0 abstained): 0/4, 1/4, 2/4, 1/4
    assert table["utility"].tolist() == pytest.approx([0.0, 0.25, 0.5, 0.25])
    # Youden's J: covered answered (3, 3, 2, 1 of 3) - uncovered answered (1, 0, 0, 0 of 1)
    assert table["youden"].tolist() == pytest.approx([0.0, 1.0, 2 / 3, 1 / 3])
    assert selection.choose_threshold(table.reset_index()) == 0.3
    flat = table.reset_index().assign(youden=0.0)
    assert selection.choose_threshold(flat) == 0.0  # ties: the lowest threshold
    with pytest.raises(ValueError, match="dev"):
        selection.choose_threshold(table.reset_index().assign(subset="in_kb"))


def test_the_default_system_rule():
    summary = pd.DataFrame({
        "system": ["base", "lora_rag", "extractive", "retrieval", "extractive"],
        "subset": ["dev", "dev", "dev", "dev", "in_kb"],
        "recall": [0.6, 0.5, 0.4, 0.45, 0.99], "k_precision": [0.3, 0.85, 1.0, 1.0, 1.0],
    })  # fmt: skip
    assert selection.choose_default(summary, {"min_k_precision": 0.9}) == "retrieval"
    assert selection.choose_default(summary, {"min_k_precision": 0.8}) == "lora_rag"
    assert (
        selection.choose_default(summary, {"min_k_precision": 1.1}) == "extractive"
    )  # most faithful


def test_focus_match_hand_computed():
    weights, passages = WEIGHTS, PASSAGES
    # content words: blood (1), pressure (1), up (unseen: 3), preeclampsia (3); the first passage's
    # focus and question hold only preeclampsia: 3 / 8 (its text, blood pressure, does not count)
    question = "My blood pressure is up, is it preeclampsia?"
    assert gating.focus_match(question, passages, weights) == pytest.approx(3 / 8)
    assert gating.focus_match(question, passages[1:], weights) == 0.0
    # a near-miss: the passage's text holds the question's words, its topic is another one
    uterus = [{"focus": "Uterine Diseases", "question": "What is (are) Uterine Diseases?",
               "text": "Endometrial cancer can cause bleeding; risk factors include age."}]  # fmt: skip
    weights = {"risk": 1.0, "endometrial": 3.0, "cancer": 1.0, "uterine": 2.0, "diseases": 1.0}
    near_miss = "Who is at risk for endometrial cancer?"
    assert gating.confidence(near_miss, uterus, weights) == pytest.approx(1.0)  # (1 + 3 + 1) / 5
    assert gating.focus_match(near_miss, uterus, weights) == 0.0


def test_roc_auc_hand_computed():
    # positives 0.9, 0.4 against negatives 0.6, 0.2: 0.9 beats both, 0.4 beats 0.2 only -> 3 / 4
    assert selection.roc_auc(
        np.array([0.9, 0.4, 0.6, 0.2]), np.array([1, 1, 0, 0])
    ) == pytest.approx(0.75)
    assert selection.roc_auc(np.array([0.5, 0.5]), np.array([1, 0])) == pytest.approx(
        0.5
    )  # a tie: half
    assert selection.roc_auc(np.array([np.nan, 0.1]), np.array([1, 0])) == 0.0  # NaN ranks lowest
    assert np.isnan(selection.roc_auc(np.array([0.3, 0.4]), np.array([1, 1])))


def test_the_dev_rule_picks_the_score_with_the_best_auc():
    rows = pd.DataFrame({
        "kind": ["dev"] * 4 + ["medquad"] * 2, "question_id": ["d0", "d1", "d2", "d3", "m0", "m1"],
        "covered": [True, True, False, False, False, False],
        "confidence_word_share": [0.9, 0.4, 0.6, 0.2, 0.9, 0.9],  # dev AUC 3/4
        "confidence_focus_match": [0.8, 0.7, 0.1, 0.1, 0.0, 0.0],  # dev AUC 1
        "confidence_dense": [0.5, 0.1, 0.3, 0.7, 0.0, 0.0],  # dev AUC 1/4 (0.5 beats 0.3)
    })  # fmt: skip
    twice = pd.concat([rows, rows])  # two systems' rows: each question counts once
    aucs = selection.score_aucs(twice, gating.SCORES)
    assert aucs == pytest.approx({"word_share": 0.75, "focus_match": 1.0, "dense": 0.25})
    assert selection.choose_score(aucs) == "focus_match"
    assert (
        selection.choose_score({"word_share": 0.8, "dense": 0.8}) == "word_share"
    )  # ties: the earlier
    with pytest.raises(ValueError, match="dev"):
        selection.score_aucs(rows[rows["kind"] != "dev"], gating.SCORES)


def test_with_confidence_gates_on_the_score_in_parameters(knowledge_base, minilm):
    index = retrieval.build_index(retrieval.split_passages(knowledge_base, 12, 2), minilm, {})
    asked = pd.DataFrame({"question": ["What is Kallmann syndrome?", "What is Turner syndrome?"],
                          "kind": "dev", "focus": ""})  # fmt: skip
    contexts = retrieval.retrieve_contexts(asked, index, minilm, 2)
    for score in gating.SCORES:
        scored = gating.with_confidence(contexts, index, score)
        assert scored["confidence"].tolist() == scored[f"confidence_{score}"].tolist()
    assert gating.with_confidence(contexts, index, "dense")["confidence"].tolist() == pytest.approx(
        contexts["confidence"].tolist()  # the retriever's cosine of the top passage
    )
    with pytest.raises(ValueError, match="unknown gating score"):
        gating.with_confidence(contexts, index, "bm25")


def test_the_gate_blocks_a_near_miss_on_a_tiny_index(knowledge_base, minilm):
    params = load_params("llm")["llm"]["gating"]  # the score and threshold cycle-ask gates on
    index = retrieval.build_index(retrieval.split_passages(knowledge_base, 12, 2), minilm, {})
    # Kallmann syndrome is indexed; Turner syndrome is not, though "syndrome" is (a near-miss)
    asked = pd.DataFrame({"question": ["What is Kallmann syndrome?", "What is Turner syndrome?"],
                          "kind": "dev", "focus": ""})  # fmt: skip
    scored = gating.with_confidence(
        retrieval.retrieve_contexts(asked, index, minilm, 2), index, params["score"]
    )
    covered, near_miss = scored["confidence"].tolist()
    assert not gating.is_gated(covered, params["threshold"])
    assert gating.is_gated(near_miss, params["threshold"])
