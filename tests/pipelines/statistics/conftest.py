"""Fixtures for the statistics pipeline: small DAILY tables built from known per-woman levels."""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pandas as pd
import pytest

from tests.conftest import load_params

PHASES = ("menstrual", "follicular", "ovulatory", "luteal")


def woman_ids(n: int) -> list[str]:
    """``n`` distinct 12-hex-digit ids (the DAILY schema's hashed-id format)."""
    return [hashlib.sha256(f"test-{i}".encode()).hexdigest()[:12] for i in range(n)]


def make_daily(
    women: pd.DataFrame, days_per_phase: int = 2, n_cycles: int = 2, seed: int = 0
) -> pd.DataFrame:
    """A DAILY table whose per-woman means are exactly ``women``'s steps/e2/p4 columns.

    Each cycle has ``days_per_phase`` days in each phase; day values are the woman's level
    times a factor that averages to exactly 1 over her days (so the mean is known).
    """
    rng = np.random.default_rng(seed)
    rows = []
    n_days = n_cycles * len(PHASES) * days_per_phase
    for woman in women.itertuples(index=False):
        factors = {c: _unit_mean_factors(rng, n_days) for c in ("steps", "e2", "p4")}
        day = 0
        for cycle in range(1, n_cycles + 1):
            for k, phase in enumerate(PHASES):
                for j in range(days_per_phase):
                    rows.append(
                        {
                            "woman_id": woman.woman_id,
                            "cycle_index": cycle,
                            "cycle_day": k * days_per_phase + j + 1,
                            "phase": phase,
                            **{
                                c: getattr(woman, c) * factors[c][day]
                                for c in ("steps", "e2", "p4")
                            },
                            "age": woman.age,
                            "bmi": woman.bmi,
                        }
                    )
                    day += 1
    return pd.DataFrame(rows)


def _unit_mean_factors(rng: np.random.Generator, n: int) -> np.ndarray:
    f = rng.uniform(0.7, 1.3, n)
    return f / f.mean()


def make_women(n: int, rho: float, seed: int) -> pd.DataFrame:
    """Per-woman levels with steps correlated with p4 (``rho``) and unrelated to e2."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    return pd.DataFrame(
        {
            "woman_id": woman_ids(n),
            "steps": 9000 + 2500 * z,
            "e2": 110 * np.exp(0.25 * rng.standard_normal(n)),
            "p4": 5 * np.exp(0.3 * (rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(n))),
            "age": rng.integers(20, 40, n).astype(float),
            "bmi": rng.normal(24, 3, n),
        }
    )


@pytest.fixture(scope="session")
def stats_params() -> dict:
    """The project's own synthetic-namespace statistics parameters, bootstrap shortened."""
    params = copy.deepcopy(load_params("statistics")["statistics"]["synthetic"])
    params["inference"]["n_boot"] = 400
    return params


@pytest.fixture(scope="session")
def mcphases_params() -> dict:
    params = copy.deepcopy(load_params("statistics")["statistics"]["mcphases"])
    params["inference"]["n_boot"] = 200
    return params


@pytest.fixture
def women_levels() -> pd.DataFrame:
    return make_women(40, rho=-0.5, seed=3)


@pytest.fixture
def daily(women_levels: pd.DataFrame) -> pd.DataFrame:
    return make_daily(women_levels)
