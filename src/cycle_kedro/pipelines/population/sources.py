"""Source nodes of the ``population`` pipeline: the start-date logs it scores.

``generate_app_population`` draws the seeded synthetic app population (the default
``period_starts``, with its truth for the skip-flag scoring; the generator is :mod:`.generator`);
``convert_cycles_to_starts`` turns the FedCycle cohort's cycle lengths into a start-date log.
"""

from __future__ import annotations

import logging

import pandas as pd

from . import engine
from .generator import generate_population

logger = logging.getLogger(__name__)


def generate_app_population(generator: dict, engine_cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate the seeded synthetic app population: the log and its truth.

    Returns ``period_starts`` (``user_id``, ``period_start`` ISO text, shuffled rows; a Dask
    frame under the Dask engine) and ``population_truth`` (per logged gap: ``n_missed`` > 0
    marks a gap with missed logs, plus the user's true mean and SD of cycle length).
    """
    log, truth = generate_population(generator)
    logger.info(
        "Generated %d users, %d logged starts, %d gaps with a missed log",
        generator["n_users"],
        len(log),
        int((truth["n_missed"] > 0).sum()),
    )
    return engine.to_engine(log, engine_cfg), truth


def convert_cycles_to_starts(cycles: pd.DataFrame, options: dict) -> pd.DataFrame:
    """Turn per-cycle lengths (FedCycle) into a start-date log anchored at ``anchor_date``.

    Each woman's first cycle starts on the anchor; every later start adds the previous
    length; the start after her last cycle is logged too, so n cycles give n + 1 starts.
    """
    c = cycles.sort_values(["woman_id", "cycle_index"], kind="stable")
    c = c[c["cycle_length"].notna()]
    offset = c.groupby("woman_id", sort=False)["cycle_length"].cumsum()
    ends = pd.DataFrame({"user_id": c["woman_id"], "days": offset})
    firsts = pd.DataFrame({"user_id": c["woman_id"].drop_duplicates(), "days": 0.0})
    log = pd.concat([firsts, ends], ignore_index=True)
    dates = pd.Timestamp(options["anchor_date"]) + pd.to_timedelta(log["days"], unit="D")
    log = pd.DataFrame({"user_id": log["user_id"], "period_start": dates.dt.strftime("%Y-%m-%d")})
    return log.sort_values(["user_id", "period_start"], ignore_index=True)
