"""Seeded synthetic cycle-tracking-app population (the default ``period_starts``).

Each user gets a personal mean cycle length (``mean_length_days`` ± ``between_user_sd_days``)
and a personal variability (log-normal SD around ``within_user_sd_days``). True cycles are
drawn until the user has logged between ``min_starts`` and ``max_starts`` period starts; every
true start after the first is missed (not logged) with probability ``p_missed_log``, so the
gap spanning it is the sum of two (or more) true cycles. Users stop logging at a random day in
the ``ragged_end_days`` before ``end_date`` (users join and leave at different times).

A small share of log noise is planted so the validation has work to do: a duplicated log of
the same day (``p_duplicate``) and an extra log a few days after a real start (``p_spotting``,
a gap under 10 days).

Two optional settings change the draw (left out, the output is the same as without them):

* ``family``: ``normal`` (the default: ``round(N(mean, SD))``) or ``generalized_poisson``: a
  whole-day shift plus a generalized-Poisson count ``GP(theta, gp_lambda)`` (right-skewed, a
  sharp lower edge), with ``theta`` and the shift set so the user's mean and SD are the same.
* ``p_missed_concentration``: when set, each user's probability of not logging a start is drawn
  from ``Beta(c * p_missed_log, c * (1 - p_missed_log))`` (capped at ``P_MISSED_CAP``) instead of
  being ``p_missed_log`` for everyone.

Returns the log (``user_id``, ``period_start`` as ISO text, rows shuffled) and the truth, one row
per logged gap: ``user_id``, ``cycle_start`` (date), ``gap_days``, ``n_missed`` (true number of
unlogged starts inside the gap; > 0 is a skip), ``user_mean_length``, ``user_sd_length``.
:func:`generate_cohort` also returns each user's true parameters, and :func:`cycle_length_pmf`
turns them into her true cycle-length distribution (for a Bayes oracle); :func:`draw_prior_users`
draws parameters from the same prior (for the population-Bayes learner bound).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from cycle_kedro.pseudonyms import hash_id

_BLOCK = 50_000  # users generated per block (fixed, so the result never depends on memory)
FAMILIES = ("normal", "generalized_poisson")
P_MISSED_CAP = 0.5  # largest per-user probability of a missed log (Beta draws)
USER_COLUMNS = ("user_id", "mean_length", "sd_length", "p_missed", "gp_theta", "gp_shift")


def _gp_parameters(mean: np.ndarray, sd: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """``GP(theta, lam)`` has mean ``theta / (1 - lam)`` and variance ``theta / (1 - lam)^3``."""
    theta = sd**2 * (1.0 - lam) ** 3
    return theta, np.rint(mean - theta / (1.0 - lam))


def _gp_draws(rng: np.random.Generator, theta: np.ndarray, lam: float, shape) -> np.ndarray:
    """Generalized-Poisson draws: total progeny of a Poisson(theta)-rooted Poisson(lam) branching."""
    z = rng.poisson(np.broadcast_to(theta[:, None], shape))
    total = z.astype(float)
    while z.any():
        z = rng.poisson(lam * z)
        total += z
    return total


def _true_lengths(rng, mean, sd, shape, cfg: dict) -> np.ndarray:
    family = cfg.get("family", "normal")
    if family == "normal":
        return np.rint(rng.normal(mean[:, None], sd[:, None], shape))
    if family == "generalized_poisson":
        lam = float(cfg["gp_lambda"])
        theta, shift = _gp_parameters(mean, sd, lam)
        return shift[:, None] + _gp_draws(rng, theta, lam, shape)
    raise ValueError(f"population.generator.family must be one of {FAMILIES}, got {family!r}")


def _user_draws(rng: np.random.Generator, n: int, cfg: dict):
    """``n`` users' mean and SD of cycle length and probability of a missed log (the prior)."""
    mean = np.clip(rng.normal(cfg["mean_length_days"], cfg["between_user_sd_days"], n), 21.0, 45.0)
    sd = np.exp(rng.normal(np.log(cfg["within_user_sd_days"]), cfg["within_user_sd_log_sd"], n))
    p_missed = np.full(n, float(cfg["p_missed_log"]))
    if cfg.get("p_missed_concentration") is not None:
        c, p = float(cfg["p_missed_concentration"]), float(cfg["p_missed_log"])
        p_missed = np.minimum(rng.beta(c * p, c * (1.0 - p), n), P_MISSED_CAP)
    return mean, sd, p_missed


