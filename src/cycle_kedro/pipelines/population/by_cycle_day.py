"""Evaluation by day of cycle (as Li et al., JAMIA 2022, Table 2): today is day ``d``, no start yet.

Held-out test users (:func:`.as_of.held_out_users`) have their last logged gap withheld; the
skip-aware model is fitted on the training users only and each test user's posterior comes from
her earlier gaps. On each day ``d`` of ``population.by_cycle_day.days`` the users whose withheld
gap is longer than ``d`` (no start by day ``d``) are scored: every model's median and 80%
interval of the gap, conditioned on ``gap > d``.

The current models (``baselines``, ``<model>.<handling>`` rows of ``last_cycle_predictions``,
which never saw the withheld start) get survival conditioning by the truncation rule of
:func:`cycle_kedro.cycles.incycle.survival_update`: their predictive is the point forecast plus
the training users' residuals (``actual - forecast``), truncated to ``gap > d`` (at least
``min_tail`` samples kept), vectorised over users. That function is not called: it answers one
woman per call, and its point (the forecast moved by the median's shift) and conformal quantiles
differ from the truncated sample's own median and quantiles scored here (the table would change). The Bayes oracle of the generated app cohort (its true per-user
distribution) and the population-Bayes learner bound are in :mod:`.oracle`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cycle_kedro.cycles import adherence as skip_model
from cycle_kedro.tables import mlflow_metrics

from . import engine
from .as_of import held_out_users, model_options

logger = logging.getLogger(__name__)

PREDICTION_COLUMNS = [
    "day",
    "model",
    "user_id",
    "actual_gap",
    "median",
    "lo80",
    "hi80",
    "p_missed_start",  # the skip-aware model's P(a start came unlogged by day d); NaN for baselines
]
_EMPTY = dict(zip(PREDICTION_COLUMNS, ["int64", "object", "object", *["float64"] * 5], strict=True))


def held_out_gaps(cycles: pd.DataFrame, adherence: dict):
    """Gap arrays with the test users' last gap marked; training users never held out."""
    users, codes, x = skip_model.user_gaps(cycles)
    test = held_out_users(users["user_id"], adherence).to_numpy()
    last = np.zeros(len(x), dtype=bool)
    last[len(codes) - 1 - np.unique(codes[::-1], return_index=True)[1]] = True
    return users, codes, x, test, last & test[codes]


def _truncated(pred: np.ndarray, resid: np.ndarray, day: int, min_tail: int) -> dict:
    """Median / 10% / 90% of ``pred + resid`` given ``> day`` (whole days), per user."""
    r = np.sort(resid)
    n = len(r)
    start = np.searchsorted(r, day + 0.5 - pred, side="left")
    start = np.minimum(start, n - min(min_tail, n))
    shift = np.maximum(0.0, day + 1 - (pred + r[start]))  # too few left: shift the tail to day + 1
    kept = n - start

    def q(p):
        return pred + r[start + np.floor(p * (kept - 1)).astype(np.int64)] + shift

    return {"median": q(0.5), "lo80": q(0.1), "hi80": q(0.9)}


def _baseline_rows(preds, users, *, test, target, days, by_day) -> list[pd.DataFrame]:
    parts = []
    gap = (preds["next_start"] - preds["last_start"]).dt.days.astype(float)
    preds = preds.assign(gap=gap, resid=preds["actual_length"] - gap)
    is_test = held_out_users(preds["user_id"], {"test_fraction": by_day["test_fraction"]})
    for name in by_day["baselines"]:
        model, handling = name.split(".")
        p = preds[(preds["model"] == model) & (preds["handling"] == handling)]
        resid = p.loc[~is_test[p.index], "resid"].to_numpy(float)
        point = p.set_index("user_id")["gap"].reindex(users["user_id"]).to_numpy(float)
        for d in days:
            sel = test & (target > d) & np.isfinite(point)
            f = _truncated(point[sel], resid, d, int(by_day["min_tail"]))
            parts.append(_frame(d, name, users["user_id"].to_numpy()[sel], target[sel], f))
    return parts


def _frame(day, model, user_id, actual, f) -> pd.DataFrame:
    return pd.DataFrame(
        {"day": day, "model": model, "user_id": user_id, "actual_gap": actual}
        | {k: np.asarray(f[k], dtype=float) for k in ("median", "lo80", "hi80")}
        | {"p_missed_start": np.asarray(f.get("p_missed_start", np.nan), dtype=float)}
    )


