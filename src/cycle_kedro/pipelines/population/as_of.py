"""As-of nodes of the ``population`` pipeline: the skip-aware model and today's forecast per user.

The model is :mod:`cycle_kedro.cycles.adherence` (a user's logged gap holds ``s + 1`` true
cycles, ``s`` geometric with a Beta prior on her skip probability; population hyperparameters by
empirical Bayes). Its family is chosen once, by :func:`~cycle_kedro.cycles.adherence.select_family`
on the app cohort's *training* users (``population.adherence.family: auto``; or a fixed family),
and both cohorts use it. Training and test users are a fixed hash split of the user ids
(:func:`held_out_users`, share ``population.adherence.test_fraction``): the by-day evaluation fits on
training users only and scores the test users' held-out last gap.

Both engines collect the cycle table into pandas for the model (every step is vectorised over
all users and keyed by sorted user ids, so the result does not depend on partitions).
"""

from __future__ import annotations

import logging

import pandas as pd

from cycle_kedro.cycles import adherence as skip_model

from . import engine
from .forecasts import sample_users

logger = logging.getLogger(__name__)

AS_OF_COLUMNS = {
    "as_of": "datetime64[ns]",
    "cycle_day": "int64",
    "as_of_next_start": "datetime64[ns]",
    "as_of_next_start_lo80": "datetime64[ns]",
    "as_of_next_start_hi80": "datetime64[ns]",
    "p_missed_start": "float64",
    "p_start_soon": "float64",
}
"""Columns the as-of forecast adds to ``next_period_forecasts`` (the same for every model row)."""


def as_of_day(input_cfg: dict) -> pd.Timestamp:
    """The forecast day: ``input.as_of``, today when null (as the intake's ``future`` rule)."""
    as_of = input_cfg.get("as_of")
    return pd.Timestamp(as_of).normalize() if as_of else pd.Timestamp.today().normalize()


def held_out_users(user_ids: pd.Series, adherence: dict) -> pd.Series:
    """True for the held-out test users: a fixed hash share ``test_fraction`` of the ids."""
    return sample_users(user_ids, float(adherence["test_fraction"]))


def model_options(adherence: dict, family: str) -> dict:
    """The library's options: ``population.adherence.options`` with the chosen family."""
    return dict(adherence.get("options") or {}) | {"family": family}


def _plain(value):
    """JSON-ready copy of the model state (numpy scalars become Python numbers)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value.item() if hasattr(value, "item") else value


def select_adherence_family(cycles: pd.DataFrame, adherence: dict) -> dict:
    """The model family by the fixed rule, on training users only: ``{family, rule, scores}``."""
    if adherence["family"] != "auto":
        return {"family": adherence["family"], "rule": "fixed", "scores": {}}
    cycles = engine.compute(cycles)
    train = cycles[~held_out_users(cycles["user_id"], adherence).to_numpy()]
    users, codes, lengths = skip_model.user_gaps(train)
    if (users["n_gaps"] >= 2).sum() < int(adherence["min_training_users"]):
        logger.info("Too few training users for the family rule: %s", adherence["fallback_family"])
        return {"family": adherence["fallback_family"], "rule": "fallback", "scores": {}}
    family, scores = skip_model.select_family(lengths, codes, model_options(adherence, "normal"))
    logger.info(
        "Skip-aware model family %s (mean log score of training users' last gap: %s)",
        family,
        scores,
    )
    return {"family": family, "rule": "select_family on training users", "scores": scores}


def _prior_state(adherence: dict) -> dict:
    """The model state of ``population.adherence.population_prior`` (no fit: ``n_users_fit`` 0)."""
    prior = adherence["population_prior"]
    opts = skip_model.DEFAULT_OPTIONS | model_options(adherence, prior["family"])
    return {
        "family": prior["family"],
        "typical_days": float(prior["typical_days"]),
        **{k: float(prior[k]) for k in ("m0", "kappa0", "a0", "b0", "alpha", "beta")},
        "options": opts,
        "n_users_fit": 0,
        "n_gaps_fit": 0,
        "fit_rounds_run": 0,
    }


def fit_skip_aware_model(cycles: pd.DataFrame, family: dict, adherence: dict) -> dict:
    """Fit the skip-aware model's population hyperparameters on every user's logged gaps.

    A cohort with fewer than ``min_training_users`` users with 2+ gaps (one user's export) cannot
    fit a population: it gets ``population_prior`` (fitted on the generated app cohort).
    """
    users, codes, lengths = skip_model.user_gaps(engine.compute(cycles))
    if (users["n_gaps"] >= 2).sum() < int(adherence["min_training_users"]):
        logger.info(
            "Skip-aware model: %d users with 2+ gaps, too few to fit; population prior (%s)",
            int((users["n_gaps"] >= 2).sum()),
            adherence["population_prior"]["family"],
        )
        return _plain(_prior_state(adherence))
    state = skip_model.fit_adherence_model(
        lengths, codes, model_options(adherence, family["family"])
    )
    logger.info(
        "Skip-aware model (%s) on %d users, %d gaps",
        family["family"],
        state["n_users_fit"],
        state["n_gaps_fit"],
    )
    return _plain(state)


def add_as_of_forecasts(
    forecasts: pd.DataFrame, cycles: pd.DataFrame, model: dict, input_cfg: dict
) -> pd.DataFrame:
    """``next_period_forecasts``: every model's rows plus the skip-aware forecast as of ``as_of``.

    Added per user (:data:`AS_OF_COLUMNS`): ``cycle_day`` (days since her last logged start),
    the median and 80% interval of her next logged start given none was logged by ``as_of``,
    ``p_missed_start`` (a start came and was not logged) and ``p_start_soon`` (a logged start in
    the next ``soon_days`` days).
    """
    as_of = as_of_day(input_cfg)
    f = skip_model.adherence_forecasts(engine.compute(cycles), model, as_of)
    f = f.rename(
        columns={
            "next_start": "as_of_next_start",
            "next_start_lo80": "as_of_next_start_lo80",
            "next_start_hi80": "as_of_next_start_hi80",
        }
    )
    f["as_of"] = as_of
    f = f[["user_id", *AS_OF_COLUMNS]].astype(AS_OF_COLUMNS)
    out = forecasts.merge(f, on="user_id", how="left", validate="many_to_one")
    logger.info("As-of %s forecasts for %d users", as_of.date(), len(f))
    return out
