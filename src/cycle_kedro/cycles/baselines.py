"""Simple next-cycle-length baselines: last cycle, mean/median of previous, shrinkage.

Two forms of every model:

* **history form** — takes one woman's previous cycle lengths (1-D array, oldest first) and
  returns the forecast of her next cycle: :func:`last_cycle`, :func:`mean_previous`,
  :func:`median_previous`, :func:`shrinkage_forecast` (and the trivial population mean).
* **table form** — :func:`expanding_baselines` takes a long per-cycle table
  (``woman_id``, ``cycle_index``, ``cycle_length``) and returns, for every row, the forecast
  made from that woman's *earlier* cycles only (expanding window). Vectorised, no Python loop
  over women.

Population quantities (mean, shrinkage strength) come from a *training* table via
:func:`population_mean` and :func:`estimate_shrinkage_k`; :func:`loo_population_mean` gives
the leave-the-woman-out version (other women's cycles plus her own earlier cycles).

Empty histories give NaN for the woman-level models (documented); the shrinkage estimate
falls back to the population mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "BASELINE_MODELS",
    "estimate_shrinkage_k",
    "expanding_baselines",
    "expanding_history_stats",
    "last_cycle",
    "loo_population_mean",
    "mean_previous",
    "median_previous",
    "population_mean",
    "shrinkage_forecast",
]

#: Column names produced by :func:`expanding_baselines`, in display order.
BASELINE_MODELS = ("population_mean", "last_cycle", "mean_previous", "median_previous", "shrinkage")

ID, T, Y = "woman_id", "cycle_index", "cycle_length"


def _history(history) -> np.ndarray:
    h = np.asarray(history, dtype=float).ravel()
    return h[np.isfinite(h)]


def last_cycle(history) -> float:
    """Forecast the next cycle as the last observed one (NaN for an empty history)."""
    h = _history(history)
    return float(h[-1]) if len(h) else float("nan")


def mean_previous(history) -> float:
    """Forecast the next cycle as the mean of all previous ones (NaN for an empty history)."""
    h = _history(history)
    return float(h.mean()) if len(h) else float("nan")


def median_previous(history) -> float:
    """Forecast the next cycle as the median of all previous ones (NaN for an empty history)."""
    h = _history(history)
    return float(np.median(h)) if len(h) else float("nan")


def shrinkage_forecast(history, pop_mean: float, k: float) -> float:
    """Forecast ``(n*mean(history) + k*pop_mean) / (n + k)``: the woman's mean shrunk to the population.

    ``k = sigma²_within / tau²_between`` (see :func:`estimate_shrinkage_k`) is the number of
    cycles at which the woman's own mean and the population mean get equal weight. An empty
    history returns ``pop_mean``.
    """
    h = _history(history)
    n = len(h)
    if n == 0:
        return float(pop_mean)
    return float((n * h.mean() + k * pop_mean) / (n + k))


def population_mean(train: pd.DataFrame) -> float:
    """Return the mean cycle length of a training table (NaN for an empty table)."""
    y = pd.to_numeric(train[Y], errors="coerce").dropna()
    return float(y.mean()) if len(y) else float("nan")


def estimate_shrinkage_k(
    train: pd.DataFrame, min_k: float = 0.1, max_k: float = 100.0, value: str = Y
) -> float:
    """Estimate the shrinkage strength ``k = sigma²_within / tau²_between`` from a training table.

    Method of moments on one-way random effects: ``sigma²`` is the pooled within-woman
    variance, ``tau² = var(woman means) - mean(sigma²/n_i)``. The result is clipped to
    ``[min_k, max_k]`` (``max_k`` when ``tau²`` is not positive, i.e. no between-woman signal).
    """
    df = train[[ID, value]].dropna()
    g = df.groupby(ID, sort=False)[value]
    n = g.size()
    var = g.var(ddof=1)
    multi = n > 1
    if multi.sum() == 0:
        return float(max_k)
    sigma2 = float(((n[multi] - 1) * var[multi]).sum() / (n[multi] - 1).sum())
    tau2 = float(g.mean().var(ddof=1) - (sigma2 / n).mean()) if len(n) > 1 else 0.0
    if not np.isfinite(tau2) or tau2 <= 0:
        return float(max_k)
    return float(np.clip(sigma2 / tau2, min_k, max_k))


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in (ID, T, Y) if c not in df.columns]
    if missing:
        raise KeyError(f"forecast input table lacks column(s) {missing}")
    if not df.index.is_unique:
        raise ValueError("forecast input table must have a unique index (one row per cycle)")
    return df.sort_values([ID, T], kind="stable")


def expanding_history_stats(df: pd.DataFrame) -> pd.DataFrame:
    """Return, per row, statistics of that woman's *earlier* cycles only.

    Columns: ``n_prior``, ``last``, ``hist_mean``, ``hist_median``, ``hist_sd`` (ddof=1, NaN
    below 2 cycles). The index matches ``df``'s index; the row's own cycle is never used.
    """
    s = _sorted(df)
    g = s.groupby(ID, sort=False)[Y]
    prev = g.shift(1)
    out = pd.DataFrame(index=s.index)
    out["n_prior"] = g.cumcount().astype(int)
    out["last"] = prev
    expanding = prev.groupby(s[ID], sort=False).expanding()
    out["hist_mean"] = expanding.mean().reset_index(level=0, drop=True)
    out["hist_median"] = expanding.median().reset_index(level=0, drop=True)
    out["hist_sd"] = expanding.std(ddof=1).reset_index(level=0, drop=True)
    return out.loc[df.index]


def loo_population_mean(df: pd.DataFrame) -> pd.Series:
    """Return, per row, the mean over all *other* women's cycles plus this woman's earlier cycles."""
    s = _sorted(df)
    y = s[Y].astype(float)
    total, count = y.sum(), y.notna().sum()
    own_sum = y.groupby(s[ID]).transform("sum")
    own_n = y.groupby(s[ID]).transform("count")
    prior_sum = y.groupby(s[ID]).cumsum() - y
    prior_n = s.groupby(ID).cumcount()
    pm = (total - own_sum + prior_sum) / (count - own_n + prior_n)
    return pm.loc[df.index].rename("population_mean")


def expanding_baselines(df: pd.DataFrame, pop_mean, k: float) -> pd.DataFrame:
    """Return every baseline's forecast for every row of a long table, from earlier cycles only.

    Args:
        df: long table with ``woman_id``, ``cycle_index``, ``cycle_length`` (any order).
        pop_mean: population mean from training data: a float, or a Series aligned on
            ``df.index`` (e.g. :func:`loo_population_mean`).
        k: shrinkage strength (see :func:`estimate_shrinkage_k`).

    Returns:
        ``df.index``-aligned frame with ``n_prior`` and one column per name in
        :data:`BASELINE_MODELS`. Woman-level models are NaN on a woman's first cycle;
        ``population_mean`` and ``shrinkage`` are always defined.
    """
    st = expanding_history_stats(df)
    pm = pd.Series(pop_mean, index=df.index, dtype=float)
    n = st["n_prior"].astype(float)
    out = pd.DataFrame(index=df.index)
    out["n_prior"] = st["n_prior"]
    out["population_mean"] = pm
    out["last_cycle"] = st["last"]
    out["mean_previous"] = st["hist_mean"]
    out["median_previous"] = st["hist_median"]
    out["shrinkage"] = (n * st["hist_mean"].fillna(0.0) + k * pm) / (n + k)
    return out
