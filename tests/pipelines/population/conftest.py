"""Fixtures for the population tests: the project's parameters and tiny hand-made logs."""

import copy

import pandas as pd
import pytest

from tests.conftest import load_params


@pytest.fixture(scope="session")
def population_params() -> dict:
    """The ``population:`` block of ``conf/base/parameters_population.yml`` (copy before changing it)."""
    return load_params("population")["population"]


@pytest.fixture
def params(population_params) -> dict:
    return copy.deepcopy(population_params)


@pytest.fixture
def input_cfg() -> dict:
    return {
        "cohort": "app",
        "source": "data/01_raw/population/export.csv",
        "header_lines": 1,
        "as_of": "2025-01-01",
        "min_gap_days": 10,
    }


@pytest.fixture
def pandas_engine() -> dict:
    return {"engine": "pandas", "n_jobs": 1}


def starts_from_gaps(user: str, first: str, gaps: list[int]) -> pd.DataFrame:
    """A user's log: the first start plus one start after each gap (ISO text)."""
    days = pd.Timestamp(first) + pd.to_timedelta(pd.Series([0, *gaps]).cumsum(), unit="D")
    return pd.DataFrame({"user_id": user, "period_start": days.dt.strftime("%Y-%m-%d")})


@pytest.fixture
def planted_log() -> pd.DataFrame:
    """Three users: one regular, one with planted missed logs (56 = 2x28, 84 = 3x28), one short."""
    return pd.concat(
        [
            starts_from_gaps("regular", "2024-01-03", [30, 29, 31, 30, 29, 30, 31]),
            starts_from_gaps("skipper", "2024-01-05", [28, 28, 56, 29, 27, 84, 28, 28]),
            starts_from_gaps("newbie", "2024-06-01", []),
        ],
        ignore_index=True,
    )
