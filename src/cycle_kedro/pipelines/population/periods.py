"""Per-partition pandas steps on the period-start log: cleaning, cycles, missed-log flags.

Every function here takes and returns plain pandas frames holding *all* rows of the users it
sees, so the same code runs on the whole table (pandas engine) or on each partition of a Dask
frame shuffled by ``user_id`` (Dask engine) and gives identical results. The input contract
(``PERIOD_STARTS``) and the column dtypes are in :mod:`cycle_kedro.cycles.contracts`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cycle_kedro.cycles.contracts import CLEAN_COLUMNS, CYCLE_COLUMNS

HANDLINGS = ("keep", "split", "downweight")
ISO_DATE = r"^\d{4}-?\d{2}-?\d{2}(?:[T ]|$)"  # a whole day first (ISO 8601 date or timestamp)
HOLDOUT_COLUMNS = {**CYCLE_COLUMNS, "scored_start": "datetime64[ns]"}


def empty(columns: dict[str, str]) -> pd.DataFrame:
    """Return an empty frame with the given dtypes (Dask ``meta``)."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


# --------------------------------------------------------------------------- cleaning
def _short_gap_mask(users: np.ndarray, days: np.ndarray, min_gap: int) -> np.ndarray:
    """Mark starts closer than ``min_gap`` days to the user's previous *kept* start.

    ``users`` must be grouped (sorted); only users with a short gap get the exact
    left-to-right pass (rare), everyone else is vectorised.
    """
    drop = np.zeros(len(days), dtype=bool)
    same = np.r_[False, users[1:] == users[:-1]]
    close = same & (np.r_[np.inf, np.diff(days)] < min_gap)
    if not close.any():
        return drop
    starts = np.flatnonzero(~same)
    ends = np.r_[starts[1:], len(days)]
    group = np.cumsum(~same) - 1
    for g in np.unique(group[close]):
        last = days[starts[g]]
        for i in range(starts[g] + 1, ends[g]):
            if days[i] - last < min_gap:
                drop[i] = True
            else:
                last = days[i]
    return drop


def clean_starts(df: pd.DataFrame, as_of: str | None, min_gap_days: int) -> pd.DataFrame:
    """Parse and clean one partition of the log; every input row comes back with a ``reason``.

    Columns: ``user_id`` (stripped text), ``period_start`` (day, NaT when unparseable),
    ``raw_period_start`` (the text as logged) and ``reason``: NaN for a kept start, else
    ``unparseable`` (not an ISO date), ``future`` (after ``as_of``; today when None),
    ``duplicate`` (same user, same day), ``short_gap`` (under ``min_gap_days`` after the
    user's previous kept start: spotting or a double log). Sorted by user and date.
    """
    if df.empty:
        return empty(CLEAN_COLUMNS)
    df = df.reset_index(drop=True)
    raw = df["period_start"]
    codes, ids = pd.factorize(df["user_id"])  # strip each distinct id once; rows share them
    users = pd.Series(
        pd.Index(ids).astype(str).str.strip().to_numpy(dtype=object)[codes], index=df.index
    )
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw)
    else:  # parse each distinct text once (a log has few distinct days)
        dcodes, texts = pd.factorize(raw.astype(str))
        stripped = pd.Index(texts).str.strip()
        days = pd.to_datetime(stripped, format="ISO8601", errors="coerce")
        days = days.where(stripped.str.match(ISO_DATE))  # "2026-01" is no day: unparseable
        parsed = pd.Series(days.take(dcodes), index=df.index)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    parsed = parsed.dt.normalize().astype("datetime64[ns]")
    limit = pd.Timestamp(as_of) if as_of else pd.Timestamp.today().normalize()
    reason = pd.Series(None, index=df.index, dtype="object")
    reason[parsed.isna()] = "unparseable"
    reason[reason.isna() & (parsed > limit)] = "future"
    work = pd.DataFrame(
        {"user_id": users, "period_start": parsed, "raw_period_start": raw.astype(str)}
    )
    cand = work[reason.isna()].sort_values(["user_id", "period_start"], kind="stable")
    dup = cand.duplicated(["user_id", "period_start"], keep="first")
    reason[dup[dup].index] = "duplicate"
    cand = cand[~dup]
    days = cand["period_start"].to_numpy().astype("datetime64[D]").astype(np.int64)
    short = _short_gap_mask(cand["user_id"].to_numpy(), days, int(min_gap_days))
    reason[cand.index[short]] = "short_gap"
    work["reason"] = reason
    return work.sort_values(
        ["user_id", "period_start", "raw_period_start"], kind="stable", ignore_index=True
    )


