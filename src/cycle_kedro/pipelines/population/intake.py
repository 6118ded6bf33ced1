"""First node of the population pipeline: check the period-start log, pseudonymise ids, drop bad rows.

Input contract (``period_starts``; a user's own export with ``--env app_export``)::

    user_id       text   the app's user id; surrounding spaces are ignored; never blank
    period_start  text   ISO date "YYYY-MM-DD" (an ISO timestamp or a parquet date also works)

What each kind of bad input gets (``population.<cohort>.input`` parameters, conf/README.md):

* **error** (the run stops before writing anything): a missing column, a blank ``user_id`` or
  ``period_start``, two ids that differ only by upper/lower case, a date before
  ``earliest_date``, more than ``max_unparseable_share`` of the dates not ISO (the message says
  how many and which format was found), and a log in which no user has two kept starts (no
  cycle to learn from).
* **dropped and listed** in ``period_drop_report`` (and counted in the log): a date that is not
  ISO (when few), after ``as_of`` (future), the same day twice (duplicate), or under
  ``min_gap_days`` after the user's previous kept start (spotting, double log).

With ``pseudonymise: true`` (the app_export env) every ``user_id`` becomes a keyed HMAC pseudonym
(16 hex digits) here, so no raw id reaches ``02_intermediate``, ``04_feature``, ``07_model_output``,
the drop report or MLflow; :func:`build_user_lookup` returns the pseudonym -> id table, which the
app_export env writes only to ``USER_LOOKUP_FILE`` when the user sets it.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from cycle_kedro import schemas
from cycle_kedro.cycles.contracts import CLEAN_COLUMNS
from cycle_kedro.pseudonyms import PseudonymKey, normalise_id, pseudonymise
from cycle_kedro.validation import DataValidationError
from cycle_kedro.validation.file_lines import source_of
from cycle_kedro.validation.plausibility import check_case_variants, raise_rows
from cycle_kedro.validation.schema_checks import validate

from . import engine, periods

logger = logging.getLogger(__name__)

PSEUDONYM_DIGITS = 16
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_FORMATS = [
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$"), "dd/mm/yyyy or mm/dd/yyyy"),
    (re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$"), "dd.mm.yyyy"),
    (re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$"), "dd-mm-yyyy or mm-dd-yyyy"),
    (re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$"), "yyyy/mm/dd"),
    (re.compile(r"^\d{8}$"), "yyyymmdd without dashes"),
    (re.compile(r"^\d{4}-\d{1,2}$"), "a month without a day (yyyy-mm)"),
    (re.compile(r"^\d+(\.\d+)?$"), "a number (a spreadsheet serial date?)"),
]
LOOKUP_COLUMNS = {"user_id": "object", "raw_user_id": "object"}


def validate_period_starts(
    period_starts: pd.DataFrame,
    input_cfg: dict,
    engine_cfg: dict,
    pseudonym_key: PseudonymKey | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check the log, pseudonymise ids (``pseudonymise: true``), drop bad rows; kept starts and drop report.

    Errors name the file the rows came from (the reader's path, else ``input_cfg["source"]``),
    the column, row and file line. See the module docstring for what is an error and what is
    dropped and reported.
    """
    source = (
        source_of(period_starts, input_cfg["source"])
        if not engine.is_dask_frame(period_starts)
        else str(input_cfg["source"])
    )
    if input_cfg.get("pseudonymise") and pseudonym_key is None:
        raise ValueError(
            "population.<cohort>.input.pseudonymise is true but no pseudonym_key was given"
        )
    key = pseudonym_key if input_cfg.get("pseudonymise") else None
    if engine.is_dask_frame(period_starts) or engine.is_dask(engine_cfg):
        ddf = engine.to_engine(period_starts, engine_cfg)
        checked = ddf.map_partitions(
            _checked_partition, source, input_cfg, key, meta=ddf._meta[["user_id", "period_start"]]
        )
    else:
        checked = _checked(period_starts, source, input_cfg, key)
    cleaned = engine.apply(
        checked,
        periods.clean_starts,
        periods.empty(CLEAN_COLUMNS),
        engine_cfg,
        as_of=input_cfg.get("as_of"),
        min_gap_days=int(input_cfg["min_gap_days"]),
    )
    if engine.is_dask_frame(cleaned):
        cleaned = cleaned.persist()
    kept = cleaned[cleaned["reason"].isna()][["user_id", "period_start"]]
    dropped = engine.sorted_frame(
        cleaned[~cleaned["reason"].isna()][["user_id", "raw_period_start", "reason"]],
        ["user_id", "raw_period_start", "reason"],
    ).rename(columns={"raw_period_start": "period_start"})
    _check_some_cycle(kept, dropped, source)
    counts = dropped["reason"].value_counts().to_dict()
    if counts:
        logger.warning("%s: dropped %s (listed in the period drop report)", source, counts)
    return kept, dropped


def _checked_partition(
    df: pd.DataFrame, source: str, input_cfg: dict, key, partition_info: dict | None = None
) -> pd.DataFrame:
    if df.empty and len(df.columns):
        return df[["user_id", "period_start"]]  # an empty partition of a Dask table is no error
    number = (partition_info or {}).get("number", 0)
    return _checked(df, f"{source} (partition {number})", input_cfg, key)


