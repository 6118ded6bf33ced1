"""Bounds for the generated app cohort's day-by-day table: the Bayes oracle and the learner bound.

The Bayes oracle knows each user's true parameters (``population_truth``) and forecasts from her
true distribution. No model fitted on logs can, since a user with two logged gaps says little about
her own cycle: the best a learner can do is to know the *population*, the generator's prior over
user parameters. That learner bound (``population_bayes``) is computed by Monte Carlo: a fixed,
seeded set of parameter vectors drawn from the generator's prior
(:func:`.generator.draw_prior_users`), each draw's true cycle-length and logged-gap distributions
(:func:`.generator.cycle_length_pmf`, :func:`cycle_kedro.cycles.adherence.logged_gap_pmf`), each
test user's weight on every draw the likelihood of her training gaps (not the held-out one), and
her forecast the weighted mixture, summarised as of each day by
:func:`cycle_kedro.cycles.adherence.forecast_from_pmf` (as the oracle). Vectorised: one matrix
product per block of users.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse, special

from cycle_kedro.cycles import adherence as skip_model
from cycle_kedro.tables import mlflow_metrics

from . import engine
from .by_cycle_day import held_out_gaps, scores
from .generator import cycle_length_pmf, draw_prior_users

PMF_FLOOR = 1e-14
"""Smallest gap probability used in a likelihood (below it the FFT's rounding is the value)."""


def population_bayes_pmfs(
    x: np.ndarray,
    codes: np.ndarray,
    n_users: int,
    cycle_draws: np.ndarray,
    p_missed_draws: np.ndarray,
    *,
    n_days: int = 512,
    chunk_users: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's posterior mixture of the draws' gap and cycle distributions.

    Args:
        x: logged gaps in whole days; ``codes``: each gap's user (``0 .. n_users - 1``).
        n_users: number of users.
        cycle_draws: ``pmf[m, l]`` of draw ``m``'s true cycle length (``cycle_length_pmf``).
        p_missed_draws: each draw's probability of a missed log.
        n_days: gap days kept (longer gaps are dropped from the mixture: at a 5% skip
            probability a gap of 512 days needs 8 missed logs in a row).
        chunk_users: users per matrix product (bounds memory, not the result).

    Returns:
        ``(gap_pmf, cycle_pmf)``, one row per user (a user without a gap gets the prior mixture).
    """
    gap = skip_model.logged_gap_pmf(cycle_draws, p_missed_draws, 2 * n_days)[:, :n_days]
    log_gap = np.log(np.maximum(gap, PMF_FLOOR))
    days = np.clip(np.rint(x).astype(np.int64), 0, n_days - 1)
    counts = sparse.csr_matrix(  # counts[u, g]: how many of u's gaps last g days
        (np.ones(len(days)), (codes, days)), shape=(n_users, n_days)
    )
    gap_mix = np.empty((n_users, n_days))
    cycle_mix = np.empty((n_users, cycle_draws.shape[1]))
    for lo in range(0, n_users, chunk_users):
        loglik = np.asarray(counts[lo : lo + chunk_users] @ log_gap.T)  # users x draws
        w = np.exp(loglik - loglik.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        gap_mix[lo : lo + chunk_users] = w @ gap
        cycle_mix[lo : lo + chunk_users] = w @ cycle_draws
    return gap_mix, cycle_mix


def _oracle_users(truth: pd.DataFrame, generator: dict) -> pd.DataFrame:
    if generator.get("p_missed_concentration") is not None:
        raise ValueError("the oracle needs each user's skip probability: not in population_truth")
    u = truth.groupby("user_id", sort=True)[["user_mean_length", "user_sd_length"]].first()
    return pd.DataFrame(
        {
            "user_id": u.index,
            "mean_length": u["user_mean_length"].to_numpy(),
            "sd_length": u["user_sd_length"].to_numpy(),
            "p_missed": float(generator["p_missed_log"]),
        }
    )


def _from_pmf(p: pd.DataFrame, gap: np.ndarray, cycle: np.ndarray) -> pd.DataFrame:
    f = skip_model.forecast_from_pmf(gap, cycle, p["day"].to_numpy())
    return p.assign(
        median=f["median_gap_days"],
        lo80=f["lo_gap_days"],
        hi80=f["hi_gap_days"],
        p_missed_start=f["p_missed_start"],
    )


def _planted_missed(truth: pd.DataFrame, generator: dict, p: pd.DataFrame) -> np.ndarray:
    """Per row of ``p``: the probability, given the planted truth, that a true start came unlogged
    by the row's day (the first of the held-out gap's ``k = n_missed + 1`` true cycles is at most
    ``day`` days). 0 without a missed log; else the first of ``k`` normal cycles given their sum,
    ``N(gap / k, sd^2 (1 - 1 / k))`` (rounding and clipping left out). NaN for another family, or
    where the truth's last gap is not the scored one."""
    if generator.get("family", "normal") != "normal":
        return np.full(len(p), np.nan)
    last = truth.groupby("user_id", sort=False).tail(1).set_index("user_id").loc[p["user_id"]]
    gap, k = last["gap_days"].to_numpy(float), last["n_missed"].to_numpy(float) + 1.0
    sd = last["user_sd_length"].to_numpy(float) * np.sqrt(1.0 - 1.0 / k)
    z = (p["day"].to_numpy(float) + 0.5 - gap / k) / np.where(sd > 0, sd, 1.0)
    share = np.where(k > 1, special.ndtr(z), 0.0)
    return np.where(gap == p["actual_gap"].to_numpy(float), share, np.nan)


def oracle_predictions(
    p: pd.DataFrame, cycle_pmf: np.ndarray, p_missed: np.ndarray
) -> pd.DataFrame:
    """``p``'s rows (one day) with the Bayes oracle's median / interval: the true distribution."""
    return _from_pmf(p, skip_model.logged_gap_pmf(cycle_pmf, p_missed), cycle_pmf)


class _LearnerBound:
    """The population-Bayes mixtures of the test users, from their training gaps."""

    def __init__(self, cycles: pd.DataFrame, generator: dict, adherence: dict, by_day: dict):
        users, codes, x, test, held = held_out_gaps(engine.compute(cycles), adherence)
        hist = test[codes] & ~held
        self.index = pd.Index(users["user_id"].to_numpy()[test])
        pos = np.cumsum(test) - 1
        draws = draw_prior_users(generator, int(by_day["bound_draws"]), int(by_day["bound_seed"]))
        self.gap, self.cycle = population_bayes_pmfs(
            x[hist],
            pos[codes[hist]],
            len(self.index),
            cycle_length_pmf(draws, generator),
            draws["p_missed"].to_numpy(),
        )

    def predictions(self, p: pd.DataFrame) -> pd.DataFrame:
        i = self.index.get_indexer(p["user_id"])
        if (i < 0).any():
            raise ValueError("learner bound: a scored user is not a held-out test user")
        return _from_pmf(p, self.gap[i], self.cycle[i])


def _row(day, model, p, oracle, *, bound, planted) -> dict:
    mine, best, learner = scores(p), scores(oracle), scores(bound)
    return {
        "day": day,
        "model": model,
        "n_users": int(len(p)),
        "mae": mine["mae"],
        "oracle_mae": best["mae"],
        "oracle_rmse": best["rmse"],
        "oracle_coverage80": best["coverage80"],
        "mae_ratio": mine["mae"] / best["mae"],
        "coverage80": mine["coverage80"],
        "bound_mae": learner["mae"],
        "bound_coverage80": learner["coverage80"],
        "bound_ratio": mine["mae"] / learner["mae"],
        "mean_p_missed": p["p_missed_start"].mean(),
        "oracle_mean_p_missed": oracle["p_missed_start"].mean(),
        "planted_missed_share": np.nanmean(planted) if np.isfinite(planted).any() else np.nan,
    }


def _gains(table: pd.DataFrame, baselines: list[str]) -> pd.DataFrame:
    """Each row's MAE gain over the day's best baseline, and the oracle's (the best possible)."""
    best = table[table["model"].isin(baselines)].groupby("day")["mae"].min()
    base = table["day"].map(best)
    return table.assign(
        gain_vs_best_baseline=1.0 - table["mae"] / base,
        best_possible_gain=1.0 - table["oracle_mae"] / base,
    )


def score_oracle_by_cycle_day(
    predictions: pd.DataFrame,
    cycles: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    generator: dict,
    adherence: dict,
    by_day: dict,
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Every model's MAE beside the Bayes oracle's and the learner bound's, on the same users and days.

    Rows: each (day, model) of ``predictions`` plus ``population_bayes`` (the learner bound on the
    skip-aware model's users). ``mae_ratio`` / ``bound_ratio``: MAE over the oracle's / the
    bound's; ``gain_vs_best_baseline``: ``1 - mae / best baseline MAE`` of the day
    (``by_day.baselines``); ``best_possible_gain``: the same for the oracle. Calibration of the
    missed-start probability: ``mean_p_missed`` (the row's model; NaN for the baselines),
    ``oracle_mean_p_missed`` and ``planted_missed_share`` (:func:`_planted_missed`, the truth).
    """
    users = _oracle_users(truth, generator).set_index("user_id")
    bound = _LearnerBound(cycles, generator, adherence, by_day)
    rows = []
    for day, on_day in predictions.groupby("day", sort=True):
        # the oracle, the bound and the truth depend on the user and the day, not on the model:
        # computed once per day for its users, then read in each model's row order
        first = on_day.drop_duplicates("user_id").reset_index(drop=True)
        u = users.loc[first["user_id"]].reset_index()
        day_oracle = oracle_predictions(
            first, cycle_length_pmf(u, generator), u["p_missed"].to_numpy()
        )
        day_learner = bound.predictions(first)
        day_planted = _planted_missed(truth, generator, first)
        where = pd.Index(first["user_id"])
        for model, p in on_day.groupby("model", sort=True):
            i = where.get_indexer(p["user_id"])
            oracle, learner, planted = day_oracle.iloc[i], day_learner.iloc[i], day_planted[i]
            rows.append(_row(day, model, p, oracle, bound=learner, planted=planted))
            if model == "skip_aware":
                rows.append(
                    _row(day, "population_bayes", learner, oracle, bound=learner, planted=planted)
                )
    table = _gains(pd.DataFrame(rows), list(by_day["baselines"]))
    table = table.sort_values(["day", "model"], ignore_index=True)
    metrics = mlflow_metrics(
        {
            f"population.app.by_day.{r.model}.day{r.day}.oracle_ratio": r.mae_ratio
            for r in table.itertuples(index=False)
        }
        | {
            f"population.app.by_day.oracle.day{r.day}.mae": r.oracle_mae
            for r in table[table["model"] == "skip_aware"].itertuples(index=False)
        }
        | {
            f"population.app.by_day.{r.model}.day{r.day}.bound_ratio": r.bound_ratio
            for r in table[table["model"] != "population_bayes"].itertuples(index=False)
        }
        | {
            f"population.app.by_day.{r.model}.day{r.day}.{m}": getattr(r, m)
            for r in table[table["model"] == "population_bayes"].itertuples(index=False)
            for m in ("mae", "coverage80", "best_possible_gain")
        }
        | {
            f"population.app.by_day.{r.model}.day{r.day}.{m}": getattr(r, m)
            for r in table[table["model"] == "skip_aware"].itertuples(index=False)
            for m in ("mean_p_missed", "planted_missed_share")
        }
    )
    return table, metrics
