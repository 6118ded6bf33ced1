"""Robust next-cycle-length models: resistant to occasional 50-100-day cycles.

Real cohorts have a few very long cycles (anovulatory, skipped, postpartum). A woman's mean and the
method-of-moments shrinkage strength both react strongly to one of them. Four robust variants, each
fitted on *training* women only and applied to a woman's *earlier* cycles only:

* ``median_shrinkage`` — ``(n * median(history) + k * population median) / (n + k)``.
* ``winsorised_shrinkage`` — each earlier cycle clipped to the training population's
  ``[q, 1 - q]`` quantiles, then ordinary shrinkage toward the (winsorised) population mean.
* ``huber_eb`` / ``student_t_eb`` — an empirical-Bayes random-effects model
  ``x_ij = mu_i + sigma * e_ij``, ``mu_i ~ N(m, tau²)``, with Huber (``c``) or Student-t (``nu``)
  errors. ``m``, ``tau²`` and ``sigma`` are estimated on the training women by iteratively
  reweighted EM (:func:`fit_robust_population`); a woman's forecast is the posterior mode of
  her ``mu_i`` given her earlier cycles (:func:`robust_location`), by IRLS. A 100-day cycle
  gets a weight near ``nu / r²`` (t) or ``c / |r|`` (Huber) instead of 1.

Both forms of the project's baselines exist here as well: history form (one woman's earlier
cycles, oldest first) and table form (:func:`expanding_robust_forecasts`: every row of a long
``woman_id``/``cycle_index``/``<value>`` table forecast from that woman's earlier rows).
:func:`select_model_inner_cv` picks one model per training set by inner women-held-out CV, so a
pipeline can fix the *rule* in parameters and never look at the test fold.

Only numpy and pandas; no pipeline imports.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.pseudonyms import content_order

from .baselines import estimate_shrinkage_k

__all__ = [
    "ROBUST_MODELS",
    "expanding_robust_forecasts",
    "fit_robust_population",
    "fit_robust_state",
    "prefix_table",
    "robust_forecast",
    "robust_location",
    "select_model_inner_cv",
    "winsorise",
]

#: Model names produced by :func:`expanding_robust_forecasts`, in display order.
ROBUST_MODELS = ("median_shrinkage", "winsorised_shrinkage", "huber_eb", "student_t_eb")

ID, T = "woman_id", "cycle_index"
_MAD = 1.4826  # MAD -> SD for a normal distribution


def _weights(z: np.ndarray, loss: str, tuning: float) -> np.ndarray:
    """IRLS weights for standardised residuals ``z`` (Huber ``c`` or Student-t ``nu``)."""
    if loss == "huber":
        a = np.abs(z)
        return np.where(a <= tuning, 1.0, tuning / np.maximum(a, 1e-12))
    if loss == "t":
        return (tuning + 1.0) / (tuning + z**2)
    raise ValueError(f"loss must be 'huber' or 't', got {loss!r}")


def _irls_locations(
    values: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    state: dict[str, float],
    *,
    n_iter: int,
    mu0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior modes of every group's ``mu`` (and posterior variances, last weights) by IRLS."""
    m, tau2, sigma = state["location"], state["tau2"], state["sigma"]
    loss, tuning = state["loss"], state["tuning"]
    s2 = sigma**2
    if mu0 is None:
        w = np.ones_like(values)
        mu = np.full(n_groups, m, dtype=float)
    else:  # warm start (EM): weights from the previous modes
        mu = mu0
        w = _weights((values - mu[group]) / sigma, loss, tuning)
    for _ in range(n_iter):
        sw = np.bincount(group, weights=w, minlength=n_groups)
        swx = np.bincount(group, weights=w * values, minlength=n_groups)
        new = (swx / s2 + m / tau2) / (sw / s2 + 1.0 / tau2)
        done = np.allclose(new, mu, atol=1e-6, rtol=0)
        mu = new
        w = _weights((values - mu[group]) / sigma, loss, tuning)
        if done:
            break
    sw = np.bincount(group, weights=w, minlength=n_groups)
    return mu, 1.0 / (sw / s2 + 1.0 / tau2), w


