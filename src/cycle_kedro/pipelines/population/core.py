"""Per-partition pandas steps of the population pipeline (one partition = whole users).

Every function here takes and returns plain pandas frames holding *all* rows of the users it
sees, so the same code runs on the whole table (pandas engine) or on each partition of a Dask
frame shuffled by ``user_id`` (Dask engine) and gives identical results.

Input contract (``period_starts``): one row per logged period start, any order::

    user_id       str    the app's user id (any non-empty text; a number is read as text)
    period_start  str    ISO date "YYYY-MM-DD" (an ISO timestamp or a parquet date also works)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.pandas import Check, Column

from cycle_kedro.pipelines.forecasting.arima import forecast_series
from cycle_kedro.pipelines.forecasting.baselines import (
    estimate_shrinkage_k,
    expanding_baselines,
    population_mean,
)

Z80 = 1.2815515655446004  # standard normal 90% quantile: central 80% interval
MODELS = ("shrinkage", "median", "arima")
HANDLINGS = ("keep", "split", "downweight")
ISO_DATE = r"^\d{4}-?\d{2}-?\d{2}(?:[T ]|$)"  # a whole day first (ISO 8601 date or timestamp)


def _non_empty(s: pd.Series) -> pd.Series:
    """True where the id is non-blank text (each distinct id checked once; nulls left to pandera)."""
    codes, uniques = pd.factorize(s)
    ok = np.r_[pd.Index(uniques).astype(str).str.strip().str.len().to_numpy() > 0, True]
    return pd.Series(ok[codes], index=s.index)


PERIOD_STARTS = pa.DataFrameSchema(
    {
        "user_id": Column(
            checks=Check(_non_empty, name="non_empty_user_id"),
            nullable=False,
        ),
        "period_start": Column(nullable=False),
    },
    strict=False,
    name="period_starts",
)

CLEAN_COLUMNS = {
    "user_id": "object",
    "period_start": "datetime64[ns]",
    "raw_period_start": "object",
    "reason": "object",
}
CYCLE_COLUMNS = {
    "user_id": "object",
    "cycle_index": "int64",
    "cycle_start": "datetime64[ns]",
    "cycle_length": "float64",
    "typical_length": "float64",
    "skip_flag": "bool",
    "skip_k": "int64",
}


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
        raise ValueError(f"population_skips.handling must be one of {HANDLINGS}, got {handling!r}")
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


# --------------------------------------------------------------------------- population stats
def sample_users(user_ids: pd.Series, fraction: float) -> pd.Series:
    """Deterministic, engine-independent user sample (hash of the id) for population stats."""
    if fraction >= 1.0:
        return pd.Series(True, index=user_ids.index)
    h = pd.util.hash_array(user_ids.astype(str).to_numpy(), categorize=False)
    return pd.Series((h % 1_000_000) < int(fraction * 1_000_000), index=user_ids.index)


def stats_table(
    cycles: pd.DataFrame, handling: str, skip_weight: float, fraction: float
) -> pd.DataFrame:
    """Return the (sampled) training cycles the population statistics are estimated on.

    Flagged gaps are left out under ``downweight`` (weight < 1 means "not a clean cycle").
    """
    c = cycles[sample_users(cycles["user_id"], fraction).to_numpy()]
    h = history(c, handling, skip_weight)
    if handling == "downweight":
        h = h[~h["flagged"]]
    return h[["woman_id", "cycle_index", "cycle_length"]]


def population_stats(train: pd.DataFrame, cfg: dict) -> dict[str, float]:
    """Population mean, shrinkage strength ``k`` and pooled within-user variance.

    ``train`` is sorted by user and cycle so both engines sum in the same order.
    """
    train = train.sort_values(["woman_id", "cycle_index"], kind="stable", ignore_index=True)
    if train.empty:
        raise ValueError("population statistics: no completed cycle in the whole input")
    mean = population_mean(train)
    k = estimate_shrinkage_k(train, max_k=float(cfg.get("max_shrinkage_k", 100.0)))
    g = train.groupby("woman_id", sort=False)["cycle_length"]
    n, var = g.size(), g.var(ddof=1)
    multi = n > 1
    if multi.any():
        sigma2 = float(((n[multi] - 1) * var[multi]).sum() / (n[multi] - 1).sum())
    else:
        sigma2 = float(train["cycle_length"].var(ddof=1)) if len(train) > 1 else 9.0
    total_var = float(train["cycle_length"].var(ddof=1)) if len(train) > 1 else sigma2
    return {"mean": mean, "k": k, "sigma2": sigma2, "total_var": total_var}


# --------------------------------------------------------------------------- forecasts
def _user_table(cycles: pd.DataFrame) -> pd.DataFrame:
    """One row per user: last start, cycles used, skip flags as a 0/1 string."""
    done = cycles[cycles["cycle_length"].notna()]
    g = cycles.groupby("user_id", sort=True)
    users = pd.DataFrame({"last_start": g["cycle_start"].max()})
    flags = done.groupby("user_id", sort=True)["skip_flag"]
    users["n_cycles_logged"] = flags.size().reindex(users.index, fill_value=0).astype("int64")
    users["n_skips_flagged"] = flags.sum().reindex(users.index, fill_value=0).astype("int64")
    users["skip_flags"] = (
        done.assign(f=done["skip_flag"].astype(int).astype(str))
        .groupby("user_id", sort=True)["f"]
        .agg("".join)
        .reindex(users.index, fill_value="")
    )
    return users


def _weighted(h: pd.DataFrame) -> pd.DataFrame:
    """Per-user weighted mean, weighted median and effective n (weights from skip handling)."""
    h = h.sort_values(["woman_id", "cycle_length"], kind="stable")
    g = h.groupby("woman_id", sort=True)
    wsum = g["weight"].sum()
    mean = (h["cycle_length"] * h["weight"]).groupby(h["woman_id"], sort=True).sum() / wsum
    cum = g["weight"].cumsum() / h["woman_id"].map(wsum)
    med = h[cum.to_numpy() >= 0.5].groupby("woman_id", sort=True)["cycle_length"].first()
    return pd.DataFrame({"n_eff": wsum, "mean": mean, "median": med})


def _baselines(h: pd.DataFrame, pop: dict) -> pd.DataFrame:
    """Shrinkage and median forecasts from each user's whole history.

    Unweighted histories go through the forecasting pipeline's ``expanding_baselines`` (a NaN
    target row appended after each user's last cycle); weighted ones (``downweight``) use the
    same formulas with weights.
    """
    if h.empty:
        return pd.DataFrame(columns=["n_eff", "shrinkage", "median", "sd"], dtype=float)
    g = h.groupby("woman_id", sort=True)["cycle_length"]
    var = g.var(ddof=1)
    n = g.size().astype(float)
    if (h["weight"] == 1.0).all():
        last = h.groupby("woman_id", sort=True)["cycle_index"].max()
        target = pd.DataFrame(
            {"woman_id": last.index, "cycle_index": last.to_numpy() + 1, "cycle_length": np.nan}
        )
        full = pd.concat(
            [h[["woman_id", "cycle_index", "cycle_length"]], target], ignore_index=True
        )
        out = expanding_baselines(full, pop["mean"], pop["k"]).loc[len(h) :]
        out.index = last.index
        res = pd.DataFrame(
            {"n_eff": n, "shrinkage": out["shrinkage"], "median": out["median_previous"]}
        )
    else:
        w = _weighted(h)
        shrink = (w["n_eff"] * w["mean"] + pop["k"] * pop["mean"]) / (w["n_eff"] + pop["k"])
        res = pd.DataFrame({"n_eff": w["n_eff"], "shrinkage": shrink, "median": w["median"]})
    nu0 = 4.0  # prior degrees of freedom pulling a user's SD toward the pooled SD
    nu = (n - 1).clip(lower=0)
    res["sd"] = np.sqrt((nu * var.fillna(0.0) + nu0 * pop["sigma2"]) / (nu + nu0))
    return res


def _arima(h: pd.DataFrame, cfg: dict, n_jobs: int) -> pd.Series:
    """ARIMA point forecast per user (NaN where the history is too short or the fit failed)."""
    a = h[~h["flagged"]] if (h["weight"] < 1).any() else h
    if a.empty:
        return pd.Series(dtype=float)
    series = pd.DataFrame(
        {
            "unique_id": a["woman_id"].to_numpy(),
            "ds": a.groupby("woman_id", sort=False).cumcount().to_numpy() + 1,
            "y": a["cycle_length"].to_numpy(),
        }
    )
    fc = forecast_series(
        series,
        h=1,
        order=tuple(cfg["order"]),
        min_length=int(cfg["min_cycles"]),
        n_jobs=int(n_jobs),
    )
    fc = fc[fc["model"] == "arima"]  # short series: the shrinkage forecast is used instead
    return fc.set_index("unique_id")["forecast"].astype(float)


def forecast_users(
    cycles: pd.DataFrame,
    pop: dict,
    cfg: dict,
    handling: str,
    skip_weight: float,
    *,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Next-period forecast for every user of ``cycles``: one row per user and model.

    Columns: ``user_id``, ``model``, ``handling``, ``last_start``, ``n_cycles_used``,
    ``n_skips_flagged``, ``skip_flags`` (one 0/1 per logged cycle), ``population_fallback``
    (no completed cycle: the population forecast), ``predicted_length`` with its 80% interval
    ``length_lo80``/``length_hi80``, and the dates ``next_start``, ``next_start_lo80``,
    ``next_start_hi80`` (last start + rounded length). ARIMA is used from
    ``arima.min_cycles`` cycles on; shorter histories (and failed fits) get the shrinkage
    forecast (``source`` says which).
    """
    users = _user_table(cycles)
    h = history(cycles, handling, skip_weight)
    base = _baselines(h, pop).reindex(users.index)
    n_used = h.groupby("woman_id", sort=True).size().reindex(users.index, fill_value=0)
    sd = base["sd"].fillna(np.sqrt(pop["total_var"]))
    half = Z80 * sd * np.sqrt(1.0 + 1.0 / (n_used + pop["k"]))
    preds = {
        "shrinkage": base["shrinkage"].fillna(pop["mean"]),
        "median": base["median"].fillna(pop["mean"]),
    }
    arima = pd.Series(np.nan, index=users.index)
    if "arima" in cfg["models"]:
        arima = _arima(h, cfg["arima"], n_jobs).reindex(users.index)
        preds["arima"] = arima.where(np.isfinite(arima), preds["shrinkage"])
    parts = []
    for model in cfg["models"]:
        if model not in preds:
            raise ValueError(f"population_forecast.models: unknown model {model!r}; use {MODELS}")
        p = preds[model]
        part = users.assign(
            model=model,
            handling=handling,
            n_cycles_used=n_used.astype("int64"),
            population_fallback=users["n_cycles_logged"] == 0,
            source=np.where(users["n_cycles_logged"] == 0, "population", model),
            predicted_length=p,
            length_lo80=p - half,
            length_hi80=p + half,
        )
        if model == "arima":
            part["source"] = np.where(arima.notna(), "arima", "shrinkage")
        parts.append(part)
    out = pd.concat(parts).rename_axis("user_id").reset_index()
    for col, src in [
        ("next_start", "predicted_length"),
        ("next_start_lo80", "length_lo80"),
        ("next_start_hi80", "length_hi80"),
    ]:
        out[col] = out["last_start"] + pd.to_timedelta(np.rint(out[src]), unit="D")
    return out.sort_values(["user_id", "model"], kind="stable", ignore_index=True)[FORECAST_COLUMNS]


