"""FedCycle: one row per cycle, women identified by their normalised id, checked, then pseudonymised.

Input contract (``fedcycle_raw``, checked by the reader and :func:`clean_fedcycle`):

* A woman is her ``ClientID`` with surrounding whitespace removed; her rows may be anywhere in the
  file, in any order (sorted by cycle number, interleaved with other women). Two ids that differ
  only by case are an error (same woman or two? the file must say).
* Her ``CycleNumber`` values are 1, 2, ..., n (each once, no gap). The one exception is a *repeated
  block*: a second copy of her cycles 1..m whose rows match the first copy cell by cell (at least
  ``repeated_block_min_equal_share`` of the cells; the shipped file has 4 such women, 16 rows, 12
  of them identical). The first copy in file order is kept and the run reports it. Any other
  repeated cycle number is an error naming both rows.
* ``ClientID``, ``CycleNumber`` and ``LengthofCycle`` are required; the other columns
  (``FEDCYCLE_COLUMNS``) may be absent and are then blank.
* Every value is inside its plausible range (``fedcycle_checks`` in ``parameters_ingestion.yml``,
  documented in ``conf/README.md``); day counts are whole days; ovulation and the luteal phase fall
  inside the cycle. ``Weight = 0`` means missing (reported).

Nothing is renumbered: ``cycle_index`` is the file's ``CycleNumber``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro import schemas
from cycle_kedro.pseudonyms import PseudonymKey, normalise_id, pseudonymise
from cycle_kedro.validation import DataValidationError, Problem
from cycle_kedro.validation.file_lines import clear_attrs, file_line, source_of
from cycle_kedro.validation.plausibility import check_case_variants, check_range, raise_rows
from cycle_kedro.validation.schema_checks import validate

logger = logging.getLogger(__name__)

FEDCYCLE_COLUMNS = {
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
PER_WOMAN = ["age", "bmi", "height_in", "weight_lb", "study_arm"]
# raw column -> (parameter in fedcycle_checks, unit, whole numbers?)
_RANGES = {
    "CycleNumber": ("cycle_number", "cycle numbers", True),
    "LengthofCycle": ("cycle_length_days", "days", True),
    "LengthofLutealPhase": ("luteal_length_days", "days", True),
    "LengthofMenses": ("menses_length_days", "days", True),
    "EstimatedDayofOvulation": ("ovulation_day", "cycle days", True),
    "Age": ("age_years", "years", False),
    "BMI": ("bmi", "kg/m²", False),
    "Height": ("height_in", "inches", False),
    "Weight": ("weight_lb", "pounds (0 = missing)", False),
}


def clean_fedcycle(
    raw: pd.DataFrame, pseudonym_key: PseudonymKey, checks: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Check the FedCycle file, drop repeated blocks, carry per-woman fields forward, pseudonymise ids.

    Args:
        raw: the raw file as loaded by its reader (one row per cycle, ids in ``ClientID``).
        pseudonym_key: the secret HMAC key (dataset ``pseudonym_key``, never a parameter).
        checks: plausibility ranges and the repeated-block threshold (``params:fedcycle_checks``).

    Returns:
        The per-cycle primary table (sorted by pseudonym and cycle) and a report of what was
        dropped or normalised.
    """
    source = source_of(raw, "fedcycle_raw")
    absent = [c for c in FEDCYCLE_COLUMNS if c not in raw]
    if absent:
        logger.info("%s: no column %s; left blank", source, ", ".join(absent))
    df = raw.reset_index(drop=True).reindex(columns=[*raw.columns, *absent])
    ids = df["ClientID"].map(normalise_id)
    check_case_variants(
        df, ids, source, "ClientID",
        summary="ids that differ only by upper/lower case",
        hint="write one woman's id the same way on every row (or use two different ids)",
    )  # fmt: skip
    _check_plausible(df, checks, source)
    repeated, repeat_report = _repeated_blocks(df, ids, checks, source)
    kept_ids = ids[~repeated]
    _check_numbering(df[~repeated], kept_ids, source)
    report = {
        "raw_rows": len(df),
        "raw_women": int(ids.nunique()),
        "blocks": int((ids != ids.shift()).sum()),
        **repeat_report,
        "ids_with_whitespace_rows": int((df["ClientID"].astype(str) != ids).sum()),
        "weight_zero_as_missing_rows": int((df["Weight"] == 0).sum()),
    }
    out = df[~repeated].rename(columns=FEDCYCLE_COLUMNS)
    out["woman_id"] = pseudonymise(kept_ids, pseudonym_key)
    out["cycle_index"] = out["CycleNumber"].astype(int)
    out.loc[out["weight_lb"] <= 0, "weight_lb"] = np.nan
    out = out.sort_values(["woman_id", "cycle_index"], kind="stable")
    out[PER_WOMAN] = out.groupby("woman_id")[PER_WOMAN].ffill()
    for column in ("steps", "e2", "p4"):
        out[column] = np.nan
    cycles = out[["woman_id", "cycle_index", *FEDCYCLE_COLUMNS.values(), "steps", "e2", "p4"]]
    cycles = clear_attrs(cycles.reset_index(drop=True))
    cycles = validate(cycles, schemas.CYCLES, source="fedcycle_cycles")
    report.update(women=int(cycles["woman_id"].nunique()), cycles=len(cycles))
    if report["ids_with_whitespace_rows"]:
        logger.warning(
            "%s: %d rows had spaces around ClientID; compared without them",
            source,
            report["ids_with_whitespace_rows"],
        )
    logger.info("FedCycle: %s", report)
    return clear_attrs(cycles), report


