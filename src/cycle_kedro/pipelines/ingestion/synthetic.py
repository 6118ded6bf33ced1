"""The seeded synthetic steps/E2/P4 cohort.

Model (``generate_synthetic_cohort``; every number is a parameter in
``conf/base/parameters_ingestion.yml`` under ``synthetic_cohort``):

* Woman *i* has a latent activity score ``z_i ~ N(0, 1)``; her mean daily steps are
  ``mean_steps + sd_steps * z_i`` (floored at ``min_steps``).
* Her hormone levels are ``H_i = mean_H * (1 + cv_H * u_i)`` (floored at 5 % of ``mean_H``) with
  ``u_i = rho_H * z_i + sqrt(1 - rho_H^2) * e_i`` and ``e_i ~ N(0, 1)`` independent, for H in {E2, P4}.
  ``rho_steps_p4`` (default -0.28) and ``rho_steps_e2`` (default -0.05) are the *planted* effects: the
  correlation between ``z_i`` and ``u_i``. Both links are linear, so the woman-level Pearson correlation of
  mean steps with mean hormone equals rho up to the day-level noise, which averages out over a woman's
  days (measured: -0.267 for a planted -0.28 at N = 20,000 women with one cycle each).
* Cycle lengths: woman mean ``mu_i ~ N(mean_cycle_length, between_sd)``, each cycle
  ``mu_i + N(0, within_sd_i)``, ``within_sd_i ~ U(within_sd_range)``, rounded and clipped to
  ``[min_cycle, max_cycle]``. Luteal length ``~ N(luteal_mean, luteal_sd)`` clipped to [9, 17]; ovulation day
  ``= cycle_length - luteal_length``.
* Daily shapes (multiplied by ``H_i``, normalised to mean 1 over each cycle so that the woman's mean level is
  ``H_i``): E2 is a follicular rise to a pre-ovulatory peak (Gaussian bump centred 1 day before ovulation)
  plus a smaller mid-luteal bump; P4 is low in the follicular phase and rises to a mid-luteal peak
  (ovulation + 7 days). Day-level multiplicative noise ``LogNormal(0, day_noise)`` on steps and hormones.
* Phases: menstrual (days 1..menses_days), follicular (until ovulation - 2), ovulatory
  (ovulation ± 1), luteal (after).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro import schemas
from cycle_kedro.pseudonyms import hash_id
from cycle_kedro.validation.schema_checks import validate

from .synthetic_effects import CycleEffects

logger = logging.getLogger(__name__)

# Synthetic women are generated, not people: their ids are public labels (SHA-256 of this prefix and
# the woman's number, as before the keyed pseudonyms), so the cohort and every result computed on
# it stay the same on every machine. Real ids go through cycle_kedro.pseudonyms instead.
_LABEL_PREFIX = "cycle_kedro-v1"


def _hormone_shapes(length: int, ovulation: int) -> tuple[np.ndarray, np.ndarray]:
    day = np.arange(1, length + 1, dtype=float)
    e2 = 0.25 + 1.6 * np.exp(-0.5 * ((day - (ovulation - 1)) / 2.0) ** 2)
    e2 += 0.6 * np.exp(-0.5 * ((day - (ovulation + 7)) / 3.0) ** 2)
    p4 = 0.05 + 1.0 / (1 + np.exp(-(day - (ovulation + 2)) / 1.2))
    p4 *= np.exp(-0.5 * ((day - (ovulation + 7)) / 5.0) ** 2) * 0.9 + 0.1
    return e2 / e2.mean(), p4 / p4.mean()


def _phase(day: np.ndarray, ovulation: int, menses_days: int) -> np.ndarray:
    return np.select(
        [day <= menses_days, day < ovulation - 1, day <= ovulation + 1],
        ["menstrual", "follicular", "ovulatory"],
        "luteal",
    )


def _women_levels(p: dict[str, Any], rng: np.random.Generator) -> pd.DataFrame:
    n = p["n_women"]
    z = rng.standard_normal(n)
    women = pd.DataFrame({"z": z})
    women["mean_steps"] = np.maximum(p["mean_steps"] + p["sd_steps"] * z, p["min_steps"])
    for hormone in ("e2", "p4"):
        rho = p["effects"][f"rho_steps_{hormone}"]
        u = rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        level = p[f"mean_{hormone}"] * (1 + p[f"cv_{hormone}"] * u)
        women[hormone] = np.maximum(level, 0.05 * p[f"mean_{hormone}"])
    women["age"] = np.clip(rng.normal(p["age_mean"], p["age_sd"], n), 18, 45).round()
    women["bmi"] = np.clip(rng.lognormal(np.log(p["bmi_median"]), p["bmi_sd_log"], n), 16, 45)
    women["mu_cycle"] = rng.normal(p["mean_cycle_length"], p["between_sd"], n)
    women["sd_cycle"] = rng.uniform(*p["within_sd_range"], n)
    women["n_cycles"] = rng.integers(p["cycles_per_woman"][0], p["cycles_per_woman"][1] + 1, n)
    return women


def generate_synthetic_cohort(params: dict[str, Any]) -> pd.DataFrame:
    """Generate the seeded daily steps/E2/P4 cohort described in the module docstring (DAILY schema)."""
    rng = np.random.default_rng(params["seed"])
    women = _women_levels(params, rng)
    effects = CycleEffects(params, women)  # planted effects on cycle lengths; none by default
    women = effects.shift_women(women)
    noise = params["day_noise"]
    frames = []
    for i, woman in women.iterrows():
        woman_id = hash_id(f"synthetic-{i}", _LABEL_PREFIX)
        for cycle_index in range(1, int(woman["n_cycles"]) + 1):
            length = int(
                np.clip(
                    round(
                        rng.normal(woman["mu_cycle"], woman["sd_cycle"])
                        + effects.length_shift(i, cycle_index)
                    ),
                    *params["cycle_range"],
                )
            )
            luteal = int(
                np.clip(round(rng.normal(params["luteal_mean"], params["luteal_sd"])), 9, 17)
            )
            ovulation = max(length - luteal, params["menses_days"] + 2)
            e2_shape, p4_shape = _hormone_shapes(length, ovulation)
            day = np.arange(1, length + 1)
            frames.append(
                pd.DataFrame(
                    {
                        "woman_id": woman_id,
                        "cycle_index": cycle_index,
                        "cycle_day": day,
                        "cycle_length": float(length),
                        "ovulation_day": float(ovulation),
                        "phase": _phase(day, ovulation, params["menses_days"]),
                        "steps": woman["mean_steps"]
                        * rng.lognormal(-(noise["steps"] ** 2) / 2, noise["steps"], length),
                        "e2": woman["e2"]
                        * e2_shape
                        * rng.lognormal(-(noise["e2"] ** 2) / 2, noise["e2"], length),
                        "p4": woman["p4"]
                        * effects.p4(i, cycle_index)
                        * p4_shape
                        * rng.lognormal(-(noise["p4"] ** 2) / 2, noise["p4"], length),
                        "age": woman["age"],
                        "bmi": woman["bmi"],
                    }
                )
            )
    daily = pd.concat(frames, ignore_index=True)
    daily["steps"] = daily["steps"].round()
    daily = effects.annotate(daily)
    return validate(daily, schemas.DAILY, source="synthetic_daily")


def summarise_synthetic_cycles(daily: pd.DataFrame) -> pd.DataFrame:
    """Per-cycle table from the daily cohort: length, ovulation day, luteal length and cycle means."""
    cycles = daily.groupby(["woman_id", "cycle_index"], sort=True).agg(
        cycle_length=("cycle_length", "first"),
        ovulation_day=("ovulation_day", "first"),
        age=("age", "first"),
        bmi=("bmi", "first"),
        steps=("steps", "mean"),
        e2=("e2", "mean"),
        p4=("p4", "mean"),
        **({"planted_shift": ("planted_shift", "first")} if "planted_shift" in daily else {}),
    )
    cycles["luteal_length"] = cycles["cycle_length"] - cycles["ovulation_day"]
    return validate(cycles.reset_index(), schemas.CYCLES, source="synthetic_cycles")


def generate_synthetic_variant(base: dict[str, Any], overrides: dict[str, Any]) -> pd.DataFrame:
    """Generate a variant of the synthetic cohort: ``base`` settings with ``overrides`` replaced."""
    return generate_synthetic_cohort({**base, **overrides})
