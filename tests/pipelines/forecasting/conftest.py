"""Fixtures for the forecasting tests: small generated per-cycle tables."""

import copy
import hashlib

import numpy as np
import pandas as pd
import pytest


def make_cycles(
    n_women: int = 12, n_cycles: int = 10, seed: int = 0, exog: bool = True
) -> pd.DataFrame:
    """Per-cycle table like ``*_model_input``: woman-level means around 29 d, within-woman SD 2 d."""
    rng = np.random.default_rng(seed)
    rows = []
    for w in range(n_women):
        wid = hashlib.sha256(f"w{w}".encode()).hexdigest()[:12]
        mu = 29 + rng.normal(0, 2)
        age, bmi = rng.uniform(20, 40), rng.uniform(18, 35)
        for t in range(1, n_cycles + 1):
            steps = rng.normal(8000, 1500) if exog else np.nan
            rows.append(
                {
                    "woman_id": wid,
                    "cycle_index": t,
                    "cycle_length": float(round(mu + rng.normal(0, 2))),
                    "age": age,
                    "bmi": bmi,
                    "steps": steps,
                    "e2": rng.normal(120, 20) if exog else np.nan,
                    "p4": rng.normal(8, 2) if exog else np.nan,
                }
            )
    return pd.DataFrame(rows).sort_values(["woman_id", "cycle_index"], ignore_index=True)


@pytest.fixture
def cycles() -> pd.DataFrame:
    return make_cycles()


@pytest.fixture
def fed_like() -> pd.DataFrame:
    """Like FedCycle: no steps/E2/P4, uneven numbers of cycles per woman."""
    df = make_cycles(n_women=14, n_cycles=9, seed=1, exog=False)
    keep = df.groupby("woman_id").cumcount() < df["woman_id"].map(
        {w: 3 + i % 7 for i, w in enumerate(df["woman_id"].unique())}
    )
    return df[keep].reset_index(drop=True)


NEURAL = {
    "name": "lstm",
    "cell": "lstm",
    "window": 3,
    "hidden_size": 8,
    "num_layers": 1,
    "dropout": 0.0,
    "learning_rate": 0.01,
    "weight_decay": 0.0,
    "batch_size": 32,
    "max_epochs": 2,
    "patience": 1,
    "val_fraction": 0.25,
    "seed": 7,
    "accelerator": "cpu",
    "devices": 1,
    "num_threads": 1,
    "enable_progress_bar": False,
}

PARAMS = {
    "forecast_evaluation": {
        "dataset": "test_model_input",
        "cohort": "test",
        "warmup_cycles": 1,
        "n_folds": 3,
        "seed": 3,
        "n_boot": 200,
        "confidence": 0.95,
    },
    "arima": {"order": [1, 0, 0], "auto": False, "min_length": 5, "n_jobs": 1},
    "ridge": {"alpha": 1.0},
    "lstm": NEURAL,
    "gru": {**NEURAL, "name": "gru", "cell": "gru"},
    "forecast_intervals": {"coverage": 0.8, "n_prior_bands": [3, 6], "min_calibration": 20},
    "next_cycle": {"model": "shrinkage"},
    "forecast_reporting": {"title": "test", "prior_cycle_bins": [1, 2, 4]},
    "study_reference": {
        "label": "study (Fu), not our data",
        "note": "published",
        "rows": [{"model": "LSTM", "mse": 22.97, "mae": 3.92, "rmse": 4.79, "r2": 0.62}],
    },
}


@pytest.fixture
def params() -> dict:
    return copy.deepcopy(PARAMS)
