"""Ingestion: real FedCycle cycles, a synthetic steps/E2/P4 cohort, mcPHASES-shaped data and MedQuAD Q&A.

Synthetic cohort model (``generate_synthetic_cohort``; every number is a parameter in
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
from cycle_kedro.validation import hash_id, validate

from .synthetic_effects import CycleEffects

logger = logging.getLogger(__name__)

_FEDCYCLE_COLUMNS = {
    "LengthofCycle": "cycle_length",
    "LengthofLutealPhase": "luteal_length",
    "LengthofMenses": "menses_length",
    "EstimatedDayofOvulation": "ovulation_day",
    "Age": "age",
    "BMI": "bmi",
    "Height": "height_in",
    "Weight": "weight_lb",
    "Group": "study_arm",
}
_PER_WOMAN = ["age", "bmi", "height_in", "weight_lb", "study_arm"]
_MODEL_INPUT_COLUMNS = [
    "woman_id",
    "cycle_index",
    "cycle_length",
    "age",
    "bmi",
    "steps",
    "e2",
    "p4",
]


def clean_fedcycle(
    raw: pd.DataFrame, id_hashing: dict[str, str]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Tidy the FedCycle file: drop repeated blocks, carry per-woman fields forward, hash ids.

    Args:
        raw: the validated raw file (one row per cycle, ids in ``ClientID``).
        id_hashing: ``{"salt": ...}`` for :func:`cycle_kedro.validation.hash_id`.

    Returns:
        The per-cycle primary table and a report of what was dropped.
    """
    df = raw.reset_index(drop=True)
    block = (df["ClientID"] != df["ClientID"].shift()).cumsum()
    first_block = block.groupby(df["ClientID"]).transform("min")
    repeated = block != first_block
    repeated_rows = df[repeated]
    kept_twin = df[~repeated & df["ClientID"].isin(repeated_rows["ClientID"])]
    exact = repeated_rows.merge(kept_twin, how="inner").shape[0]
    report = {
        "raw_rows": len(df),
        "raw_women": int(df["ClientID"].nunique()),
        "blocks": int(block.nunique()),
        "repeated_blocks_dropped": int(block[repeated].nunique()),
        "repeated_rows_dropped": int(repeated.sum()),
        "repeated_rows_identical_to_kept": int(exact),
    }
    df = df[~repeated].rename(columns=_FEDCYCLE_COLUMNS)
    df.loc[df["weight_lb"] <= 0, "weight_lb"] = np.nan
    df = df.sort_values(["ClientID", "CycleNumber"], kind="stable")
    df[_PER_WOMAN] = df.groupby("ClientID")[_PER_WOMAN].ffill()
    df["woman_id"] = df["ClientID"].map(lambda raw_id: hash_id(raw_id, id_hashing["salt"]))
    df["cycle_index"] = df.groupby("woman_id").cumcount() + 1
    for column in ("steps", "e2", "p4"):
        df[column] = np.nan
    cycles = df[["woman_id", "cycle_index", *_FEDCYCLE_COLUMNS.values(), "steps", "e2", "p4"]]
    cycles = validate(cycles.reset_index(drop=True), schemas.CYCLES, source="fedcycle_cycles")
    report.update(women=int(cycles["woman_id"].nunique()), cycles=len(cycles))
    logger.info("FedCycle: %s", report)
    return cycles, report


def summarise_women(cycles: pd.DataFrame) -> pd.DataFrame:
    """One row per woman: number of cycles, mean and SD of cycle length, age, BMI, steps, E2, P4."""
    grouped = cycles.groupby("woman_id", sort=True)
    women = grouped.agg(
        n_cycles=("cycle_index", "size"),
        mean_cycle_length=("cycle_length", "mean"),
        sd_cycle_length=("cycle_length", "std"),
        age=("age", "first"),
        bmi=("bmi", "first"),
        steps=("steps", "mean"),
        e2=("e2", "mean"),
        p4=("p4", "mean"),
    )
    return women.reset_index()


def build_model_input(cycles: pd.DataFrame) -> pd.DataFrame:
    """Per-cycle model input: age/BMI imputed with the cohort median of women, sorted by woman and time."""
    df = (
        cycles[_MODEL_INPUT_COLUMNS].sort_values(["woman_id", "cycle_index"]).reset_index(drop=True)
    )
    per_woman = df.groupby("woman_id")[["age", "bmi"]].first()
    for column in ("age", "bmi"):
        df[f"{column}_imputed"] = df[column].isna()
        df[column] = df[column].fillna(per_woman[column].median())
    return df


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
        woman_id = hash_id(f"synthetic-{i}", params["salt"])
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


