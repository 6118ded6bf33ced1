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

Returns the log (``user_id``, ``period_start`` as ISO text, rows shuffled) and the truth, one row
per logged gap: ``user_id``, ``cycle_start`` (date), ``gap_days``, ``n_missed`` (true number of
unlogged starts inside the gap; > 0 is a skip), ``user_mean_length``, ``user_sd_length``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cycle_kedro.pseudonyms import hash_id

_BLOCK = 50_000  # users generated per block (fixed, so the result never depends on memory)


def _block(
    rng: np.random.Generator, first: int, n: int, cfg: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    max_starts = int(cfg["max_starts"])
    width = 2 * max_starts + 16  # true cycles drawn per user; enough for 24 logs at p_miss <= 0.3
    mean = np.clip(rng.normal(cfg["mean_length_days"], cfg["between_user_sd_days"], n), 21.0, 45.0)
    sd = np.exp(rng.normal(np.log(cfg["within_user_sd_days"]), cfg["within_user_sd_log_sd"], n))
    true_len = np.rint(rng.normal(mean[:, None], sd[:, None], (n, width)))
    true_len = np.clip(true_len, cfg["min_cycle_days"], cfg["max_cycle_days"])
    logged = rng.random((n, width)) >= cfg["p_missed_log"]
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
    ids = np.array([hash_id(first + i, salt) for i in range(n)], dtype=object)[rows]
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
    return log, truth


def _noise(rng: np.random.Generator, log: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    dup = log[rng.random(len(log)) < cfg["p_duplicate"]]
    spot = log[rng.random(len(log)) < cfg["p_spotting"]].copy()
    spot["period_start"] = spot["period_start"] + pd.to_timedelta(
        rng.integers(2, 8, len(spot)), unit="D"
    )
    return pd.concat([log, dup, spot], ignore_index=True)


def generate_population(cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(period_starts, truth)`` for ``cfg["n_users"]`` users, seeded by ``cfg["seed"]``."""
    n_users = int(cfg["n_users"])
    if n_users < 1:
        raise ValueError(f"population.generator.n_users must be >= 1, got {n_users}")
    seeds = np.random.SeedSequence(int(cfg["seed"])).spawn((n_users + _BLOCK - 1) // _BLOCK + 1)
    logs, truths = [], []
    for b, first in enumerate(range(0, n_users, _BLOCK)):
        rng = np.random.default_rng(seeds[b])
        log, truth = _block(rng, first, min(_BLOCK, n_users - first), cfg)
        logs.append(_noise(rng, log, cfg))
        truths.append(truth)
    log = pd.concat(logs, ignore_index=True)
    rng = np.random.default_rng(seeds[-1])
    log = log.iloc[rng.permutation(len(log))].reset_index(drop=True)
    # few distinct days: format each once, rows share the string objects (memory at 1M users)
    codes, days = pd.factorize(log["period_start"])
    log["period_start"] = days.strftime("%Y-%m-%d").to_numpy(dtype=object)[codes]
    truth = pd.concat(truths, ignore_index=True)
    truth["n_missed"] = truth["n_missed"].astype("int64")
    return log, truth.sort_values(["user_id", "cycle_start"], ignore_index=True)
