"""Small result tables in the shapes the statistics, forecasting, llm and population pipelines write."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.conftest import load_params


@pytest.fixture
def study() -> dict:
    return load_params("reporting")["study_results"]


@pytest.fixture
def options() -> dict:
    return load_params("reporting")["report_options"]


@pytest.fixture
def women() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    steps = rng.normal(8500, 2500, 40)
    return pd.DataFrame(
        {
            "steps": steps,
            "p4": 5 - 0.0004 * steps + rng.normal(0, 1, 40),
            "e2": rng.normal(110, 20, 40),
        }
    )


@pytest.fixture
def statistics_results(women) -> pd.DataFrame:
    """Pearson rows computed by scipy on ``women``, plus a phase row and a t-test row to ignore."""
    rows = []
    for hormone in ("e2", "p4"):
        r, p = stats.pearsonr(women["steps"], women[hormone])
        rows.append({"analysis": "woman_level", "test": "pearson", "variable": f"steps_vs_{hormone}",
                     "label": f"steps vs {hormone.upper()}", "n": len(women), "statistic": r, "p": p,
                     "q_bh": min(1.0, 2 * p), "effect_name": "r", "effect_size": r,
                     "ci_low": r - 0.2, "ci_high": r + 0.2, "ci_method": "fisher_z", "note": None})  # fmt: skip
    rows.append({**rows[1], "analysis": "phase_luteal", "statistic": 0.9, "p": 0.5})
    rows.append(
        {**rows[1], "test": "welch_t", "variable": "p4", "statistic": 2.5, "effect_name": "g"}
    )
    return pd.DataFrame(rows)


@pytest.fixture
def forecast_metrics() -> pd.DataFrame:
    """Our models plus the study's rows, which the forecasting pipeline labels ``kind == "study"``."""
    ours = pd.DataFrame(
        {
            "source": "our data: fedcycle",
            "model": ["mean_previous", "arima", "lstm", "gru", "last_cycle"],
            "kind": ["baseline", "statistical", "neural", "neural", "baseline"],
            "n": [900] * 5,
            "mse": [20.0, 22.0, 19.0, 19.5, 30.0],
            "mae": [3.1, 3.3, 3.0, 3.05, 4.0],
            "rmse": [4.47, 4.69, 4.36, 4.42, 5.48],
            "r2": [0.3, 0.25, 0.33, 0.32, -0.1],
        }  # fmt: skip
    )
    theirs = pd.DataFrame(
        {"source": "study (Fu), not our data", "model": ["LSTM"], "kind": "study", "mse": [22.97]}
    )
    return pd.concat([ours, theirs], ignore_index=True)


@pytest.fixture
def llm_evaluation() -> pd.DataFrame:
    """Overall rows (``subset == "all"``) and one per kind of question, as the llm pipeline writes."""
    return pd.DataFrame(
        {
            "model": ["base", "lora", "base", "lora"],
            "subset": ["all", "all", "symptoms", "symptoms"],
            "n": [12, 12, 6, 6],
            "PPL": [30.0, 12.0, 31.0, 13.0],
            "BLEU": [3.0, 9.0, 2.0, 8.0],
            "ROUGE-L": [15.0, 22.0, 14.0, 21.0],
            "BERTScore": [0.80, 0.84, 0.79, 0.83],
        }  # fmt: skip
    )


def _population(cohort: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort": cohort,
            "handling": "raw",
            "model": ["population_mean", "shrinkage"] * 2,
            "subset": ["all", "all", "scored_not_skip", "scored_not_skip"],
            "n_users": [100, 100, 90, 90],
            "start_mae_days": [3.5, 2.9, 3.0, 2.5],
            "start_rmse_days": [4.5, 3.9, 4.0, 3.5],
            "coverage80": [0.8, 0.82, 0.81, 0.83],
            "internal_column": 1,
        }  # fmt: skip
    )


@pytest.fixture
def app_evaluation() -> pd.DataFrame:
    return _population("app")


@pytest.fixture
def fedcycle_evaluation() -> pd.DataFrame:
    return _population("fedcycle")
