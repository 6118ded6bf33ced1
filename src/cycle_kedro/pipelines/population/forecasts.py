"""Per-partition pandas steps of the forecasts: population statistics, per-user forecasts, scoring.

Like :mod:`.periods`, every function takes and returns pandas frames holding all rows of the
users it sees (the whole table, or one Dask partition of whole users).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cycle_kedro.cycles.arima import forecast_series
from cycle_kedro.cycles.baselines import (
    estimate_shrinkage_k,
    expanding_baselines,
    population_mean,
)

from .periods import history

Z80 = 1.2815515655446004  # standard normal 90% quantile: central 80% interval
MODELS = ("shrinkage", "median", "arima")

FORECAST_META = {
    "user_id": "object",
    "model": "object",
    "handling": "object",
    "source": "object",
    "last_start": "datetime64[ns]",
    "n_cycles_logged": "int64",
    "n_cycles_used": "int64",
    "n_skips_flagged": "int64",
    "skip_flags": "object",
    "population_fallback": "bool",
    "predicted_length": "float64",
    "length_lo80": "float64",
    "length_hi80": "float64",
    "next_start": "datetime64[ns]",
    "next_start_lo80": "datetime64[ns]",
    "next_start_hi80": "datetime64[ns]",
}

FORECAST_COLUMNS = list(FORECAST_META)
STATS_COLUMNS = {"woman_id": "object", "cycle_index": "int64", "cycle_length": "float64"}
SCORE_META = {
    **FORECAST_META,
    "scored_start": "datetime64[ns]",
    "actual_length": "float64",
    "error_days": "float64",
    "covered": "bool",
    "scored_is_skip_flag": "bool",
}


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
            raise ValueError(f"population.forecast.models: unknown model {model!r}; use {MODELS}")
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


# --------------------------------------------------------------------------- evaluation
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
