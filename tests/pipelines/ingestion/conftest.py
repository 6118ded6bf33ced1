import pandas as pd
import pytest

from cycle_kedro.pseudonyms import PseudonymKey
from tests.conftest import PROJECT_ROOT, TEST_KEY, load_params

FEDCYCLE_CSV = PROJECT_ROOT / "data" / "01_raw" / "fedcycle" / "FedCycleData071012.csv"
FEDCYCLE_LOAD_ARGS = {"encoding": "utf-8-sig", "na_values": [" "], "low_memory": False}


@pytest.fixture
def ingestion_params() -> dict:
    return load_params("ingestion")


@pytest.fixture
def key() -> PseudonymKey:
    return PseudonymKey(TEST_KEY)


@pytest.fixture
def fedcycle_checks(ingestion_params) -> dict:
    return ingestion_params["fedcycle_checks"]


@pytest.fixture
def small_cohort_params(ingestion_params) -> dict:
    return {**ingestion_params["synthetic_cohort"], "n_women": 12, "cycles_per_woman": [2, 4]}


@pytest.fixture
def fedcycle_header() -> str:
    return FEDCYCLE_CSV.read_text(encoding="utf-8-sig").splitlines()[0]


@pytest.fixture
def mcphases_dir(tmp_path):
    """Tiny tables shaped like mcPHASES: two people, interval 2022 and 2024, text Likert columns."""
    days = range(1, 13)
    phases = (
        ["Menstrual"] * 3
        + ["Follicular"] * 3
        + ["Fertility", ""]
        + ["Luteal"] * 2
        + ["Menstrual"] * 2
    )
    hormones = []
    for pid, interval in [(1, 2022), (2, 2022), (2, 2024)]:
        for day, phase in zip(days, phases):
            hormones.append(
                {
                    "id": pid,
                    "study_interval": interval,
                    "is_weekend": day % 7 in (0, 6),
                    "day_in_study": day,
                    "phase": phase or None,
                    "lh": 5.0,
                    "estrogen": 100.0 + day,
                    "pdg": None if interval == 2022 else 2.0 + day,
                    "flow_volume": "Light",
                    "headaches": "Not at all",
                    "stress": "Moderate",
                }
            )
    steps = []
    for row in hormones:
        for minute, count in [
            ("08:00:00", 400),
            ("12:00:00", 600),
            ("12:00:00", 600),
            ("18:00:00", 6000),
        ]:
            steps.append(
                {
                    **{k: row[k] for k in ("id", "study_interval", "is_weekend", "day_in_study")},
                    "timestamp": minute,
                    "steps": count,
                }
            )
    pd.DataFrame(hormones).to_csv(tmp_path / "hormones_and_selfreport.csv", index=False)
    pd.DataFrame(steps).to_csv(tmp_path / "steps.csv", index=False)
    pd.DataFrame({"id": [1, 2], "birth_year": [2000, 1998], "gender": ["Female", "Female"]}).to_csv(
        tmp_path / "subject-info.csv", index=False
    )
    pd.DataFrame(
        {
            "id": [1, 2],
            "height_2022": [160.0, 170.0],
            "weight_2022": [64.0, None],
            "height_2024": [None, 170.0],
            "weight_2024": [None, 72.25],
        }
    ).to_csv(tmp_path / "height_and_weight.csv", index=False)
    return tmp_path
