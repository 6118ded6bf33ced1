"""Model nodes of the ``forecasting`` pipeline: out-of-fold forecasts of every cycle, per model.

Each ``predict_*`` node fits its model on the other folds' women only (see :mod:`.folds`) and
returns one column per model, aligned on the forecast frame.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.arima import expanding_arima
from cycle_kedro.cycles.baselines import (
    estimate_shrinkage_k,
    expanding_baselines,
    expanding_history_stats,
    population_mean,
)

from .folds import KEYS, by_fold
from .neural import EXOG, fit_recurrent, predict_recurrent, women_by_data

logger = logging.getLogger(__name__)


def predict_baselines(frame: pd.DataFrame) -> pd.DataFrame:
    """Forecast every cycle with the simple baselines; population stats from the other folds only."""
    parts = []
    for f, train, test in by_fold(frame):
        pm, k = population_mean(train), estimate_shrinkage_k(train)
        logger.info("fold %d: population mean %.2f d, shrinkage k %.2f cycles", f, pm, k)
        parts.append(expanding_baselines(test, pm, k).drop(columns="n_prior"))
    return pd.concat(parts).loc[frame.index]


def predict_arima(frame: pd.DataFrame, arima: dict[str, Any]) -> pd.DataFrame:
    """Forecast every cycle with a per-woman statsforecast ARIMA fitted on her earlier cycles only."""
    out = expanding_arima(
        frame,
        min_prior=1,
        order=tuple(arima["order"]),
        auto=bool(arima.get("auto", False)),
        min_length=int(arima["min_length"]),
        n_jobs=int(arima.get("n_jobs", 1)),
    )
    share = (out["arima_model"] == "arima").mean()
    logger.info("ARIMA fitted on %.0f%% of forecasts (rest: mean fallback)", 100 * share)
    return out[["arima"]]


def _ridge_features(frame: pd.DataFrame) -> pd.DataFrame:
    """History features from earlier cycles only (exogenous: previous cycle's values).

    A per-woman or exogenous column without any value in the cohort is left out (logged).
    """
    st = expanding_history_stats(frame)
    x = st[["last", "hist_mean", "hist_median", "hist_sd"]].copy()
    x["log_n_prior"] = np.log1p(st["n_prior"])
    missing = [c for c in ("age", "bmi", *EXOG) if c not in frame or frame[c].isna().all()]
    if missing:
        logger.info("ridge: no values of %s in this cohort; features skipped", ", ".join(missing))
    for col in ("age", "bmi"):
        if col not in missing:
            x[col] = frame[col]
    exog = [c for c in EXOG if c not in missing]
    prev = frame.sort_values(KEYS).groupby("woman_id")[exog].shift(1)
    for col in exog:
        x[f"prev_{col}"] = prev[col]
    return x


def predict_ridge(frame: pd.DataFrame, ridge: dict[str, Any]) -> pd.DataFrame:
    """Forecast with a ridge regression on history features, trained on the other folds' women."""
    from sklearn.linear_model import Ridge  # noqa: PLC0415

    x_all = _ridge_features(frame)
    pred = pd.Series(np.nan, index=frame.index, dtype=float)
    for _, train, test in by_fold(frame):
        rows = train.index[train["n_prior"] >= 1]
        x_train = x_all.loc[rows]
        fill, mu, sd = x_train.median(), x_train.mean(), x_train.std(ddof=0).replace(0, 1)
        z = lambda x: ((x.fillna(fill).fillna(0) - mu) / sd).fillna(0)  # noqa: E731
        model = Ridge(alpha=float(ridge["alpha"])).fit(z(x_train), train.loc[rows, "cycle_length"])
        test_rows = test.index[test["n_prior"] >= 1]
        pred.loc[test_rows] = model.predict(z(x_all.loc[test_rows]))
    return pred.rename("ridge").to_frame()


def _predict_recurrent_cv(
    frame: pd.DataFrame, neural: dict[str, Any]
) -> tuple[pd.DataFrame, list[float]]:
    """Train an LSTM or GRU per women-held-out fold (early stopping on held-out training women).

    Returns the out-of-fold predictions (column named ``neural["name"]``) and fold 0's
    validation-loss curve.
    """
    name, seed = neural["name"], int(neural["seed"])
    pred = pd.Series(np.nan, index=frame.index, dtype=float)
    curve: list[float] = []
    for f, train, test in by_fold(frame):
        women = women_by_data(train)
        rng = np.random.default_rng(seed + int(f))
        n_val = max(1, round(float(neural["val_fraction"]) * len(women)))
        val_women = set(rng.choice(women, size=n_val, replace=False))
        is_val = train["woman_id"].isin(val_women)
        bundle = fit_recurrent(train[~is_val], train[is_val], neural["cell"], neural, seed + int(f))
        pred.loc[test.index] = predict_recurrent(bundle, test)
        curve = curve or bundle["val_curve"]
        logger.info(
            "%s fold %d: %d epochs, best val MSE(z) %.3f",
            name,
            f,
            bundle["epochs"],
            min(bundle["val_curve"], default=np.nan),
        )
    return pred.rename(name).to_frame(), [float(v) for v in curve]


def predict_lstm(frame: pd.DataFrame, lstm: dict[str, Any]) -> tuple[pd.DataFrame, list[float]]:
    """Train an LSTM per women-held-out fold: out-of-fold forecasts and fold 0's val-loss curve."""
    return _predict_recurrent_cv(frame, lstm)


def predict_gru(frame: pd.DataFrame, gru: dict[str, Any]) -> tuple[pd.DataFrame, list[float]]:
    """Train a GRU per women-held-out fold: out-of-fold forecasts and fold 0's val-loss curve."""
    return _predict_recurrent_cv(frame, gru)


def combine_predictions(frame: pd.DataFrame, *model_predictions: pd.DataFrame) -> pd.DataFrame:
    """Join the per-model out-of-fold forecasts to the keys, fold, n_prior and the observed length."""
    cols = [*KEYS, "fold", "n_prior", "evaluated", "cycle_length"]
    out = frame[cols].copy()
    for preds in model_predictions:
        out = out.join(preds.add_prefix("pred_"))
    return out