def draw_prior_users(cfg: dict, n_draws: int, seed: int) -> pd.DataFrame:
    """``n_draws`` users' true parameters (``USER_COLUMNS``) from the generator's prior, seeded."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"draw{i}" for i in range(n_draws)], dtype=object)
    return _users(ids, *_user_draws(rng, n_draws, cfg), cfg)


def _block(
    rng: np.random.Generator, first: int, n: int, cfg: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    max_starts = int(cfg["max_starts"])
    width = 2 * max_starts + 16  # true cycles drawn per user; enough for 24 logs at p_miss <= 0.3
    if cfg.get("p_missed_concentration") is not None:
        width = 4 * max_starts + 32  # enough for 24 logs at p_miss <= P_MISSED_CAP
    mean, sd, p_missed = _user_draws(rng, n, cfg)
    true_len = _true_lengths(rng, mean, sd, (n, width), cfg)
    true_len = np.clip(true_len, cfg["min_cycle_days"], cfg["max_cycle_days"])
    logged = rng.random((n, width)) >= p_missed[:, None]
    logged[:, 0] = True  # the first start the user ever logs
    n_logged = rng.integers(int(cfg["min_starts"]), max_starts + 1, n)
    rank = np.cumsum(logged, axis=1)
    keep = logged & (rank <= n_logged[:, None])
    offsets = np.concatenate([np.zeros((n, 1)), np.cumsum(true_len, axis=1)[:, :-1]], axis=1)
    rows, cols = np.nonzero(keep)
    day = offsets[rows, cols]
    true_index = cols
    # gaps between consecutive logged starts (same user)
    same = np.r_[rows[1:] == rows[:-1], False]
    gap = np.where(same, np.r_[day[1:], 0.0] - day, np.nan)
    missed = np.where(same, np.r_[true_index[1:], 0] - true_index - 1, -1)
    last_day = np.zeros(n)
    np.maximum.at(last_day, rows, day)
    end = pd.Timestamp(cfg["end_date"]) - pd.to_timedelta(
        rng.integers(0, int(cfg["ragged_end_days"]) + 1, n), unit="D"
    )
    dates = end.to_numpy()[rows] - pd.to_timedelta(last_day[rows] - day, unit="D").to_numpy()
    salt = str(cfg.get("id_salt", "population"))
    user_ids = np.array([hash_id(first + i, salt) for i in range(n)], dtype=object)
    ids = user_ids[rows]
    truth = pd.DataFrame(
        {
            "user_id": ids,
            "cycle_start": dates,
            "gap_days": gap,
            "n_missed": missed,
            "user_mean_length": mean[rows],
            "user_sd_length": sd[rows],
        }
    )[same]
    log = pd.DataFrame({"user_id": ids, "period_start": dates})
    return log, truth, _users(user_ids, mean, sd, p_missed, cfg)


def _users(user_ids, mean, sd, p_missed, cfg: dict) -> pd.DataFrame:
    theta = shift = np.full(len(mean), np.nan)
    if cfg.get("family", "normal") == "generalized_poisson":
        theta, shift = _gp_parameters(mean, sd, float(cfg["gp_lambda"]))
    cols = (user_ids, mean, sd, p_missed, theta, shift)
    return pd.DataFrame(dict(zip(USER_COLUMNS, cols, strict=True)))


def _noise(rng: np.random.Generator, log: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    dup = log[rng.random(len(log)) < cfg["p_duplicate"]]
    spot = log[rng.random(len(log)) < cfg["p_spotting"]].copy()
    spot["period_start"] = spot["period_start"] + pd.to_timedelta(
        rng.integers(2, 8, len(spot)), unit="D"
    )
    return pd.concat([log, dup, spot], ignore_index=True)


def generate_population(cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(period_starts, truth)`` for ``cfg["n_users"]`` users, seeded by ``cfg["seed"]``."""
    log, truth, _ = generate_cohort(cfg)
    return log, truth


def generate_cohort(cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return ``(period_starts, truth, users)``: :func:`generate_population` plus the true
    per-user parameters (``USER_COLUMNS``: mean and SD of cycle length, probability of a missed
    log, and for ``generalized_poisson`` its ``theta`` and whole-day shift), sorted by id."""
    n_users = int(cfg["n_users"])
    if n_users < 1:
        raise ValueError(f"population.generator.n_users must be >= 1, got {n_users}")
    seeds = np.random.SeedSequence(int(cfg["seed"])).spawn((n_users + _BLOCK - 1) // _BLOCK + 1)
    logs, truths, users = [], [], []
    for b, first in enumerate(range(0, n_users, _BLOCK)):
        rng = np.random.default_rng(seeds[b])
        log, truth, user = _block(rng, first, min(_BLOCK, n_users - first), cfg)
        logs.append(_noise(rng, log, cfg))
        truths.append(truth)
        users.append(user)
    log = pd.concat(logs, ignore_index=True)
    rng = np.random.default_rng(seeds[-1])
    log = log.iloc[rng.permutation(len(log))].reset_index(drop=True)
    # few distinct days: format each once, rows share the string objects (memory at 1M users)
    codes, days = pd.factorize(log["period_start"])
    log["period_start"] = days.strftime("%Y-%m-%d").to_numpy(dtype=object)[codes]
    truth = pd.concat(truths, ignore_index=True)
    truth["n_missed"] = truth["n_missed"].astype("int64")
    truth = truth.sort_values(["user_id", "cycle_start"], ignore_index=True)
    users = pd.concat(users, ignore_index=True).sort_values("user_id", ignore_index=True)
    return log, truth, users


def cycle_length_pmf(users: pd.DataFrame, cfg: dict, n_days: int = 128) -> np.ndarray:
    """Each user's true cycle-length distribution: ``pmf[u, l]`` = P(a cycle lasts ``l`` days).

    ``users`` from :func:`generate_cohort`, ``cfg`` the generator settings that made them: the
    family, and the clipping to ``[min_cycle_days, max_cycle_days]``.
    """
    lo, hi = int(cfg["min_cycle_days"]), int(cfg["max_cycle_days"])
    days = np.arange(n_days, dtype=float)
    if cfg.get("family", "normal") == "normal":
        mean = users["mean_length"].to_numpy(float)[:, None]
        sd = users["sd_length"].to_numpy(float)[:, None]
        cdf = special.ndtr((days[None, :] + 0.5 - mean) / sd)  # P(round(N) <= l)
    else:
        lam = float(cfg["gp_lambda"])
        theta = users["gp_theta"].to_numpy(float)[:, None]
        x = days[None, :] - users["gp_shift"].to_numpy(float)[:, None]  # GP count for each day
        ok = x >= 0
        xs = np.where(ok, x, 0.0)
        logp = np.log(theta) + (xs - 1) * np.log(theta + xs * lam) - theta - xs * lam
        cdf = np.cumsum(np.where(ok, np.exp(logp - special.gammaln(xs + 1)), 0.0), axis=1)
    cdf[:, hi:] = 1.0
    cdf[:, :lo] = 0.0
    return np.diff(cdf, axis=1, prepend=0.0)
