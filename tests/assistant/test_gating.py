"""Know when you know: the retrieval confidence, the gate, the trade-off table and the dev-set rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.assistant import gating, selection


def test_stem_joins_word_forms():
    assert gating.stem("pregnant") == gating.stem("pregnancy") == "pregn"
    assert gating.stem("bleeding") == gating.stem("bleed") == "bleed"
    assert gating.stem("periods") == gating.stem("period")


def test_confidence_hand_computed():
    weights = {"preeclampsia": 3.0, "blood": 1.0, "pressure": 1.0}
    passages = [
        {
            "focus": "preeclampsia",
            "question": "What is preeclampsia?",
            "text": "High blood pressure.",
        },
        {"focus": "Anemia", "question": "What is anemia?", "text": "Low blood counts."},
    ]
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
