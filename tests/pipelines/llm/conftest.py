"""Fixtures for the llm pipeline: the assistant library's fixtures plus next-cycle forecast tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.assistant.conftest import (  # noqa: F401 (fixtures shared with the library's tests)
    _one_torch_thread,
    bertscore_encoder,
    consumer_questions,
    knowledge_base,
    llm_params,
    medquad_qa,
    minilm,
    random_adapter,
    tiny_model,
    tiny_tokenizer,
)


def make_forecast(n: int, seed: int) -> pd.DataFrame:
    """A next_cycle_forecast table of ``n`` women (the forecasting pipeline's columns)."""
    rng = np.random.default_rng(seed)
    mean = rng.uniform(24, 34, n)
    sd = rng.uniform(0.5, 4, n)
    pred = 0.7 * mean + 0.3 * 28.8
    return pd.DataFrame({
        "woman_id": [f"{seed:02x}{i:010x}" for i in range(n)], "n_cycles_used": rng.integers(2, 13, n),
        "last_cycle_length": np.round(mean + rng.normal(0, 2, n)), "history_mean": mean, "history_sd": sd,
        "predicted_length": pred, "lower_80": pred - 1.28 * sd, "upper_80": pred + 1.28 * sd, "model": "shrinkage",
    })  # fmt: skip


@pytest.fixture
def fedcycle_forecast() -> pd.DataFrame:
    return make_forecast(8, seed=1)


@pytest.fixture
def synthetic_forecast() -> pd.DataFrame:
    return make_forecast(8, seed=2)
