"""The served pyfunc model: typed as MLflow asks, the forecaster's answers, a 400 for a bad request."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from cycle_kedro.cycles.forecaster import (
    FORECAST_COLUMNS,
    fit_forecaster,
    out_of_fold_residuals,
    predict_next,
)
from cycle_kedro.cycles.serving import CycleForecasterModel

from ..conftest import load_params, make_cycles

SERVING = load_params("forecasting_training")["forecasting_training"]
TYPE_HINT_WARNING = "Add type hints to the `predict` method"


@pytest.fixture(scope="module")
def model() -> CycleForecasterModel:
    cycles = make_cycles(n_women=40, n_cycles=8, seed=3)
    cycles["ovulation_day"] = cycles["cycle_length"] - 14
    res = out_of_fold_residuals(cycles, "shrinkage", **SERVING["calibration"])
    return CycleForecasterModel(fit_forecaster(cycles, res, SERVING["forecaster"]))


def _import_warnings(module: str) -> str:
    """What importing ``module`` in a fresh interpreter prints, every warning shown (on one line:
    kedro's rich log handler wraps at the terminal width)."""
    cmd = [sys.executable, "-W", "always", "-c", f"import {module}"]
    env = {**os.environ, "COLUMNS": "1000"}
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return done.stdout + done.stderr


def test_mlflow_accepts_the_predict_type_hints():
    assert TYPE_HINT_WARNING not in _import_warnings("cycle_kedro.cycles.serving")
    # the same check flags an untyped predict: kedro-mlflow's own KedroPipelineModel
    assert TYPE_HINT_WARNING in _import_warnings("kedro_mlflow.mlflow")


def test_predict_is_the_forecasters_answer_with_nulls(model):
    example = CycleForecasterModel.input_example()
    out = model.predict(None, example)
    assert list(out.columns) == list(FORECAST_COLUMNS)
    want = predict_next(model.state, example)
    pd.testing.assert_frame_equal(out, want.astype(object).where(want.notna(), None))
    values = out.to_numpy().ravel()
    assert any(v is None for v in values)  # the example leaves fields empty ...
    assert not any(isinstance(v, float) and np.isnan(v) for v in values)  # ... as null, not NaN


def test_bad_request_is_an_invalid_parameter_error_naming_the_column(model):
    bad = CycleForecasterModel.input_example().drop(columns="cycle_length")
    with pytest.raises(MlflowException, match="missing required column") as err:
        model.predict(None, bad)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "cycle_length" in str(err.value)
