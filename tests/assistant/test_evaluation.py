"""Summaries and paired bootstrap CIs of the evaluation, on hand-made per-answer rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.assistant.evaluation import questions_table, summarise


def _rows(system: str, rouge: list[float], nll: list[float], flagged: list[bool]) -> pd.DataFrame:
    n = len(rouge)
    return pd.DataFrame({
        "system": system, "question_id": [f"q{i}" for i in range(n)], "answer": ["a b c"] * n,
        "reference": ["a b c d"] * n, "rouge_l": rouge, "bertscore_f1": [0.5] * n, "nll": nll,
        "n_tokens": [2] * n, "flagged": flagged, "flag_contacts": [0] * n, "abstained": [False] * n,
        "numbers_supported": [np.nan] * n, "ref_tokens_cut": [0] * n,
    })  # fmt: skip


def test_paired_differences_and_cis():
    base = _rows("base", [10, 20, 30, 40], [2.0, 2.0, 2.0, 2.0], [True, False, False, False])
    better = _rows("lora_rag", [20, 30, 40, 50], [1.0, 1.0, 1.0, 1.0], [False] * 4)
    noisy = _rows("base_rag", [0, 40, 30, 60], [2.0, 2.0, 2.0, 2.0], [True, False, False, False])
    table = summarise(pd.concat([base, better, noisy]), n_boot=300, seed=0).set_index("system")
    assert table.loc["base", "perplexity"] == pytest.approx(math.exp(1.0))  # 8 nats / 8 tokens
    r = table.loc["lora_rag"]
    # every question gains exactly 10 points: the CI is the point
    assert (r["d_rouge_l"], r["d_rouge_l_lo"], r["d_rouge_l_hi"]) == pytest.approx((10, 10, 10))
    assert r["ppl_change"] == pytest.approx(math.exp(0.5) / math.exp(1.0) - 1)
    assert r["d_flagged_rate"] == pytest.approx(-0.25)
    n = table.loc["base_rag"]
    assert n["d_rouge_l"] == pytest.approx(7.5) and n["d_rouge_l_lo"] < 7.5 < n["d_rouge_l_hi"]
    assert "d_rouge_l" not in table.columns or pd.isna(table.loc["base", "d_rouge_l"])


def test_questions_table_reads_a_users_source():
    df = pd.DataFrame({
        "question": ["q1", "q2"], "answer": ["One. Two.", None],
        "source": ["https://medlineplus.gov/x.html", "4_MPlus_Health_Topics_QA/0000917.xml"],
    })  # fmt: skip
    out = questions_table(df, "user", 1)
    assert out["url"].tolist() == ["https://medlineplus.gov/x.html", ""]
    assert out["doc_id"].tolist() == ["", "4_MPlus_Health_Topics_QA/0000917.xml"]
    assert out["reference"].tolist() == ["One.", ""]
    assert out["question_id"].tolist() == ["user-0", "user-1"]
