"""mcPHASES (restricted, local copy only) in the synthetic cohort's DAILY shape; ids pseudonymised."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro import schemas
from cycle_kedro.pseudonyms import PseudonymKey, normalise_id, pseudonymise
from cycle_kedro.validation.schema_checks import validate

logger = logging.getLogger(__name__)


def build_mcphases_daily(
    tables: dict[str, pd.DataFrame], pseudonym_key: PseudonymKey, options: dict[str, Any]
) -> pd.DataFrame:
    """mcPHASES tables → DAILY schema: steps summed per day, E3G/PdG as e2/p4, cycles from menses onsets.

    Steps: intraday rows with duplicated timestamps are dropped, single records above
    ``options["max_steps_per_record"]`` are dropped, the rest summed per (id, study_interval, day_in_study).
    Cycles start on the first ``Menstrual`` day after a non-menstrual day; days before the first onset are
    cycle 0 and dropped. Age = study_interval - birth_year; BMI from height (cm) and weight (kg).
    Participant ids become keyed HMAC pseudonyms (``pseudonym_key``, never a parameter).
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
    df["woman_id"] = pseudonymise("mcphases:" + df["id"].map(normalise_id), pseudonym_key)
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
