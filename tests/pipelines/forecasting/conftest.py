"""Fixtures for the forecasting tests: parameters (the per-cycle tables are in ``tests/conftest.py``)."""

import copy

import pytest

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
    "enable_progress_bar": False,
}

PARAMS = {
    "evaluation": {
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
    "intervals": {"coverage": 0.8, "n_prior_bands": [3, 6], "min_calibration": 20},
    "next_cycle": {"model": "shrinkage"},
    "reporting": {"title": "test", "prior_cycle_bins": [1, 2, 4]},
    "robust": {
        "options": {"winsor_quantile": 0.025, "huber_c": 1.345, "t_df": 4},
        "selection": {
            "rule": "inner_cv",
            "metric": "mae",
            "inner_folds": 3,
            "seed": 3,
            "candidates": ["shrinkage", "median_shrinkage", "huber_eb", "student_t_eb"],
        },
    },
    "incycle": {
        "history_model": "shrinkage",
        "moments": ["day1", 14, 21, 28, 35, "overdue", "ovulation"],
        "curve_days": [1, 40, 13],
        "intervals": {"coverage": 0.8, "n_prior_bands": [3, 6], "min_calibration": 20},
        "update": {
            "point": "median",
            "min_tail": 20,
            "detection_lag": 1,
            "use_ovulation": True,
            "ovulation_tracked": False,
            "round_to_day": True,
            "luteal_model": "shrinkage",
            "inner_folds": 3,
            "seed": 3,
            "robust": {"winsor_quantile": 0.025, "huber_c": 1.345, "t_df": 4},
        },
    },
    "study_reference": {
        "label": "study (Fu), not our data",
        "note": "published",
        "rows": [{"model": "LSTM", "mse": 22.97, "mae": 3.92, "rmse": 4.79, "r2": 0.62}],
    },
}


@pytest.fixture
def params() -> dict:
    return copy.deepcopy(PARAMS)
