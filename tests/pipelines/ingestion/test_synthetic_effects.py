"""Planted effects on the synthetic cohort's cycle lengths (synthetic_effects.py)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from cycle_kedro.pipelines.ingestion.synthetic import (
    generate_synthetic_cohort,
    summarise_synthetic_cycles,
)

SIGNAL = {"steps_days_per_1000": -1.0, "p4_cycle_sd": 0.25, "p4_next_days_per_sd": 2.0}
OFF = dict.fromkeys(SIGNAL, 0.0) | {"long_cycle_share": 0.0}


def test_effects_off_leave_the_cohort_byte_identical(small_cohort_params):
    plain = generate_synthetic_cohort(small_cohort_params)
    off = generate_synthetic_cohort({**small_cohort_params, "cycle_effects": OFF})
    pd.testing.assert_frame_equal(plain, off, check_exact=True)
    assert "planted_shift" not in off
    on = generate_synthetic_cohort({**small_cohort_params, "cycle_effects": SIGNAL})
    assert not on["cycle_length"].equals(plain["cycle_length"])
    assert "planted_shift" in on
    per_woman = ["woman_id", "age", "bmi"]  # the effects draw from their own random stream
    pd.testing.assert_frame_equal(
        on[per_woman].drop_duplicates(ignore_index=True),
        plain[per_woman].drop_duplicates(ignore_index=True),
    )


def _large(params: dict, effects: dict, n_women: int) -> pd.DataFrame:
    p = {
        **params,
        "n_women": n_women,
        "cycles_per_woman": [2, 2],
        "seed": 5,
        "cv_p4": 0.0,  # one P4 level for all women, so a cycle's P4 shows only its own factor
        "cycle_range": [15, 60],
        "cycle_effects": effects,
    }
    cycles = summarise_synthetic_cycles(generate_synthetic_cohort(p))
    first = cycles[cycles["cycle_index"] == 1].set_index("woman_id")
    second = cycles[cycles["cycle_index"] == 2].set_index("woman_id")
    return pd.DataFrame(
        {
            "steps_k": first["steps"] / 1000,
            "log_p4_prev": np.log(first["p4"] / params["mean_p4"]) / SIGNAL["p4_cycle_sd"],
            "length": second["cycle_length"],
        }
    )


def _ridge_coefficients(df: pd.DataFrame) -> np.ndarray:
    x = df[["steps_k", "log_p4_prev"]]
    return Ridge(alpha=1.0).fit(x, df["length"]).coef_


def test_planted_effects_recovered_by_ridge_at_large_n(small_cohort_params):
    steps_coef, p4_coef = _ridge_coefficients(_large(small_cohort_params, SIGNAL, 1000))
    # SEs at n=1000: about 0.05 d per 1000 steps and 0.11 d per SD of P4; the cycle's mean P4
    # carries day-level noise (attenuation about 5%)
    assert steps_coef == pytest.approx(SIGNAL["steps_days_per_1000"], abs=0.2)
    assert p4_coef == pytest.approx(SIGNAL["p4_next_days_per_sd"], rel=0.15)


def test_no_effect_recovered_when_off(small_cohort_params):
    df = _large(small_cohort_params, OFF, 400)
    # no planted link: |r| below 3 SEs (1/sqrt(400)); with the effects on, r is about -0.56
    # (steps) and 0.49 (previous P4) on the same design
    assert abs(df["length"].corr(df["steps_k"])) < 0.15
    assert abs(df["length"].corr(df["log_p4_prev"])) < 0.15


def test_long_cycle_share(small_cohort_params):
    p = {
        **small_cohort_params,
        "n_women": 60,
        "cycles_per_woman": [5, 5],
        "cycle_range": [15, 110],
        "cycle_effects": {"long_cycle_share": 0.1, "long_cycle_extra": [30, 60]},
    }
    cycles = summarise_synthetic_cycles(generate_synthetic_cohort(p))
    share = (cycles["cycle_length"] >= 50).mean()
    assert 0.04 < share < 0.18  # 10% planted, n=300 cycles
    assert cycles["luteal_length"].between(9, 17).all()  # long cycles ovulate late
    assert "planted_shift" not in cycles  # no steps or P4 effect planted: no oracle
