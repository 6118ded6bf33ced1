"""Nodes of the ``population`` pipeline: next-period forecasts for every user of an app.

Input ``period_starts`` (csv or parquet, one row per logged period start, any order)::

    user_id       text   the app's user id (any non-empty text)
    period_start  text   ISO date "YYYY-MM-DD" (ISO timestamps and parquet dates also accepted)

Checks, pseudonymisation and the drop report are the first node, in :mod:`.intake` (what each kind
of bad input gets is listed there). The heavy lifting is in :mod:`.core` (pandas, per partition of whole users); :mod:`.engine`
runs it on pandas or Dask according to ``params:population_engine``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cycle_kedro.pipelines.forecasting.metrics import interval_coverage, regression_metrics

from . import core, engine
from .generator import generate_population
from .intake import build_user_lookup, validate_period_starts  # noqa: F401  (first node: .intake)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

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
SCORE_META = {
    **FORECAST_META,
    "scored_start": "datetime64[ns]",
    "actual_length": "float64",
    "error_days": "float64",
    "covered": "bool",
    "scored_is_skip_flag": "bool",
}


def generate_app_population(generator: dict, engine_cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate the seeded synthetic app population: the log and its truth.

    Returns ``period_starts`` (``user_id``, ``period_start`` ISO text, shuffled rows; a Dask
    frame under the Dask engine) and ``population_truth`` (per logged gap: ``n_missed`` > 0
    marks a gap with missed logs, plus the user's true mean and SD of cycle length).
    """
    log, truth = generate_population(generator)
    logger.info(
        "Generated %d users, %d logged starts, %d gaps with a missed log",
        generator["n_users"],
        len(log),
        int((truth["n_missed"] > 0).sum()),
    )
    return engine.to_engine(log, engine_cfg), truth


def convert_cycles_to_starts(cycles: pd.DataFrame, options: dict) -> pd.DataFrame:
    """Turn per-cycle lengths (FedCycle) into a start-date log anchored at ``anchor_date``.

    Each woman's first cycle starts on the anchor; every later start adds the previous
    length; the start after her last cycle is logged too, so n cycles give n + 1 starts.
    """
    c = cycles.sort_values(["woman_id", "cycle_index"], kind="stable")
    c = c[c["cycle_length"].notna()]
    offset = c.groupby("woman_id", sort=False)["cycle_length"].cumsum()
    ends = pd.DataFrame({"user_id": c["woman_id"], "days": offset})
    firsts = pd.DataFrame({"user_id": c["woman_id"].drop_duplicates(), "days": 0.0})
    log = pd.concat([firsts, ends], ignore_index=True)
    dates = pd.Timestamp(options["anchor_date"]) + pd.to_timedelta(log["days"], unit="D")
    log = pd.DataFrame({"user_id": log["user_id"], "period_start": dates.dt.strftime("%Y-%m-%d")})
    return log.sort_values(["user_id", "period_start"], ignore_index=True)


def build_period_cycles(starts: pd.DataFrame, skips: dict, engine_cfg: dict) -> pd.DataFrame:
    """Turn kept starts into cycles (one row per start; the last one open) with skip flags."""
    return engine.apply(
        starts, _cycles_partition, core.empty(core.CYCLE_COLUMNS), engine_cfg, cfg=skips
    )


