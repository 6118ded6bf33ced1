"""Forecast explanations: the template answer from a woman's numbers, and the forecast Q&A node."""

from __future__ import annotations

import numpy as np
import pytest

from cycle_kedro.cycles.explain import explain_forecast, forecast_question
from cycle_kedro.pipelines.llm.curation import write_forecast_qa
from cycle_kedro.validation import DataValidationError


def test_forecast_answer_is_written_from_the_numbers():
    row = {"woman_id": "0" * 12, "n_cycles_used": 3, "last_cycle_length": 33.0, "history_mean": 30.0,
           "history_sd": 2.5, "predicted_length": 31.5, "lower_80": 27.5, "upper_80": 35.2, "model": "ets"}  # fmt: skip
    question, answer = forecast_question(row), explain_forecast(row)
    for text in ("3 recorded cycles", "averaging 30 days", "(SD 2.5)", "last cycle was 33 days",
                 "ets model predicts 31.5 days", "27.5 to 35.2 days"):  # fmt: skip
        assert text in question
    assert "about 32 days" in answer  # 31.5 rounds half up
    assert "between 28 and 35 days" in answer
    assert "1.5 days longer than your average of 30 days" in answer
    assert "pulled that way by your last cycle of 33 days" in answer
    assert "range is 7.7 days wide" in answer and "varied by about 2.5 days" in answer
    assert "only 3 cycles" in answer


def test_write_forecast_qa_skips_rows_without_numbers_and_caps(fedcycle_forecast):
    fc = fedcycle_forecast.copy()
    fc.loc[0, "predicted_length"] = np.nan
    qa = write_forecast_qa(fc, {"cohort": "fedcycle", "max_rows": 100, "seed": 0})
    assert len(qa) == len(fc) - 1
    assert set(qa["focus"]) == {"fedcycle next-cycle forecast"}
    assert len(write_forecast_qa(fc, {"cohort": "fedcycle", "max_rows": 3, "seed": 0})) == 3


def test_write_forecast_qa_names_dataset_and_missing_column(fedcycle_forecast):
    with pytest.raises(
        DataValidationError, match=r"synthetic\.next_cycle_forecast: missing column.*lower_80"
    ):
        write_forecast_qa(
            fedcycle_forecast.drop(columns="lower_80"),
            {"cohort": "synthetic", "max_rows": 5, "seed": 0},
        )


def test_write_forecast_qa_does_not_depend_on_the_pseudonyms(fedcycle_forecast):
    """Another install's key gives other ids (and another id order): the same seed writes the same Q&A."""
    options = {"cohort": "fedcycle", "max_rows": 5, "seed": 3}
    other = fedcycle_forecast.assign(woman_id=[f"z{i:03d}" for i in range(len(fedcycle_forecast))][::-1])
    other = other.sort_values("woman_id", ignore_index=True)
    a = write_forecast_qa(fedcycle_forecast, options)
    b = write_forecast_qa(other, options)
    assert len(a) == 5
    assert a.reset_index(drop=True).equals(b.reset_index(drop=True))