def fit_robust_population(
    train: pd.DataFrame,
    value: str = "cycle_length",
    *,
    loss: str = "t",
    tuning: float = 4.0,
    n_iter: int = 100,
    min_tau2: float = 0.05,
) -> dict[str, Any]:
    """Fit ``m``, ``tau²`` and ``sigma`` of the robust random-effects model on training women.

    Args:
        train: long table with ``woman_id`` and ``value``.
        value: the column modelled (cycle length, luteal length, ...).
        loss: ``"t"`` (Student-t errors, ``tuning`` = degrees of freedom ``nu``) or ``"huber"``
            (``tuning`` = ``c`` in SD units).
        n_iter: EM iterations (stops earlier when the estimates settle).
        min_tau2: floor for ``tau²`` (no between-woman signal would otherwise give 0).

    Returns:
        ``{"location", "tau2", "sigma", "loss", "tuning", "value"}`` (plain floats/strings, so
        the state can be saved as JSON). ``sigma`` is updated by the Student-t EM step for
        ``"t"`` and as a MAD of residuals for ``"huber"``.
    """
    df = train[[ID, value]].dropna()
    if df.empty:
        raise ValueError(f"fit_robust_population: no non-missing {value!r} values")
    x = df[value].to_numpy(float)
    codes, _ = pd.factorize(df[ID])
    n_groups = int(codes.max()) + 1
    med = df.groupby(ID, sort=False)[value].transform("median").to_numpy()
    sigma = max(_MAD * float(np.median(np.abs(x - med))), 0.5)
    women_med = df.groupby(ID, sort=False)[value].median()
    state = {
        "location": float(np.median(x)),
        "tau2": max(float(women_med.var(ddof=1)) if n_groups > 1 else min_tau2, min_tau2),
        "sigma": sigma,
        "loss": loss,
        "tuning": float(tuning),
        "value": value,
    }
    mu = None
    for _ in range(n_iter):
        mu, v, w = _irls_locations(x, codes, n_groups, state, n_iter=3, mu0=mu)
        r = x - mu[codes]
        if loss == "t":
            sigma = float(np.sqrt(np.sum(w * r**2) / len(r)))
        else:
            sigma = _MAD * float(np.median(np.abs(r)))
        new = {
            "location": float(mu.mean()),
            "tau2": max(float(mu.var(ddof=0) + v.mean()), min_tau2),
            "sigma": max(sigma, 0.25),
        }
        done = all(abs(new[key] - state[key]) < 1e-4 for key in new)
        state.update(new)
        if done:
            break
    return state


def robust_location(history, state: dict[str, Any], n_iter: int = 50) -> float:
    """Posterior mode of one woman's ``mu`` from her earlier values (``state['location']`` if none)."""
    h = np.asarray(history, dtype=float).ravel()
    h = h[np.isfinite(h)]
    if len(h) == 0:
        return float(state["location"])
    mu, _, _ = _irls_locations(h, np.zeros(len(h), dtype=int), 1, state, n_iter=n_iter)
    return float(mu[0])


def winsorise(values, bounds: tuple[float, float]) -> np.ndarray:
    """Clip values to ``bounds`` (``(lo, hi)``), keeping NaN."""
    return np.clip(np.asarray(values, dtype=float), bounds[0], bounds[1])


def fit_robust_state(
    train: pd.DataFrame, options: dict[str, Any], value: str = "cycle_length"
) -> dict[str, Any]:
    """Fit every robust model's population quantities on a training table (JSON-friendly dict).

    Args:
        train: long table of training women (``woman_id``, ``value``).
        options: ``winsor_quantile`` (e.g. 0.025), ``huber_c`` (e.g. 1.345), ``t_df`` (e.g. 4).
        value: the column modelled.
    """
    df = train[[ID, value]].dropna()
    q = float(options["winsor_quantile"])
    bounds = (float(df[value].quantile(q)), float(df[value].quantile(1 - q)))
    wins = df.assign(**{value: winsorise(df[value], bounds)})
    return {
        "value": value,
        "median": float(df[value].median()),
        "winsor_bounds": list(bounds),
        "winsor_mean": float(wins[value].mean()),
        "k": estimate_shrinkage_k(wins, value=value),
        "huber": fit_robust_population(df, value, loss="huber", tuning=float(options["huber_c"])),
        "t": fit_robust_population(df, value, loss="t", tuning=float(options["t_df"])),
    }


def robust_forecast(history, state: dict[str, Any], model: str) -> float:
    """History form: one robust model's forecast from one woman's earlier values."""
    h = np.asarray(history, dtype=float).ravel()
    h = h[np.isfinite(h)]
    n, k = len(h), state["k"]
    if model == "median_shrinkage":
        return (
            state["median"] if n == 0 else float((n * np.median(h) + k * state["median"]) / (n + k))
        )
    if model == "winsorised_shrinkage":
        hw = winsorise(h, tuple(state["winsor_bounds"]))
        m = state["winsor_mean"]
        return m if n == 0 else float((n * hw.mean() + k * m) / (n + k))
    if model in ("huber_eb", "student_t_eb"):
        return robust_location(h, state["huber" if model == "huber_eb" else "t"])
    raise ValueError(f"unknown robust model {model!r}; expected one of {ROBUST_MODELS}")


