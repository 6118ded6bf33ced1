"""Next-cycle node of the ``forecasting`` pipeline: each woman's next, unobserved cycle."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.baselines import (
    BASELINE_MODELS,
    estimate_shrinkage_k,
    expanding_baselines,
    expanding_history_stats,
    population_mean,
)
from cycle_kedro.cycles.contracts import NEXT_CYCLE_COLUMNS
from cycle_kedro.cycles.intervals import conformal_offsets, interval_band

from .folds import KEYS


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
    last = frame.sort_values(KEYS).groupby("woman_id").tail(1)
    history = pd.concat(
        [frame, last.assign(cycle_index=last["cycle_index"] + 1, cycle_length=np.nan)],
        ignore_index=True,
    )
    pm, k = population_mean(frame), estimate_shrinkage_k(frame)
    fc = expanding_baselines(history, pm, k)
    stats = expanding_history_stats(history)
    rows = history.index[history["cycle_length"].isna()]
    out = pd.DataFrame(
        {
            "woman_id": history.loc[rows, "woman_id"].to_numpy(),
            "n_cycles_used": stats.loc[rows, "n_prior"].to_numpy(dtype=int),
            "last_cycle_length": stats.loc[rows, "last"].to_numpy(),
            "history_mean": stats.loc[rows, "hist_mean"].to_numpy(),
            "history_sd": stats.loc[rows, "hist_sd"].to_numpy(),
            "predicted_length": fc.loc[rows, model].to_numpy(),
        }
    )
    scored = predictions[predictions["evaluated"]]
    resid = scored["cycle_length"] - scored[f"pred_{model}"]
    bands = list(intervals["n_prior_bands"])
    cal_band, out_band = (
        interval_band(scored["n_prior"], bands),
        interval_band(out["n_cycles_used"], bands),
    )
    lo, hi = np.empty(len(out)), np.empty(len(out))
    for b in np.unique(out_band):
        use = (
            resid[cal_band == b]
            if (cal_band == b).sum() >= int(intervals["min_calibration"])
            else resid
        )
        lo[out_band == b], hi[out_band == b] = conformal_offsets(use, float(intervals["coverage"]))
    out["lower_80"] = out["predicted_length"] + lo
    out["upper_80"] = out["predicted_length"] + hi
    out["model"] = model
    return out.sort_values("woman_id", ignore_index=True)[list(NEXT_CYCLE_COLUMNS)]
