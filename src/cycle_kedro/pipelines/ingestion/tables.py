"""Tables shared by the cohorts: one row per woman, and the per-cycle model input."""

from __future__ import annotations

import pandas as pd

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