def _check_plausible(df: pd.DataFrame, checks: dict[str, Any], source: str) -> None:
    for column, (param, unit, whole) in _RANGES.items():
        if column in df and param in checks:
            check_range(
                df,
                column,
                checks[param],
                source,
                whole=whole,
                unit=unit,
                parameter=f"fedcycle_checks.{param}",
            )
    length = df["LengthofCycle"]
    for column, what in (
        ("EstimatedDayofOvulation", "an ovulation day before the cycle's last day"),
        ("LengthofLutealPhase", "a luteal phase shorter than the cycle"),
    ):
        raise_rows(
            df,
            df[column].notna() & (df[column] >= length),
            source,
            column=column,
            detail="not shorter than LengthofCycle",
            expected=what,
        )


def _share_equal(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Per row pair: the share of cells that are equal (two blanks are equal)."""
    left, right = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    both_na = pd.isna(a).to_numpy() & pd.isna(b).to_numpy()
    return ((left == right) | both_na).mean(axis=1)


def _repeated_blocks(
    df: pd.DataFrame, ids: pd.Series, checks: dict[str, Any], source: str
) -> tuple[pd.Series, dict[str, int]]:
    """Mark the second copy of a woman's cycles 1..m when it matches the first copy; else raise."""
    number = df["CycleNumber"].astype(int)
    occurrence = df.groupby([ids, number]).cumcount()
    repeated = occurrence > 0
    report = {
        "repeated_blocks_dropped": 0,
        "repeated_rows_dropped": 0,
        "repeated_rows_identical_to_kept": 0,
        "repeated_cells_differing_from_kept": 0,
    }
    if not repeated.any():
        return repeated, report
    _check_pasted_run(df, ids, source)
    first_row = df.index.to_series().groupby([ids, number]).transform("first")
    compared = [c for c in df.columns if c != "ClientID"]
    min_share = float(checks.get("repeated_block_min_equal_share", 0.9))
    for woman in ids[repeated].unique():
        dup = np.flatnonzero((repeated & (ids == woman)).to_numpy())
        numbers = sorted(number.iloc[dup])
        twins = first_row.iloc[dup].to_numpy()
        share = _share_equal(df.iloc[twins][compared], df.iloc[dup][compared])
        restart = numbers == list(range(1, len(numbers) + 1))
        if occurrence.iloc[dup].max() > 1 or not restart or (share < min_share).any():
            bad = int(np.argmin(share)) if restart else 0
            _raise_repeated(df, int(twins[bad]), int(dup[bad]), source, restart)
        report["repeated_blocks_dropped"] += 1
        report["repeated_rows_dropped"] += len(dup)
        report["repeated_rows_identical_to_kept"] += int((share == 1).sum())
        report["repeated_cells_differing_from_kept"] += int(
            round(((1 - share) * len(compared)).sum())
        )
    logger.warning(
        "%s: %d repeated block(s) (%d rows) match the woman's first copy and were dropped",
        source,
        report["repeated_blocks_dropped"],
        report["repeated_rows_dropped"],
    )
    return repeated, report


def _check_pasted_run(df: pd.DataFrame, ids: pd.Series, source: str) -> None:
    """Raise when a run of rows spanning two or more women repeats earlier rows cell by cell.

    That is a pasted copy (rows pasted twice, two exports joined), not one woman's repeated
    block: the error names the copy's first and last line and the lines it repeats.
    """
    n = len(df)
    row_hash = pd.util.hash_pandas_object(df, index=False).to_numpy()
    first = pd.Series(np.arange(n)).groupby(row_hash).transform("min").to_numpy()
    best, i = None, 0
    while i < n:
        origin, size = int(first[i]), 0
        while i + size < n and origin + size < i and row_hash[i + size] == row_hash[origin + size]:
            size += 1  # row i + size repeats row origin + size, the copy goes on
        if size and ids.iloc[i : i + size].nunique() > 1 and (best is None or size > best[2]):
            best = (i, origin, size)
        i += max(size, 1)
    if best is None:
        return
    start, origin, size = best
    stop = start + size
    copy = (file_line(df, start), file_line(df, stop - 1))
    original = (file_line(df, origin), file_line(df, origin + size - 1))
    raise DataValidationError(
        source=source,
        problems=[
            Problem(column="ClientID", row=start, line=copy[0], value=df["ClientID"].iloc[start])
        ],
        summary=(
            f"lines {copy[0]}-{copy[1]} repeat lines {original[0]}-{original[1]} cell by cell "
            f"({stop - start} rows, {ids.iloc[start:stop].nunique()} women): rows pasted twice?"
        ),
        hint=f"delete the copy (lines {copy[0]}-{copy[1]})",
    )


def _raise_repeated(df: pd.DataFrame, first: int, second: int, source: str, restart: bool) -> None:
    value = int(df["CycleNumber"].iloc[second])
    raise DataValidationError(
        source=source,
        problems=[
            Problem(column="CycleNumber", row=r, line=file_line(df, r), value=value)
            for r in (first, second)
        ],
        summary=f"cycle number {value} appears twice for ClientID {df['ClientID'].iloc[first]!r}",
        hint=(
            "give each cycle its own number; a repeated copy of a woman's cycles is dropped only "
            "when it restarts at cycle 1 and matches the first copy"
            if not restart
            else "the two rows differ: keep one of them (or give the second its own cycle number)"
        ),
    )


def _check_numbering(df: pd.DataFrame, ids: pd.Series, source: str) -> None:
    """Each woman's cycle numbers are 1..n: a gap or a late start would silently renumber."""
    number = df["CycleNumber"].astype(int)
    rank = number.groupby(ids.to_numpy()).rank(method="first").astype(int)
    bad = (number != rank).to_numpy()
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    raise_rows(
        df,
        bad,
        source,
        column="CycleNumber",
        detail=f"ClientID {df['ClientID'].iloc[i]!r} has no cycle {int(rank.iloc[i])}",
        expected="cycle numbers 1, 2, ..., n for each woman (no gap)",
        hint="number each woman's cycles from 1 without gaps, or add the missing cycle",
    )
