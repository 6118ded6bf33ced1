"""Statistics, the woman-level table: per-woman means (overall and per phase) and the descriptive table.

A DAILY table is reduced to one row per woman; women are split into an activity group by their mean
daily steps (``>= threshold`` is "high"). A DAILY table that is empty or breaks the schema raises
:class:`cycle_kedro.validation.DataValidationError` naming the dataset.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro import schemas
from cycle_kedro.validation import DataValidationError
from cycle_kedro.validation.schema_checks import validate

logger = logging.getLogger(__name__)

HORMONES = ("e2", "p4")


# --------------------------------------------------------------------------- woman-level table
def aggregate_women(
    daily: pd.DataFrame, cohort: dict[str, Any], activity: dict[str, Any], phases: dict[str, Any]
) -> pd.DataFrame:
    """Reduce a DAILY table to one row per woman with her means and her activity group.

    Columns: ``woman_id, n_days, n_cycles, age, bmi, cycle_length, steps, e2, p4``, then
    ``steps_<phase>, e2_<phase>, p4_<phase>`` for each phase in ``phases["analyse"]`` present in
    the data, and ``activity_group`` (``activity["high_label"]`` when mean steps >= threshold).
    ``cycle_length`` is the mean of the ``cycle_length`` column when the table has one, otherwise
    of the last ``cycle_day`` of each cycle followed by another (the last cycle may be censored).
    """
    source = cohort.get("dataset", "daily")
    if len(daily) == 0:
        raise DataValidationError(f"{source}: the table has no rows; nothing to analyse")
    daily = validate(daily, schemas.DAILY, source=source)
    grouped = daily.groupby("woman_id", sort=True)
    women = grouped.agg(
        n_days=("cycle_day", "size"),
        n_cycles=("cycle_index", "nunique"),
        age=("age", "mean"),
        bmi=("bmi", "mean"),
        steps=("steps", "mean"),
        e2=("e2", "mean"),
        p4=("p4", "mean"),
    )
    women.insert(4, "cycle_length", _cycle_lengths(daily))
    for phase in phases["analyse"]:
        in_phase = daily[daily["phase"] == phase]
        if in_phase.empty:
            logger.warning("%s: no days in phase %r; per-phase analysis skipped", source, phase)
            continue
        means = in_phase.groupby("woman_id")[["steps", *HORMONES]].mean()
        women = women.join(means.add_suffix(f"_{phase}"))
    women["activity_group"] = _activity_groups(women["steps"], activity)
    logger.info(
        "%s: %d women, groups %s",
        source,
        len(women),
        women["activity_group"].value_counts().to_dict(),
    )
    return women.reset_index()


def _cycle_lengths(daily: pd.DataFrame) -> pd.Series:
    keys = ["woman_id", "cycle_index"]
    if "cycle_length" in daily:
        per_cycle = daily.groupby(keys, as_index=False)["cycle_length"].first()
    else:
        per_cycle = (
            daily.groupby(keys, as_index=False)["cycle_day"]
            .max()
            .rename(columns={"cycle_day": "cycle_length"})
        )
        last = per_cycle.groupby("woman_id")["cycle_index"].transform("max")
        per_cycle = per_cycle[per_cycle["cycle_index"] < last]
    return per_cycle.groupby("woman_id")["cycle_length"].mean().astype(float)


def _activity_groups(steps: pd.Series, activity: dict[str, Any]) -> pd.Series:
    high = steps >= activity["threshold_steps"]
    groups = np.where(high, activity["high_label"], activity["low_label"])
    return pd.Series(groups, index=steps.index).where(steps.notna())


# --------------------------------------------------------------------------- descriptive table
def describe_cohort(
    women: pd.DataFrame, activity: dict[str, Any], labels: dict[str, str]
) -> pd.DataFrame:
    """Descriptive table by activity group and overall: n, mean, SD, median, Q1, Q3, IQR per variable."""
    variables = [
        v for v in ("age", "bmi", "cycle_length", "steps", *HORMONES) if women[v].notna().any()
    ]
    groups = [
        (activity["high_label"], women[women["activity_group"] == activity["high_label"]]),
        (activity["low_label"], women[women["activity_group"] == activity["low_label"]]),
        ("all", women),
    ]
    rows = []
    for variable in variables:
        for group, part in groups:
            values = part[variable].dropna()
            q1, median, q3 = values.quantile([0.25, 0.5, 0.75]) if len(values) else [np.nan] * 3
            rows.append(
                {
                    "variable": variable,
                    "label": labels.get(variable, variable),
                    "group": group,
                    "n": len(values),
                    "mean": values.mean(),
                    "sd": values.std(ddof=1),
                    "median": median,
                    "q1": q1,
                    "q3": q3,
                    "iqr": q3 - q1,
                }
            )
    return pd.DataFrame(rows)