def _cycles_partition(starts: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    if starts.empty:
        return core.empty(core.CYCLE_COLUMNS)
    return core.build_cycles(starts.reset_index(drop=True), cfg)


def _population(cycles, handling: str, skips: dict, forecast: dict, engine_cfg: dict) -> dict:
    """Population mean, shrinkage k and within-user variance, from a fixed hash sample."""
    n_users = engine.compute(cycles["user_id"].nunique())
    fraction = min(1.0, float(forecast["stats_max_users"]) / max(int(n_users), 1))
    meta = pd.DataFrame(
        {
            "woman_id": pd.Series(dtype=object),
            "cycle_index": pd.Series(dtype="int64"),
            "cycle_length": pd.Series(dtype=float),
        }
    )
    train = engine.apply(
        cycles,
        _stats_partition,
        meta,
        engine_cfg,
        shuffle=False,
        handling=handling,
        skip_weight=float(skips["skip_weight"]),
        fraction=fraction,
    )
    pop = core.population_stats(engine.compute(train), forecast)
    logger.info("Population (%s, %d users): %s", handling, n_users, pop)
    return pop


def _stats_partition(cycles: pd.DataFrame, **kwargs) -> pd.DataFrame:
    if cycles.empty:
        return core.empty({"woman_id": "object", "cycle_index": "int64", "cycle_length": "float64"})
    return core.stats_table(cycles.reset_index(drop=True), **kwargs)


def _forecast_partition(
    cycles: pd.DataFrame, score: bool, tolerance: float, **kwargs
) -> pd.DataFrame:
    if cycles.empty:
        return core.empty(SCORE_META if score else FORECAST_META)
    cycles = cycles.reset_index(drop=True)
    out = core.forecast_users(cycles, **kwargs)
    return core.score_forecasts(cycles, out, tolerance) if score else out


def forecast_next_period(
    cycles: pd.DataFrame, forecast: dict, skips: dict, engine_cfg: dict
) -> pd.DataFrame:
    """Forecast every user's next period start, length and 80% interval with every model.

    Users without a completed cycle get the population forecast (``population_fallback``).
    Skip handling is ``population_skips.handling``. Rows sorted by user and model.
    """
    dask = engine.is_dask(engine_cfg)
    if dask:
        cycles = engine.by_user(engine.to_engine(cycles, engine_cfg), engine_cfg).persist()
    pop = _population(cycles, skips["handling"], skips, forecast, engine_cfg)
    out = engine.apply(
        cycles,
        _forecast_partition,
        core.empty(FORECAST_META),
        engine_cfg,
        shuffle=False,
        score=False,
        tolerance=float(skips["tolerance"]),
        pop=pop,
        cfg=forecast,
        handling=skips["handling"],
        skip_weight=float(skips["skip_weight"]),
        n_jobs=1 if dask else int(engine_cfg.get("n_jobs", 1)),
    )
    out = engine.sorted_frame(out, ["user_id", "model"])
    logger.info("Forecast %d users with %s", out["user_id"].nunique(), list(forecast["models"]))
    return out


def evaluate_last_cycle(
    starts: pd.DataFrame, forecast: dict, skips: dict, evaluation: dict, engine_cfg: dict
) -> pd.DataFrame:
    """Forecast each user's last observed start from the earlier ones only, per skip handling.

    The withheld start never enters the cycles, the skip flags, the typical length or the
    population statistics. One row per user, model and handling with ``error_days``
    (forecast minus actual start), ``covered`` (inside the 80% interval) and
    ``scored_is_skip_flag`` (the withheld gap itself looks like a missed log).
    """
    dask = engine.is_dask(engine_cfg)
    cyc = engine.apply(starts, _holdout_partition, core.empty(HOLDOUT_META), engine_cfg, cfg=skips)
    if dask:
        cyc = cyc.persist()
    parts = []
    for handling in evaluation["handlings"]:
        pop = _population(cyc, handling, skips, forecast, engine_cfg)
        scored = engine.apply(
            cyc,
            _forecast_partition,
            core.empty(SCORE_META),
            engine_cfg,
            shuffle=False,
            score=True,
            tolerance=float(skips["tolerance"]),
            pop=pop,
            cfg=forecast,
            handling=handling,
            skip_weight=float(skips["skip_weight"]),
            n_jobs=1 if dask else int(engine_cfg.get("n_jobs", 1)),
        )
        parts.append(engine.sorted_frame(scored, ["user_id", "model"]))
    return pd.concat(parts, ignore_index=True)


HOLDOUT_META = {**core.CYCLE_COLUMNS, "scored_start": "datetime64[ns]"}


def _holdout_partition(starts: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    if starts.empty:
        return core.empty(HOLDOUT_META)
    return core.holdout_cycles(starts.reset_index(drop=True), cfg)


def _summary_rows(p: pd.DataFrame) -> dict[str, float]:
    days = (p["next_start"] - p["last_start"]).dt.days
    lo = (p["next_start_lo80"] - p["last_start"]).dt.days
    hi = (p["next_start_hi80"] - p["last_start"]).dt.days
    reg = regression_metrics(p["actual_length"], days)
    return {
        "n_users": int(reg["n"]),
        "start_mae_days": reg["mae"],
        "start_rmse_days": reg["rmse"],
        "coverage80": interval_coverage(p["actual_length"], lo, hi),
    }


def summarise_evaluation(
    predictions: pd.DataFrame, input_cfg: dict
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Table and MLflow metrics: start-date MAE/RMSE and 80% coverage per handling and model.

    ``subset`` ``all`` scores every user; ``scored_not_skip`` leaves out users whose withheld
    gap itself looks like a missed log. Metric keys:
    ``population.<cohort>.<handling>.<model>.<subset>.<metric>``.
    """
    cohort = input_cfg["cohort"]
    rows = []
    for (handling, model), p in predictions.groupby(["handling", "model"], sort=False):
        for subset, part in [("all", p), ("scored_not_skip", p[~p["scored_is_skip_flag"]])]:
            rows.append(
                {"cohort": cohort, "handling": handling, "model": model, "subset": subset}
                | _summary_rows(part)
            )
    table = pd.DataFrame(rows)
    metrics = {}
    for r in table.itertuples(index=False):
        for m in ("n_users", "start_mae_days", "start_rmse_days", "coverage80"):
            key = f"population.{cohort}.{r.handling}.{r.model}.{r.subset}.{m}"
            value = float(getattr(r, m))
            if np.isfinite(value):
                metrics[key] = {"value": value, "step": 0}
    return table, metrics


def score_skip_flags(
    cycles: pd.DataFrame, truth: pd.DataFrame, skips: dict, scoring: dict
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Precision and recall of the missed-log flags against the planted truth, per tolerance.

    A gap is truly a skip when the generator dropped at least one start inside it. Rows: one
    per tolerance of ``scoring.tolerances`` plus the configured one (``configured`` true).
    """
    c = engine.compute(cycles)[["user_id", "cycle_start", "cycle_length", "typical_length"]]
    c = c[c["cycle_length"].notna()].merge(
        truth[["user_id", "cycle_start", "n_missed"]], on=["user_id", "cycle_start"], how="inner"
    )
    if c.empty:
        raise ValueError("skip scoring: no cycle matches the truth (is period_starts synthetic?)")
    ratio = c["cycle_length"] / c["typical_length"]
    k = np.rint(ratio)
    actual = (c["n_missed"] > 0).to_numpy()
    rows = []
    tolerances = sorted({*map(float, scoring["tolerances"]), float(skips["tolerance"])})
    for tol in tolerances:
        flag = ((k >= 2) & ((ratio - k).abs() <= tol)).to_numpy()
        tp = int((flag & actual).sum())
        precision = tp / flag.sum() if flag.sum() else np.nan
        recall = tp / actual.sum() if actual.sum() else np.nan
        rows.append(
            {
                "tolerance": tol,
                "configured": tol == float(skips["tolerance"]),
                "n_gaps": len(c),
                "n_true_skips": int(actual.sum()),
                "n_flagged": int(flag.sum()),
                "precision": precision,
                "recall": recall,
            }
        )
    table = pd.DataFrame(rows)
    best = table[table["configured"]].iloc[0]
    metrics = {
        f"population.app.skip_flags.{m}": {"value": float(best[m]), "step": 0}
        for m in ("precision", "recall", "n_true_skips", "n_flagged")
        if np.isfinite(float(best[m]))
    }
    logger.info(
        "Skip flags vs truth: precision %.3f, recall %.3f", best["precision"], best["recall"]
    )
    return table, metrics


def plot_error_by_n_cycles(predictions: pd.DataFrame, max_cycles: int) -> Figure:
    """Figure: start-date MAE by number of logged cycles, one line per model and handling.

    Left: every held-out start. Right: held-out gaps that do not look like a missed log (a
    missed log in the scored gap costs a whole cycle whatever the model).
    """
    from matplotlib.figure import Figure  # noqa: PLC0415

    p = predictions.assign(
        n=predictions["n_cycles_logged"].clip(upper=max_cycles),
        abs_err=predictions["error_days"].abs(),
    )
    fig = Figure(figsize=(11, 4.5))
    axes = fig.subplots(1, 2, sharex=True)
    styles = {"keep": ":", "split": "-", "downweight": "--"}
    for ax, (title, part) in zip(
        axes,
        [
            ("all held-out starts", p),
            ("held-out gap not a missed log", p[~p["scored_is_skip_flag"]]),
        ],
        strict=True,
    ):
        mae = part.groupby(["handling", "model", "n"])["abs_err"].mean()
        for (handling, model), s in mae.groupby(level=[0, 1]):
            ax.plot(
                s.index.get_level_values(2),
                s.to_numpy(),
                styles.get(handling, "-"),
                marker="o",
                ms=3,
                label=f"{model} / {handling}",
            )
        ax.set_title(title)
        ax.set_xlabel(f"logged cycles before the scored one ({max_cycles} = {max_cycles}+)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("next-start MAE (days)")
    axes[1].legend(fontsize=7, ncol=3)
    fig.suptitle("Error by number of logged cycles (each user's last start held out)")
    fig.tight_layout()
    return fig


def plot_interval_coverage(table: pd.DataFrame) -> Figure:
    """Figure: 80% interval coverage per model and skip handling, against the nominal 0.8."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    t = table[table["subset"] == "all"].pivot(
        index="model", columns="handling", values="coverage80"
    )
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    width = 0.8 / max(len(t.columns), 1)
    x = np.arange(len(t.index))
    for i, handling in enumerate(t.columns):
        ax.bar(x + i * width, t[handling].to_numpy(), width, label=handling)
    ax.axhline(0.8, color="k", ls="--", lw=1, label="nominal 0.8")
    ax.set_xticks(x + width * (len(t.columns) - 1) / 2, t.index)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of held-out starts inside the 80% interval")
    ax.set_title("Interval coverage by model and skip handling")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_skip_flag_scores(table: pd.DataFrame) -> Figure:
    """Figure: skip-flag precision and recall against the planted truth, by tolerance."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(table["tolerance"], table["precision"], marker="o", label="precision")
    ax.plot(table["tolerance"], table["recall"], marker="s", label="recall")
    conf = table[table["configured"]]
    ax.axvline(float(conf["tolerance"].iloc[0]), color="grey", ls="--", lw=1, label="configured")
    ax.set_xlabel("tolerance |gap / typical - k|")
    ax.set_ylim(0, 1.02)
    ax.set_title("Missed-log flags vs planted truth (synthetic app)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
