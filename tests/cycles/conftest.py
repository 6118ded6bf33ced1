"""Fixtures for the cycles library tests: generated per-cycle tables with ovulation days."""

import hashlib

import numpy as np
import pandas as pd
import pytest


def make_cohort(n_women: int = 60, n_cycles: int = 8, seed: int = 0) -> pd.DataFrame:
    """Cycles with woman-level means (29 +- 2 d), within-woman SD 2 d, luteal 13 +- 1 d."""
    rng = np.random.default_rng(seed)
    rows = []
    for w in range(n_women):
        wid = hashlib.sha256(f"c{w}".encode()).hexdigest()[:12]
        mu, lut_mu = 29 + rng.normal(0, 2), 13 + rng.normal(0, 1)
        for t in range(1, n_cycles + 1):
            length = float(round(mu + rng.normal(0, 2)))
            luteal = float(np.clip(round(lut_mu + rng.normal(0, 1)), 8, 18))
            rows.append(
                {
                    "woman_id": wid,
                    "cycle_index": t,
                    "cycle_length": length,
                    "ovulation_day": length - luteal,
                }
            )
    df = pd.DataFrame(rows)
    df["n_prior"] = df.groupby("woman_id").cumcount()
    return df


@pytest.fixture
def cohort() -> pd.DataFrame:
    return make_cohort()


ROBUST_OPTIONS = {"winsor_quantile": 0.025, "huber_c": 1.345, "t_df": 4.0}

INCYCLE_OPTIONS = {
    "coverage": 0.8,
    "n_prior_bands": [3, 6],
    "min_calibration": 50,
    "point": "median",
    "min_tail": 20,
    "detection_lag": 1,
    "use_ovulation": True,
    "ovulation_tracked": False,
    "round_to_day": True,
    "luteal_model": "shrinkage",
    "inner_folds": 3,
    "seed": 1,
    "robust": ROBUST_OPTIONS,
}
