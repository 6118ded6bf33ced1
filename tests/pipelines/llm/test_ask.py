"""The cycle-ask CLI helpers (the catalog-backed main() is exercised by hand, see the README)."""

from __future__ import annotations

import pytest

from cycle_kedro.ask import answer, explain_question, main
from cycle_kedro.validation import DataValidationError


def test_explain_question_uses_her_numbers(fedcycle_forecast):
    row = fedcycle_forecast.iloc[2]
    question = explain_question(fedcycle_forecast, row["woman_id"], "fedcycle.next_cycle_forecast")
    assert f"{int(row['n_cycles_used'])} recorded cycles" in question
    assert f"predicts {row['predicted_length']:.1f}".rstrip("0").rstrip(".") in question


def test_explain_question_unknown_id_names_the_dataset(fedcycle_forecast):
    with pytest.raises(
        DataValidationError,
        match=r"fedcycle\.next_cycle_forecast: no row with woman_id 'ffffffffffff'",
    ):
        explain_question(fedcycle_forecast, "ffffffffffff", "fedcycle.next_cycle_forecast")


def test_answer_is_greedy_and_bounded(tiny_model, tiny_tokenizer):
    opts = {"max_new_tokens": 4, "max_length": 64, "device": "cpu"}
    first = answer(tiny_model, tiny_tokenizer, "what is menopause", "be careful", opts)
    again = answer(tiny_model, tiny_tokenizer, "what is menopause", "be careful", opts)
    assert first == again and len(tiny_tokenizer(first, add_special_tokens=False)["input_ids"]) <= 4


def test_main_needs_exactly_one_of_question_or_explain():
    with pytest.raises(SystemExit):
        main([])
    with pytest.raises(SystemExit):
        main(["what is PMS?", "--explain", "0123456789ab"])