def skip_aware_predictions(
    users: pd.DataFrame,
    codes: np.ndarray,
    x: np.ndarray,
    *,
    test: np.ndarray,
    held: np.ndarray,
    options: dict,
    days: list[int],
) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """The skip-aware model fitted on training users' gaps, scored on the test users' held-out gap.

    ``users``/``codes``/``x`` from :func:`~cycle_kedro.cycles.adherence.user_gaps`; ``test`` per
    user, ``held`` per gap (the test users' withheld gaps). Returns the prediction rows (model
    ``skip_aware``), the withheld gap per user (NaN when none) and the fitted state.
    """
    train = ~test[codes]
    state = skip_model.fit_adherence_model(x[train], codes[train], options)
    hist = test[codes] & ~held
    post, _ = skip_model.adherence_posterior(state, x[hist], codes[hist], len(users))
    target = np.full(len(users), np.nan)
    target[codes[held]] = x[held]
    parts = []
    for d in days:
        f = skip_model.forecast_as_of(state, post, np.full(len(users), d))
        sel = test & (target > d)
        f = {
            "median": f["median_gap_days"],
            "lo80": f["lo_gap_days"],
            "hi80": f["hi_gap_days"],
            "p_missed_start": f["p_missed_start"],
        }
        ids = users["user_id"].to_numpy()[sel]
        parts.append(_frame(d, "skip_aware", ids, target[sel], {k: v[sel] for k, v in f.items()}))
    return pd.concat(parts, ignore_index=True), target, state


def evaluate_by_cycle_day(
    cycles: pd.DataFrame,
    last_cycle_predictions: pd.DataFrame,
    family: dict,
    adherence: dict,
    by_day: dict,
) -> pd.DataFrame:
    """Per test user, day and model: the withheld gap and the conditioned median / 80% interval."""
    users, codes, x, test, held = held_out_gaps(engine.compute(cycles), adherence)
    n_train = int((~test & (users["n_gaps"] >= 2).to_numpy()).sum())
    if n_train < int(adherence["min_training_users"]) or not held.any():
        logger.info(
            "By-day evaluation skipped: %d training users, %d test gaps", n_train, held.sum()
        )
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _EMPTY.items()})
    days = [int(d) for d in by_day["days"]]
    model, target, state = skip_aware_predictions(
        users,
        codes,
        x,
        test=test,
        held=held,
        options=model_options(adherence, family["family"]),
        days=days,
    )
    cfg = by_day | {"test_fraction": adherence["test_fraction"]}
    parts = _baseline_rows(
        last_cycle_predictions.reset_index(drop=True),
        users,
        test=test,
        target=target,
        days=days,
        by_day=cfg,
    )
    out = pd.concat([model, *parts], ignore_index=True)[PREDICTION_COLUMNS]
    logger.info(
        "By-day evaluation: %d test users, fit on %d training users",
        int(np.isfinite(target).sum()),
        state["n_users_fit"],
    )
    return out


def scores(p: pd.DataFrame) -> pd.Series:
    """MAE, RMSE, median absolute error and 80% coverage of one model's rows on one day."""
    e = (p["actual_gap"] - p["median"]).abs()
    return pd.Series(
        {
            "n_users": float(len(p)),
            "mae": e.mean(),
            "rmse": float(np.sqrt((e**2).mean())),
            "median_ae": e.median(),
            "coverage80": ((p["actual_gap"] >= p["lo80"]) & (p["actual_gap"] <= p["hi80"])).mean(),
        }
    )


def summarise_by_cycle_day(
    predictions: pd.DataFrame, input_cfg: dict
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Table (one row per day and model) and MLflow metrics ``population.<cohort>.by_day.<model>.day<d>.<metric>``."""
    cohort = input_cfg["cohort"]
    rows = [
        {"cohort": cohort, "day": day, "model": model} | scores(p).to_dict()
        for (day, model), p in predictions.groupby(["day", "model"], sort=True)
    ]
    columns = ["cohort", "day", "model", "n_users", "mae", "rmse", "median_ae", "coverage80"]
    table = pd.DataFrame(rows, columns=columns)
    table["n_users"] = table["n_users"].astype("int64")
    metrics = mlflow_metrics(
        {
            f"population.{cohort}.by_day.{r.model}.day{r.day}.{m}": getattr(r, m)
            for r in table.itertuples(index=False)
            for m in ("n_users", "mae", "rmse", "median_ae", "coverage80")
        }
    )
    return table, metrics