def clean_medquad(raw: pd.DataFrame, licence: dict[str, str]) -> pd.DataFrame:
    """Normalise whitespace and doubled question marks, drop duplicate Q&A pairs, keep source and licence."""
    df = raw.copy()
    for column in ("question", "answer"):
        df[column] = df[column].str.replace(r"\s+", " ", regex=True).str.strip()
    df["question"] = (
        df["question"]
        .str.replace(r"\s*\?(\s*\?)+", "?", regex=True)
        .str.replace(r"\s+\?", "?", regex=True)
    )
    before = len(df)
    df = df.drop_duplicates(subset=["question", "answer"]).reset_index(drop=True)
    logger.info("MedQuAD: %d pairs, %d duplicates dropped", len(df), before - len(df))
    df["licence"] = licence["name"]
    df["citation"] = licence["citation"]
    for column in ("focus", "qtype", "collection", "url"):
        if column not in df:
            df[column] = None
    columns = [
        "question",
        "answer",
        "source",
        "focus",
        "qtype",
        "collection",
        "url",
        "licence",
        "citation",
    ]
    return validate(df[columns], schemas.QA, source="medquad_qa")


def build_mcphases_daily(tables: dict[str, pd.DataFrame], options: dict[str, Any]) -> pd.DataFrame:
    """mcPHASES tables → DAILY schema: steps summed per day, E3G/PdG as e2/p4, cycles from menses onsets.

    Steps: intraday rows with duplicated timestamps are dropped, single records above
    ``options["max_steps_per_record"]`` are dropped, the rest summed per (id, study_interval, day_in_study).
    Cycles start on the first ``Menstrual`` day after a non-menstrual day; days before the first onset are
    cycle 0 and dropped. Age = study_interval - birth_year; BMI from height (cm) and weight (kg).
    """
    keys = ["id", "study_interval", "day_in_study"]
    steps = tables["steps"].drop_duplicates(subset=[*keys, "timestamp"])
    steps = steps[pd.to_numeric(steps["steps"], errors="coerce") <= options["max_steps_per_record"]]
    daily_steps = steps.groupby(keys, as_index=False)["steps"].sum()
    hormones = tables["hormones_and_selfreport"]
    hormones = hormones[[*keys, "phase", "lh", "estrogen", "pdg"]].copy()
    for column in ("lh", "estrogen", "pdg"):
        hormones[column] = pd.to_numeric(hormones[column], errors="coerce")
        if options.get("zero_is_missing", True):
            hormones.loc[hormones[column] <= 0, column] = np.nan
    df = hormones.merge(daily_steps, on=keys, how="left").sort_values(keys)
    df = _add_mcphases_cycles(df)
    df = df.merge(_mcphases_people(tables), on=["id", "study_interval"], how="left")
    df["woman_id"] = df["id"].map(lambda raw_id: hash_id(f"mcphases-{raw_id}", options["salt"]))
    df["phase"] = df["phase"].str.lower().replace({"fertility": "ovulatory"})
    df = df.rename(columns={"estrogen": "e2", "pdg": "p4"}).astype({"steps": float})
    columns = [
        "woman_id",
        "cycle_index",
        "cycle_day",
        "phase",
        "steps",
        "e2",
        "p4",
        "lh",
        "age",
        "bmi",
        "study_interval",
    ]
    return validate(df[columns].reset_index(drop=True), schemas.DAILY, source="mcphases_daily")


def _add_mcphases_cycles(df: pd.DataFrame) -> pd.DataFrame:
    group = df.groupby(["id", "study_interval"], sort=False)
    menstrual = df["phase"].eq("Menstrual")
    onset = menstrual & ~group["phase"].shift().eq("Menstrual")
    df = df.assign(cycle_index=onset.astype(int).groupby([df["id"], df["study_interval"]]).cumsum())
    df = df[df["cycle_index"] > 0].copy()
    df["cycle_day"] = df.groupby(["id", "study_interval", "cycle_index"]).cumcount() + 1
    # cycles of later study intervals continue the person's numbering
    offset = df.groupby(["id", "study_interval"])["cycle_index"].max().groupby(level=0).cumsum()
    offset = offset.groupby(level=0).shift(fill_value=0).rename("offset").reset_index()
    df = df.merge(offset, on=["id", "study_interval"])
    df["cycle_index"] += df.pop("offset")
    return df


def _mcphases_people(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    info = tables["subject-info"][["id", "birth_year"]]
    hw = tables["height_and_weight"]
    rows = []
    for interval in (2022, 2024):
        part = hw[["id", f"height_{interval}", f"weight_{interval}"]].set_axis(
            ["id", "height", "weight"], axis=1
        )
        rows.append(part.assign(study_interval=interval))
    people = pd.concat(rows).merge(info, on="id", how="left")
    people["age"] = (
        people["study_interval"] - pd.to_numeric(people["birth_year"], errors="coerce")
    ).astype(float)
    height_m = pd.to_numeric(people["height"], errors="coerce") / 100
    people["bmi"] = pd.to_numeric(people["weight"], errors="coerce") / height_m**2
    return people[["id", "study_interval", "age", "bmi"]]