# --------------------------------------------------------------------------- cycles and skips
def build_cycles(starts: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Turn kept starts into cycles and flag probable missed logs.

    One row per kept start: ``cycle_length`` is the gap to the next start (NaN for the last,
    still-open cycle). ``typical_length`` is the median of the user's gaps within
    ``[min_cycle_days, max_single_cycle_days]`` (``prior_typical_days`` when there is none).
    A gap is flagged (``skip_flag``) when ``gap / typical`` is within ``tolerance`` of an
    integer ``skip_k >= 2``: the user most likely forgot to log ``skip_k - 1`` periods.
    """
    s = starts.sort_values(["user_id", "period_start"], kind="stable", ignore_index=True)
    g = s.groupby("user_id", sort=False)["period_start"]
    nxt = g.shift(-1)
    length = (nxt - s["period_start"]).dt.days.astype("float64")
    single = length.where(length.between(cfg["min_cycle_days"], cfg["max_single_cycle_days"]))
    typical = single.groupby(s["user_id"], sort=False).transform("median")
    typical = typical.fillna(float(cfg["prior_typical_days"]))
    ratio = length / typical
    k = np.rint(ratio)
    flag = (k >= 2) & ((ratio - k).abs() <= float(cfg["tolerance"]))
    return pd.DataFrame(
        {
            "user_id": s["user_id"].astype(object),
            "cycle_index": g.cumcount().astype("int64") + 1,
            "cycle_start": s["period_start"],
            "cycle_length": length,
            "typical_length": typical.astype("float64"),
            "skip_flag": flag.to_numpy(dtype=bool),
            "skip_k": np.where(flag, k, 1).astype("int64"),
        }
    )


def history(cycles: pd.DataFrame, handling: str, skip_weight: float) -> pd.DataFrame:
    """Return the completed cycles a model learns from, after skip handling.

    ``keep``: gaps as logged. ``split``: a flagged gap of ``k`` cycles becomes ``k`` cycles of
    ``gap / k`` days. ``downweight``: flagged gaps keep their length but get weight
    ``skip_weight`` (ARIMA, which cannot weight, leaves them out).
    Columns ``woman_id`` (the user), ``cycle_index`` (1..n), ``cycle_length``, ``weight``,
    ``flagged`` — the layout of the forecasting pipeline's tables.
    """
    if handling not in HANDLINGS:
        raise ValueError(f"population.skips.handling must be one of {HANDLINGS}, got {handling!r}")
    done = cycles[cycles["cycle_length"].notna()]
    w = np.ones(len(done))
    length = done["cycle_length"].to_numpy(dtype=float)
    reps = np.ones(len(done), dtype=np.int64)
    flagged = done["skip_flag"].to_numpy(dtype=bool)
    if handling == "split":
        reps = done["skip_k"].to_numpy(dtype=np.int64)
        length = length / reps
    elif handling == "downweight":
        w = np.where(flagged, float(skip_weight), 1.0)
    h = pd.DataFrame(
        {
            "woman_id": np.repeat(done["user_id"].to_numpy(), reps),
            "cycle_length": np.repeat(length, reps),
            "weight": np.repeat(w, reps),
            "flagged": np.repeat(flagged & (handling != "split"), reps),
        }
    )
    h["cycle_index"] = h.groupby("woman_id", sort=False).cumcount().astype("int64") + 1
    return h


def holdout_cycles(starts: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Withhold each user's last start; return the cycles built from the earlier ones only.

    Users with fewer than two kept starts cannot be scored and are left out. The withheld
    start is carried in ``scored_start`` (never used to build the cycles or the flags).
    """
    s = starts.sort_values(["user_id", "period_start"], kind="stable", ignore_index=True)
    size = s.groupby("user_id", sort=False)["period_start"].transform("size")
    s = s[size >= 2]
    last = s.groupby("user_id", sort=False)["period_start"].transform("max")
    train = s[s["period_start"] < last]
    cyc = build_cycles(train, cfg)
    scored = s.groupby("user_id", sort=True)["period_start"].max()
    cyc["scored_start"] = cyc["user_id"].map(scored).astype("datetime64[ns]")
    return cyc
