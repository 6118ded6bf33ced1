"""Next-cycle node of the ``forecasting`` pipeline: each woman's next, unobserved cycle.

The fit and the forecast are the library's (:mod:`cycle_kedro.cycles.forecaster`), the same code
the served MLflow model ``cycle_forecaster`` runs, so its answers equal these rows by construction.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cycle_kedro.cycles.baselines import BASELINE_MODELS
from cycle_kedro.cycles.contracts import NEXT_CYCLE_COLUMNS
from cycle_kedro.cycles.forecaster import fit_forecaster, predict_next


def forecast_next_cycle(
    frame: pd.DataFrame,
    predictions: pd.DataFrame,
    next_cycle: dict[str, Any],
    intervals: dict[str, Any],
) -> pd.DataFrame:
    """Forecast each woman's next, unobserved cycle from all her cycles with a simple model.

    Population mean and shrinkage strength come from the whole cohort; the 80% interval
    offsets are the conformal quantiles of that model's out-of-fold residuals in the same band
    of number of cycles (all bands pooled when a band has too few residuals).
    """
    model = next_cycle["model"]
    if model not in BASELINE_MODELS:
        raise ValueError(f"next_cycle.model must be one of {BASELINE_MODELS}, got {model!r}")
    scored = predictions[predictions["evaluated"]]
    residuals = pd.DataFrame(
        {"n_prior": scored["n_prior"], "residual": scored["cycle_length"] - scored[f"pred_{model}"]}
    )
    state = fit_forecaster(frame, residuals, {"model": model, "intervals": intervals})
    out = predict_next(state, frame, explain=False, validate=False)
    return out[list(NEXT_CYCLE_COLUMNS)]