FORECAST_COLUMNS = [
    "user_id",
    "model",
    "handling",
    "source",
    "last_start",
    "n_cycles_logged",
    "n_cycles_used",
    "n_skips_flagged",
    "skip_flags",
    "population_fallback",
    "predicted_length",
    "length_lo80",
    "length_hi80",
    "next_start",
    "next_start_lo80",
    "next_start_hi80",
]


# --------------------------------------------------------------------------- evaluation
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


def score_forecasts(
    cycles: pd.DataFrame, forecasts: pd.DataFrame, tolerance: float
) -> pd.DataFrame:
    """Join each forecast with the withheld start: error in days and interval coverage.

    ``scored_is_skip_flag``: the withheld gap itself looks like a missed log (same rule as
    :func:`build_cycles`, with the typical length from the earlier cycles only).
    """
    per_user = cycles.groupby("user_id", sort=True).agg(
        scored_start=("scored_start", "first"), typical=("typical_length", "first")
    )
    f = forecasts.join(per_user, on="user_id")
    actual_gap = (f["scored_start"] - f["last_start"]).dt.days.astype(float)
    ratio = actual_gap / f["typical"]
    k = np.rint(ratio)
    f["actual_length"] = actual_gap
    f["error_days"] = (f["next_start"] - f["scored_start"]).dt.days.astype(float)
    f["covered"] = (f["scored_start"] >= f["next_start_lo80"]) & (
        f["scored_start"] <= f["next_start_hi80"]
    )
    f["scored_is_skip_flag"] = (k >= 2) & ((ratio - k).abs() <= tolerance)
    return f.drop(columns=["typical"])
