"""In-cycle forecasts: the next period's start, updated as the current cycle goes on.

A woman on day ``d`` of her current cycle (day 1 = first day of her period) without a new period
knows that this cycle's length ``L`` is at least ``d``. Two updates of her day-1 forecast use only
what is known on day ``d``:

* **survival conditioning** (:func:`survival_update`): her predictive distribution is her day-1
  point forecast plus the population's calibration residuals (out-of-sample residuals of the same
  history model, from training women, per band of earlier cycles). Conditioning on ``L >= d``
  keeps the residuals with ``pred + r >= d`` (or, when fewer than ``min_tail`` remain, the
  ``min_tail`` largest shifted up to ``d``). The point is the day-1 forecast plus the *increase*
  of the residuals' median (or mean) caused by the truncation, the interval the split-conformal
  quantiles of the truncated distribution: all three can only move later as ``d`` grows, and
  equal the day-1 forecast while ``d`` is below the distribution.
* **ovulation + luteal rule** (:func:`ovulation_update`): once ovulation is detected (on day
  ``ovulation_day + detection_lag``), ``L = ovulation_day + luteal``; her luteal length is
  forecast from her *earlier* cycles' luteal lengths with a model fitted on training women
  (shrinkage toward the population or one of :mod:`cycle_kedro.cycles.robust`), with its own
  split-conformal interval, then survival-conditioned on ``L >= d``.

The fitted population state (:func:`fit_incycle_state`) is a plain JSON-friendly dict, and
:func:`forecast_current_cycle` is the library entry point a serving pipeline calls with (state,
one woman's history, current-cycle info). :func:`expanding_incycle_forecasts` is the table form
used by the women-held-out evaluation: every scored cycle forecast at every moment, from that
woman's earlier cycles and what the current cycle has shown by that day only.

Forecasts are of the cycle length ``L``; the next period starts on cycle day ``L + 1``. With
``round_to_day`` the point is rounded and the interval shrunk to whole days (``ceil(lo)``,
``floor(hi)``), which leaves the coverage of whole-day lengths unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .baselines import estimate_shrinkage_k
from .contracts import NEXT_CYCLE_CURRENT_COLUMNS
from .robust import (
    ROBUST_MODELS,
    expanding_robust_forecasts,
    fit_robust_state,
    prefix_table,
    robust_forecast,
    select_model_inner_cv,
)

__all__ = [
    "INCYCLE_FIELDS",
    "expanding_incycle_forecasts",
    "fit_incycle_state",
    "forecast_current_cycle",
    "history_forecast",
    "moment_day",
    "ovulation_update",
    "survival_update",
]

ID, T, Y, OV = "woman_id", "cycle_index", "cycle_length", "ovulation_day"
LUTEAL = "luteal_length"

#: Keys returned by :func:`forecast_current_cycle` (the serving contract, see contracts.py).
INCYCLE_FIELDS = NEXT_CYCLE_CURRENT_COLUMNS


def _band(n_prior, bands: Sequence[int]) -> np.ndarray:
    return np.searchsorted(np.asarray(bands), np.asarray(n_prior), side="right")


def _conformal_quantiles(samples: np.ndarray, coverage: float) -> tuple[float, float]:
    """Central interval of *sorted* samples, finite-sample-corrected (as the conformal offsets).

    Same values as ``np.quantile(..., method="lower"/"higher")`` at the corrected levels, by
    index arithmetic on the sorted array. Two-sided even after a truncation: when the truncated
    distribution puts much mass on the current day, the whole-day interval over-covers a little
    rather than losing monotonicity.
    """
    n = len(samples)
    alpha = (1.0 - coverage) / 2.0
    q_hi = min(1.0, np.ceil((n + 1) * (1 - alpha)) / n)
    q_lo = max(0.0, np.floor((n + 1) * alpha) / n)
    i_lo = int(np.floor(q_lo * (n - 1) + 1e-9))
    i_hi = int(np.ceil(q_hi * (n - 1) - 1e-9))
    return float(samples[i_lo]), float(samples[min(i_hi, n - 1)])


def _centre(r: np.ndarray, point: str) -> float:
    """Median (or mean) of a sorted array."""
    if point == "mean":
        return float(r.mean())
    n = len(r)
    return float(r[n // 2] if n % 2 else 0.5 * (r[n // 2 - 1] + r[n // 2]))


def survival_update(
    pred: float,
    residuals: np.ndarray,
    day: float,
    *,
    coverage: float = 0.8,
    point: str = "median",
    min_tail: int = 20,
    discrete: bool = True,
) -> tuple[float, float, float]:
    """Condition a forecast ``pred + residual`` on ``L >= day``; return ``(point, lo, hi)``.

    Never earlier than the unconditioned forecast (``day`` = 1), non-decreasing in ``day``.

    Args:
        pred: the day-1 point forecast of the cycle length.
        residuals: calibration residuals ``observed - forecast`` of the same model (training data).
        day: current cycle day without a new period (so ``L >= day``).
        coverage: central interval coverage.
        point: ``"median"`` or ``"mean"`` of the truncated sample lengths; the point moves by
            how much truncation raises it, so ``day`` = 1 gives back ``pred``.
        min_tail: fewest samples kept; further out the ``min_tail`` largest are shifted to ``day``.
        discrete: lengths are whole days, so a sample length ``pred + residual`` stands for the
            day it rounds to and ``L >= day`` keeps samples ``>= day - 0.5`` (a sample of 27.6 d
            is a 28-day cycle).
    """
    r = np.asarray(residuals, dtype=float)
    if len(r) > 1 and not np.all(r[1:] >= r[:-1]):  # the state keeps them sorted
        r = np.sort(r[np.isfinite(r)])
    s = pred + r
    if len(s) == 0:
        raise ValueError("survival_update needs calibration residuals")
    base = _centre(s, point)
    lo0, hi0 = _conformal_quantiles(s, coverage)
    cut = day - 0.5 if discrete else day
    cond = s[np.searchsorted(s, cut, side="left") :]
    m = min(min_tail, len(s))
    if len(cond) < m:
        top = s[-m:]
        cond = top + max(0.0, cut - top[0])
    est = max(pred + max(0.0, _centre(cond, point) - base), float(day))
    lo, hi = _conformal_quantiles(cond, coverage)
    return est, max(lo, lo0, cut), max(hi, hi0)


def _luteal_forecast(history, state: dict[str, Any]) -> float:
    model = state["luteal_model"]
    lut = state["luteal"]
    if model == "shrinkage":
        h = np.asarray(history, dtype=float)
        h = h[np.isfinite(h)]
        n, k = len(h), lut["shrinkage_k"]
        return lut["mean"] if n == 0 else float((h.sum() + k * lut["mean"]) / (n + k))
    return robust_forecast(history, lut["robust"], model)


def ovulation_update(
    ovulation_day: float, luteal_history, day: float, state: dict[str, Any]
) -> tuple[float, float, float]:
    """Forecast ``L = ovulation_day + luteal`` (luteal from earlier cycles), conditioned on ``L >= day``."""
    return _ovulation(float(ovulation_day) + _luteal_forecast(luteal_history, state), day, state)


def _ovulation(est: float, day: float, state: dict[str, Any]) -> tuple[float, float, float]:
    return survival_update(
        est,
        state["_ovulation_residuals"]
        if "_ovulation_residuals" in state
        else np.asarray(state["ovulation_residuals"]),
        day,
        coverage=state["coverage"],
        point=state["point"],
        min_tail=state["min_tail"],
        discrete=state["round_to_day"],
    )


def history_forecast(history, state: dict[str, Any]) -> float:
    """Day-1 forecast of the next cycle length from earlier cycle lengths (``state['history_model']``)."""
    model = state["history_model"]
    h = np.asarray(history, dtype=float)
    h = h[np.isfinite(h)]
    if model == "shrinkage":
        n, k, m = len(h), state["shrinkage_k"], state["population_mean"]
        return m if n == 0 else float((h.sum() + k * m) / (n + k))
    return robust_forecast(h, state["robust"], model)


def _round(est: float, lo: float, hi: float, on: bool) -> tuple[float, float, float]:
    if not on:
        return est, lo, hi
    lo, hi = float(np.ceil(lo - 1e-9)), float(np.floor(hi + 1e-9))
    hi = max(hi, lo)
    return float(np.clip(np.round(est), lo, hi)), lo, hi


def _update(
    state: dict[str, Any],
    pred: float,
    *,
    n_prior: int,
    day: float,
    ovulation_day: float,
    luteal_hat: float,
    tracked: bool,
) -> tuple[float, float, float, str]:
    """One forecast on ``day`` from what is known that day.

    Ovulation detected (``ovulation_day + detection_lag <= day``): the ovulation rule. Otherwise
    survival conditioning of the day-1 forecast; when she tracks ovulation and none was detected
    yet, ovulation is at the earliest on ``day - detection_lag + 1``, so the forecast is also at
    least the ovulation rule for that day (method ``no_ovulation_yet`` when that bound binds).
    ``luteal_hat`` is her luteal-length forecast from earlier cycles.
    """
    lag = state["detection_lag"]
    use = state["use_ovulation"]
    if use and np.isfinite(ovulation_day) and ovulation_day + lag <= day:
        est, lo, hi = _ovulation(ovulation_day + luteal_hat, day, state)
        return (*_round(est, lo, hi, state["round_to_day"]), "ovulation")
    band = int(np.searchsorted(state["bands"], n_prior, side="right"))
    resid = (
        state["_residuals"][band] if "_residuals" in state else np.asarray(state["residuals"][band])
    )
    est, lo, hi = survival_update(
        pred,
        resid,
        day,
        coverage=state["coverage"],
        point=state["point"],
        min_tail=state["min_tail"],
        discrete=state["round_to_day"],
    )
    method = "history" if day <= 1 else "survival"
    if use and tracked and day > 1:
        o_est, o_lo, o_hi = _ovulation(day - lag + 1 + luteal_hat, day, state)
        if o_est > est:
            method = "no_ovulation_yet"
        est, lo, hi = max(est, o_est), max(lo, o_lo), max(hi, o_hi)
    return (*_round(est, lo, hi, state["round_to_day"]), method)


def forecast_current_cycle(
    state: dict[str, Any],
    history: pd.DataFrame,
    days_since_start: float | None = None,
    ovulation_day: float | None = None,
    ovulation_tracked: bool = False,
) -> dict[str, Any]:
    """Serving entry point: one woman's current-cycle forecast from what is known today.

    Args:
        state: from :func:`fit_incycle_state` (population quantities only).
        history: her completed cycles (``cycle_length``; ``ovulation_day`` or ``luteal_length``
            where known), in time order.
        days_since_start: today's cycle day (1 = first day of the current period); ``None``
            means day 1.
        ovulation_day: cycle day on which ovulation was detected in the current cycle, if any;
            used from ``ovulation_day + detection_lag`` on.
        ovulation_tracked: she tracks ovulation (BBT, LH tests), so "none detected yet" is
            information; ``False`` ignores the absence.

    Returns:
        A dict with the keys :data:`INCYCLE_FIELDS`.
    """
    day = (
        1.0
        if days_since_start is None or not np.isfinite(days_since_start)
        else float(days_since_start)
    )
    ov = np.nan if ovulation_day is None else float(ovulation_day)
    lengths = pd.to_numeric(history[Y], errors="coerce").to_numpy(float)
    pred = history_forecast(lengths, state)
    est, lo, hi, method = _update(
        state,
        pred,
        n_prior=len(lengths),
        day=day,
        ovulation_day=ov,
        luteal_hat=_luteal_forecast(_luteal_lengths(history), state),
        tracked=ovulation_tracked,
    )
    return {
        "days_since_start": day,
        "ovulation_day": ov,
        "incycle_method": method,
        "incycle_predicted_length": est,
        "incycle_lower_80": lo,
        "incycle_upper_80": hi,
        "incycle_predicted_start_day": est + 1.0,
    }


def _luteal_lengths(history: pd.DataFrame) -> np.ndarray:
    if LUTEAL in history:
        return pd.to_numeric(history[LUTEAL], errors="coerce").to_numpy(float)
    if OV in history:
        return (history[Y] - history[OV]).to_numpy(float)
    return np.empty(0)


def _with_luteal(cycles: pd.DataFrame) -> pd.DataFrame:
    out = cycles.copy()
    if OV not in out:
        out[OV] = np.nan
    out[LUTEAL] = out[Y] - out[OV]
    return out


def _luteal_candidates(train: pd.DataFrame, test: pd.DataFrame, options) -> pd.DataFrame:
    """Luteal-length forecasts of ``test`` rows from earlier cycles, population fitted on ``train``."""
    lut_train = train.dropna(subset=[LUTEAL])
    state = {"luteal": _fit_luteal(lut_train, options)}
    target, x = prefix_table(test, LUTEAL)
    n = np.bincount(target, minlength=len(test)).astype(float)
    s = np.bincount(target, weights=x, minlength=len(test))
    k, m = state["luteal"]["shrinkage_k"], state["luteal"]["mean"]

    rob = expanding_robust_forecasts(test, state["luteal"]["robust"])
    rob.insert(0, "shrinkage", (s + k * m) / (n + k))
    return rob


def _fit_luteal(train: pd.DataFrame, options: dict[str, Any]) -> dict[str, Any]:
    lut = train.dropna(subset=[LUTEAL])
    return {
        "mean": float(lut[LUTEAL].mean()),
        "shrinkage_k": estimate_shrinkage_k(lut, value=LUTEAL),
        "robust": fit_robust_state(lut, options["robust"], value=LUTEAL),
    }


def fit_incycle_state(
    train_cycles: pd.DataFrame,
    train_residuals: pd.DataFrame,
    options: dict[str, Any],
    history_state: dict[str, Any],
) -> dict[str, Any]:
    """Fit the in-cycle population state on *training* women only.

    Args:
        train_cycles: training women's cycles (``woman_id``, ``cycle_index``, ``cycle_length``,
            ``ovulation_day`` where known).
        train_residuals: out-of-sample residuals of the day-1 history model on training women:
            ``n_prior`` and ``residual`` (observed - forecast), scored rows only.
        options: ``coverage``, ``n_prior_bands``, ``min_calibration``, ``point``, ``min_tail``,
            ``detection_lag``, ``use_ovulation``, ``ovulation_tracked`` (the cohort records
            ovulation whenever it is detected, so its absence so far is known), ``round_to_day``,
            ``luteal_model``
            (``"shrinkage"``, a name in :data:`ROBUST_MODELS`, or ``"inner_cv"``),
            ``inner_folds``, ``seed``, ``robust`` (options of :func:`fit_robust_state`).
        history_state: ``history_model`` and what it needs (``population_mean`` and
            ``shrinkage_k`` for shrinkage, ``robust`` for a robust model).

    Returns:
        A JSON-friendly dict: history-model quantities, per-band residuals, luteal model and
        its state, the ovulation rule's calibration residuals and the options.
    """
    bands = [int(b) for b in options["n_prior_bands"]]
    res = train_residuals.dropna(subset=["residual"])
    band = _band(res["n_prior"], bands)
    per_band = []
    for b in range(len(bands) + 1):
        r = res.loc[band == b, "residual"]
        per_band.append(
            sorted((r if len(r) >= int(options["min_calibration"]) else res["residual"]).tolist())
        )
    cyc = _with_luteal(train_cycles).sort_values([ID, T], ignore_index=True)
    luteal_model = options["luteal_model"]
    scores: dict[str, float] = {}
    if luteal_model == "inner_cv":
        luteal_model, scores = select_model_inner_cv(
            cyc,
            lambda a, b: _luteal_candidates(a, b, options),
            n_folds=int(options["inner_folds"]),
            seed=int(options["seed"]),
            value=LUTEAL,
        )
    elif luteal_model not in ("shrinkage", *ROBUST_MODELS):
        raise ValueError(f"unknown luteal_model {luteal_model!r}")
    state = {
        **history_state,
        "bands": bands,
        "residuals": per_band,
        "coverage": float(options["coverage"]),
        "point": options["point"],
        "min_tail": int(options["min_tail"]),
        "detection_lag": float(options["detection_lag"]),
        "use_ovulation": bool(options["use_ovulation"]),
        "round_to_day": bool(options["round_to_day"]),
        "ovulation_tracked": bool(options["ovulation_tracked"]),
        "luteal_model": luteal_model,
        "luteal_inner_cv": scores,
        "luteal": _fit_luteal(cyc, options),
    }
    # the ovulation rule's residuals: training women, luteal forecast from their earlier cycles
    cand = _luteal_candidates(cyc, cyc, options)[luteal_model]
    resid = (cyc[LUTEAL] - cand)[cyc.groupby(ID).cumcount() >= 1]
    state["ovulation_residuals"] = sorted(resid.dropna().tolist()) or [0.0]
    return state


def moment_day(moment: Any, day1_pred: float) -> float:
    """Cycle day of a forecast moment: an int day, ``"day1"`` (1) or ``"overdue"`` (the day after
    the predicted start, i.e. ``round(day-1 forecast) + 2``); ``"ovulation"`` is per cycle (NaN)."""
    if moment == "day1":
        return 1.0
    if moment == "overdue":
        return float(np.round(day1_pred) + 2)
    if moment == "ovulation":
        return float("nan")
    return float(moment)


def expanding_incycle_forecasts(
    cycles: pd.DataFrame,
    day1_pred: pd.Series,
    state: dict[str, Any],
    moments: Sequence[Any],
) -> pd.DataFrame:
    """Forecast every cycle at every moment from what is known on that day (table form).

    Args:
        cycles: the test women's cycles (``woman_id``, ``cycle_index``, ``cycle_length``,
            ``ovulation_day``, ``n_prior``), one row per cycle, *all* of them (earlier cycles give
            the luteal history); only rows with ``evaluated`` true (when the column exists) are
            forecast.
        day1_pred: the day-1 history forecast of each row (aligned on ``cycles.index``), made from
            earlier cycles only.
        state: from :func:`fit_incycle_state` on training women.
        moments: e.g. ``["day1", 14, 21, 28, 35, "overdue", "ovulation"]``.

    Returns:
        One row per (cycle, moment) at which the forecast exists (the period has not started
        by that day; for ``"ovulation"``, ovulation was recorded): keys, ``moment``, ``day``,
        ``method``, ``predicted_length``, ``lower_80``, ``upper_80``, ``cycle_length``.
        A row's own length and ovulation day enter only through what is known on ``day``
        (``L >= day``; ovulation once ``ovulation_day + detection_lag <= day``).
    """
    cyc = _with_luteal(cycles)
    state = {
        **state,
        "_residuals": [np.asarray(r, dtype=float) for r in state["residuals"]],
        "_ovulation_residuals": np.asarray(state["ovulation_residuals"], dtype=float),
    }
    pos = {ix: i for i, ix in enumerate(cyc.index)}
    target, lut_prev = prefix_table(cyc, LUTEAL)
    order = np.argsort(target, kind="stable")
    target, lut_prev = target[order], lut_prev[order]
    starts = np.searchsorted(target, np.arange(len(cyc) + 1))
    rows = []
    for ix, r in cyc.iterrows():
        if not r.get("evaluated", True):  # an unscored row still gives later rows its luteal length
            continue
        i = pos[ix]
        pred = float(day1_pred.loc[ix])
        luteal_hat = _luteal_forecast(lut_prev[starts[i] : starts[i + 1]], state)
        for moment in moments:
            ov = float(r[OV])
            if moment == "ovulation":
                if not np.isfinite(ov):
                    continue
                day = ov + state["detection_lag"]
            else:
                day = moment_day(moment, pred)
                ov = ov if np.isfinite(ov) and ov + state["detection_lag"] <= day else np.nan
            if r[Y] < day:  # the period came before this moment: no forecast is made on it
                continue
            est, lo, hi, method = _update(
                state,
                pred,
                n_prior=int(r["n_prior"]),
                day=day,
                ovulation_day=ov,
                luteal_hat=luteal_hat,
                tracked=state["ovulation_tracked"],
            )
            rows.append((r[ID], int(r[T]), str(moment), day, method, est, lo, hi, float(r[Y])))
    cols = [ID, T, "moment", "day", "method", "predicted_length", "lower_80", "upper_80", Y]
    return pd.DataFrame(rows, columns=cols)