def _checked(df: pd.DataFrame, source: str, input_cfg: dict, key) -> pd.DataFrame:
    """The structural and plausibility checks on one pandas frame; ids normalised (and pseudonymised)."""
    attrs = dict(df.attrs)
    header = input_cfg.get("header_lines")
    df = validate(df, schemas.PERIOD_STARTS_RAW, source=source, header_lines=header)
    df = df.reset_index(drop=True)
    df.attrs = attrs or {"header_lines": header}
    ids = _text(df["user_id"]).map(normalise_id, na_action="ignore")
    _blank(df, ids, "user_id", source)
    check_case_variants(
        df, ids, source, "user_id",
        summary="two user ids differ only by upper/lower case (same user or two?)",
        hint="write each user's id the same way on every row",
        show_value=False,
    )  # fmt: skip
    dates = df["period_start"]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        _blank(df, _text(dates).str.strip(), "period_start", source)
        _date_formats(df, _text(dates), input_cfg, source)
    _earliest(df, input_cfg, source)
    user_id = pseudonymise(ids, key, PSEUDONYM_DIGITS) if key is not None else ids
    return pd.DataFrame({"user_id": user_id, "period_start": dates})


def _text(s: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(s)
    text = pd.Index(uniques).astype(str).to_numpy(dtype=object)
    out = np.where(codes >= 0, text[np.maximum(codes, 0)], None)
    return pd.Series(out, index=s.index, dtype=object)


def _blank(df: pd.DataFrame, values: pd.Series, column: str, source: str) -> None:
    bad = values.isna() | (values.fillna("").astype(str).str.len() == 0)
    raise_rows(
        df,
        bad,
        source,
        column=column,
        detail="empty",
        expected="a user id" if column == "user_id" else "a date YYYY-MM-DD",
        hint="every row needs a user_id and a period_start; remove rows without them",
    )


def _date_formats(df: pd.DataFrame, text: pd.Series, input_cfg: dict, source: str) -> None:
    """Too many non-ISO dates is an error saying how many and which format was found."""
    codes, uniques = pd.factorize(text.str.strip())
    iso = np.array([bool(_ISO.match(u)) for u in uniques], dtype=bool)
    parsed = pd.to_datetime(pd.Index(uniques), format="ISO8601", errors="coerce")
    ok = iso & ~np.asarray(parsed.isna())
    bad = ~ok[codes]
    n_bad, n = int(bad.sum()), len(text)
    if n_bad == 0 or n_bad <= float(input_cfg.get("max_unparseable_share", 0.5)) * n:
        return
    found = sorted({_format_of(u) for u in uniques[~ok]})
    raise_rows(
        df,
        bad,
        source,
        column="period_start",
        summary=f"{n_bad:,} of {n:,} dates are not ISO dates (found: {'; '.join(found)})",
        detail="not an ISO date",
        expected="YYYY-MM-DD (ISO 8601), e.g. 2026-01-31",
        hint="export the dates as YYYY-MM-DD; day/month order cannot be guessed safely",
    )


def _format_of(text: str) -> str:
    for pattern, name in _FORMATS:
        if pattern.match(text):
            return name
    return "other text"


def _earliest(df: pd.DataFrame, input_cfg: dict, source: str) -> None:
    earliest = input_cfg.get("earliest_date")
    if not earliest:
        return
    dates = df["period_start"]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        dates = pd.to_datetime(_text(dates).str.strip(), format="ISO8601", errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    raise_rows(
        df,
        (dates < pd.Timestamp(earliest)).to_numpy(),
        source,
        column="period_start",
        detail="implausibly early",
        expected=f"a date on or after {earliest}",
        hint="fix the date, or lower population.<cohort>.input.earliest_date in parameters",
    )


def _check_some_cycle(kept, dropped: pd.DataFrame, source: str) -> None:
    per_user = engine.compute(kept.groupby("user_id").size())
    if len(per_user) and int(per_user.max()) >= 2:
        return
    reasons = dropped["reason"].value_counts().to_dict()
    raise DataValidationError(
        source=source,
        summary=(
            f"no completed cycle: {len(per_user):,} user(s), none with two kept period starts"
            + (f" ({sum(reasons.values()):,} rows dropped: {reasons})" if reasons else "")
        ),
        hint="a forecast needs at least two period starts per user",
    )


def build_user_lookup(
    period_starts: pd.DataFrame,
    clean_period_starts: pd.DataFrame,
    input_cfg: dict,
    pseudonym_key: PseudonymKey,
) -> pd.DataFrame:
    """Pseudonym -> raw id for every user that was kept (empty unless ``pseudonymise: true``).

    Runs after :func:`validate_period_starts` (it takes its output), so a bad export never gets
    a lookup table written. For local use only: the app_export env writes it to
    ``USER_LOOKUP_FILE`` when set, never to reporting or MLflow.
    """
    if not input_cfg.get("pseudonymise"):
        return periods.empty(LOOKUP_COLUMNS)
    ids = engine.compute(period_starts["user_id"])
    raw = pd.Series(
        _text(ids).map(normalise_id, na_action="ignore").dropna().unique(), dtype=object
    )
    lookup = pd.DataFrame(
        {"user_id": pseudonymise(raw, pseudonym_key, PSEUDONYM_DIGITS), "raw_user_id": raw}
    )
    kept = set(engine.compute(clean_period_starts["user_id"]).unique())
    return lookup[lookup["user_id"].isin(kept)].sort_values("user_id", ignore_index=True)