def prefix_table(df: pd.DataFrame, value: str = "cycle_length") -> tuple[np.ndarray, np.ndarray]:
    """For every row of ``df`` (positional), its woman's *earlier* values as a flat array.

    Returns ``(target, values)``: ``values[j]`` is an earlier value of the row at position
    ``target[j]`` of ``df``. Rows are ordered by ``cycle_index`` within woman; the row's own value
    and later values never appear for it. Size is ``sum n_i (n_i - 1) / 2``.
    """
    order = np.lexsort((df[T].to_numpy(), pd.factorize(df[ID])[0]))
    ids = pd.factorize(df[ID])[0][order]
    x = df[value].to_numpy(float)[order]
    rank = pd.Series(ids).groupby(ids).cumcount().to_numpy()  # earlier rows of the same woman
    start = np.arange(len(ids)) - rank  # sorted position of the woman's first row
    total = int(rank.sum())
    if total == 0:
        return np.empty(0, dtype=int), np.empty(0)
    first_of = np.repeat(np.cumsum(rank) - rank, rank)
    source = np.repeat(start, rank) + (np.arange(total) - first_of)
    target, values = np.repeat(order, rank), x[source]
    keep = np.isfinite(values)
    return target[keep], values[keep]


def expanding_robust_forecasts(
    df: pd.DataFrame, state: dict[str, Any], models=ROBUST_MODELS
) -> pd.DataFrame:
    """Table form: every robust model's forecast of every row from that woman's earlier rows only.

    ``state`` comes from :func:`fit_robust_state` on *training* women. The result is aligned on
    ``df.index``; a woman's first row gets the population value of each model.
    """
    value = state["value"]
    target, x = prefix_table(df, value)
    n_rows = len(df)
    n = np.bincount(target, minlength=n_rows).astype(float)
    k = state["k"]
    out = pd.DataFrame(index=df.index)
    if "median_shrinkage" in models:
        med = pd.Series(x).groupby(target).median().reindex(range(n_rows)).to_numpy()
        own = np.where(n > 0, med, 0.0)
        out["median_shrinkage"] = (n * own + k * state["median"]) / (n + k)
    if "winsorised_shrinkage" in models:
        xw = winsorise(x, tuple(state["winsor_bounds"]))
        s = np.bincount(target, weights=xw, minlength=n_rows)
        out["winsorised_shrinkage"] = (s + k * state["winsor_mean"]) / (n + k)
    for name, key in (("huber_eb", "huber"), ("student_t_eb", "t")):
        if name in models:
            mu, _, _ = _irls_locations(x, target, n_rows, state[key], n_iter=50)
            out[name] = mu
    return out[[m for m in ROBUST_MODELS if m in models]]


def select_model_inner_cv(
    train: pd.DataFrame,
    candidate_forecasts,
    *,
    n_folds: int,
    seed: int,
    min_prior: int = 1,
    metric: str = "mae",
    value: str = "cycle_length",
) -> tuple[str, dict[str, float]]:
    """Choose one model on training women only, by inner women-held-out CV.

    Args:
        train: long table of the *training* women.
        candidate_forecasts: callable ``(inner_train, inner_test) -> DataFrame`` of forecasts
            (one column per candidate, aligned on ``inner_test.index``), each fitted on
            ``inner_train`` only.
        n_folds: inner folds.
        seed: fold assignment seed (women ordered by their data first, so the folds do not
            depend on the pseudonyms).
        min_prior: a row is scored when it has at least this many earlier cycles.
        metric: ``"mae"`` or ``"rmse"``.

    Returns:
        The chosen model name (lowest inner-CV ``metric``; ties broken by candidate order) and
        every candidate's score.
    """
    # women in an order fixed by their data, not by their pseudonyms (which change with the key)
    women = content_order(train, ID, [T, value], [ID, T])
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(rng.permutation(women), np.arange(len(women)) % n_folds, strict=True))
    fold = train[ID].map(fold_of)
    n_prior = train.sort_values([ID, T]).groupby(ID).cumcount().reindex(train.index)
    parts = []
    for f in range(n_folds):
        inner_test = train[fold == f]
        if inner_test.empty:
            continue
        pred = candidate_forecasts(train[fold != f], inner_test)
        err = pred.sub(inner_test[value], axis=0)
        parts.append(err[n_prior.loc[inner_test.index] >= min_prior])
    err = pd.concat(parts)
    scores = err.abs().mean() if metric == "mae" else np.sqrt((err**2).mean())
    scores = {str(m): float(s) for m, s in scores.items()}
    best = min(scores, key=lambda m: (scores[m], list(scores).index(m)))
    return best, scores
