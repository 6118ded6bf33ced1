"""In-cycle nodes of the ``forecasting`` pipeline: the forecast that updates as the cycle goes on.

For every scored cycle of fold *f*, the population state (calibration residuals of the day-1
model, luteal model, the ovulation rule's residuals) is fitted on the other folds' women only;
the cycle's own length and ovulation day enter only through what is known on the forecast day
(:func:`cycle_kedro.cycles.incycle.expanding_incycle_forecasts`). The day-1 forecast is the
out-of-fold forecast of ``incycle.history_model`` from ``forecast_predictions``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.incycle import (
    expanding_incycle_forecasts,
    fit_incycle_state,
    forecast_current_cycle,
)
from cycle_kedro.cycles.metrics import bootstrap_mae_difference, regression_metrics
from cycle_kedro.tables import mlflow_metrics

from .folds import KEYS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

DETAIL_COLUMNS = ("ovulation_day", "planted_shift")


def attach_cycle_details(frame: pd.DataFrame, cycles: pd.DataFrame) -> pd.DataFrame:
    """Add each cycle's ``ovulation_day`` (and the generator's ``planted_shift``) to the forecast frame.

    Missing in the cycles table: NaN (``planted_shift`` stays absent). Index and rows of
    ``frame`` are kept.
    """
    extra = [c for c in DETAIL_COLUMNS if c in cycles.columns]
    details = cycles[[*KEYS, *extra]].drop_duplicates(KEYS)
    out = frame.drop(columns=[c for c in extra if c in frame], errors="ignore")
    out = out.reset_index().merge(details, on=KEYS, how="left").set_index("index")
    out.index.name = frame.index.name
    if "ovulation_day" not in out:
        out["ovulation_day"] = np.nan
    return out.loc[frame.index]


def _day1(details: pd.DataFrame, predictions: pd.DataFrame, model: str) -> pd.Series:
    col = f"pred_{model}"
    if col not in predictions:
        raise KeyError(f"incycle.history_model {model!r}: forecast_predictions has no {col}")
    pred = details[KEYS].merge(predictions[[*KEYS, col]], on=KEYS, how="left")[col]
    return pd.Series(pred.to_numpy(), index=details.index)


def _options(incycle: dict[str, Any]) -> dict[str, Any]:
    return {**incycle["intervals"], **incycle["update"]}


def _moments(incycle: dict[str, Any]) -> list:
    lo, hi, step = incycle["curve_days"]
    curve = [d for d in range(int(lo), int(hi) + 1, int(step)) if d > 1]
    table = [m for m in incycle["moments"] if m not in curve]
    return table + curve


def predict_incycle(
    details: pd.DataFrame, predictions: pd.DataFrame, incycle: dict[str, Any]
) -> pd.DataFrame:
    """Forecast every scored cycle at every moment (table moments and the curve's days), out of fold.

    Returns one row per (cycle, moment at which the cycle is still running): keys, ``fold``,
    ``n_prior``, ``moment``, ``day``, ``method``, ``predicted_length``, ``lower_80``,
    ``upper_80``, ``cycle_length``, and ``day1_length`` (the day-1 forecast of the same cycle).
    """
    model = incycle["history_model"]
    pred = _day1(details, predictions, model)
    resid = details["cycle_length"] - pred
    parts = []
    for f in sorted(details["fold"].unique()):
        is_test = (details["fold"] == f).to_numpy()
        train, test = details[~is_test], details[is_test]  # test: all her cycles, scored ones forecast
        calib = train[train["evaluated"]].assign(residual=resid[train.index[train["evaluated"]]])
        state = fit_incycle_state(train, calib, _options(incycle), {"history_model": model})
        table = expanding_incycle_forecasts(test, pred.loc[test.index], state, _moments(incycle))
        parts.append(table.assign(fold=int(f)))
        logger.info("fold %d: luteal model %s", f, state["luteal_model"])
    out = pd.concat(parts, ignore_index=True)
    extra = details[[*KEYS, "n_prior"]].assign(day1_length=pred)
    return out.merge(extra, on=KEYS, how="left")


def _moment_row(part: pd.DataFrame, evaluation: dict[str, Any]) -> dict[str, Any]:
    y, p = part["cycle_length"], part["predicted_length"]
    m = regression_metrics(y, p)
    diff = bootstrap_mae_difference(
        y,
        p,
        part["day1_length"].round(),
        groups=part["woman_id"],
        n_boot=int(evaluation["n_boot"]),
        confidence=float(evaluation["confidence"]),
        seed=int(evaluation["seed"]),
    )
    cover = (y >= part["lower_80"]) & (y <= part["upper_80"])
    methods = part["method"].value_counts(normalize=True)
    return {
        "n": m["n"],
        "n_women": int(part["woman_id"].nunique()),
        "mae": m["mae"],
        "rmse": m["rmse"],
        "interval_coverage": float(cover.mean()),
        "interval_width": float((part["upper_80"] - part["lower_80"]).mean()),
        "mae_vs_day1": diff["diff"],
        "mae_vs_day1_ci_low": diff["ci_low"],
        "mae_vs_day1_ci_high": diff["ci_high"],
        "share_ovulation_rule": float(methods.get("ovulation", 0.0)),
        "mean_day": float(part["day"].mean()),
    }


def evaluate_incycle(
    incycle_predictions: pd.DataFrame, incycle: dict[str, Any], evaluation: dict[str, Any]
) -> pd.DataFrame:
    """MAE / RMSE / 80% coverage of the predicted start per forecast moment (the in-cycle table).

    ``mae_vs_day1`` is the moment's MAE minus that of the day-1 forecast (whole days) on the
    same cycles, with a woman-level cluster-bootstrap CI (negative: the update helps).
    """
    rows = []
    for moment in [str(m) for m in incycle["moments"]]:
        part = incycle_predictions[incycle_predictions["moment"] == moment]
        if part.empty:
            continue
        rows.append(
            {
                "cohort": evaluation.get("cohort", ""),
                "moment": moment,
                "history_model": incycle["history_model"],
                **_moment_row(part, evaluation),
            }
        )
    table = pd.DataFrame(rows)
    table[["n", "n_women"]] = table[["n", "n_women"]].astype("Int64")
    return table


INCYCLE_MLFLOW = ("n", "mae", "rmse", "interval_coverage", "interval_width", "mae_vs_day1")


def build_incycle_mlflow_metrics(incycle_metrics: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{"incycle.<moment>.<metric>": {"value", "step"}}`` for every row of the in-cycle table."""
    return mlflow_metrics(
        {
            f"incycle.{row['moment']}.{c}": row[c]
            for _, row in incycle_metrics.iterrows()
            for c in INCYCLE_MLFLOW
            if pd.notna(row[c])
        }
    )


def plot_incycle_error(incycle_predictions: pd.DataFrame, reporting: dict[str, Any]) -> Figure:
    """MAE (and 80% coverage) of the predicted start against the day of the cycle it is made on."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    curve = incycle_predictions[incycle_predictions["moment"].str.fullmatch(r"day1|\d+")]
    err = (curve["cycle_length"] - curve["predicted_length"]).abs()
    cover = (curve["cycle_length"] >= curve["lower_80"]) & (
        curve["cycle_length"] <= curve["upper_80"]
    )
    by = curve.groupby("day")
    stats = pd.DataFrame({"mae": err.groupby(curve["day"]).mean(), "n": by.size()})
    stats["coverage"] = cover.groupby(curve["day"]).mean()
    stats["survival_only"] = (
        err[curve["method"] != "ovulation"].groupby(curve["day"]).mean().reindex(stats.index)
    )
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, height_ratios=[3, 1.3])
    ax.plot(stats.index, stats["mae"], marker="o", ms=3, label="all running cycles")
    ax.plot(
        stats.index,
        stats["survival_only"],
        ls="--",
        label="cycles without a detected ovulation yet",
    )
    ovu = incycle_predictions[incycle_predictions["moment"] == "ovulation"]
    if len(ovu):
        mae = (ovu["cycle_length"] - ovu["predicted_length"]).abs().mean()
        ax.axhline(mae, color="grey", lw=1, ls=":", label=f"day after ovulation ({mae:.2f} d)")
    ax.set(
        ylabel="MAE of predicted start (days)", title=f"{reporting['title']}: in-cycle forecasts"
    )
    ax.legend(fontsize=8)
    ax2.plot(stats.index, stats["coverage"], marker=".", color="C2")
    ax2.axhline(0.8, color="grey", lw=1)
    ax2.set(xlabel="cycle day the forecast is made on", ylabel="80% cover.", ylim=(0.5, 1.0))
    for x, n in stats["n"].items():
        if x in (1, 15, 29, 43):
            ax2.annotate(f"n={n}", (x, 0.52), fontsize=7)
    fig.tight_layout()
    return fig


def _history_state(frame: pd.DataFrame, cohort_model: dict[str, Any], model: str) -> dict:
    if model == "selected":
        model = cohort_model["model"]
    state = {"history_model": model}
    if model == "shrinkage":
        state |= {
            "population_mean": cohort_model["population_mean"],
            "shrinkage_k": cohort_model["shrinkage_k"],
        }
    else:
        state["robust"] = cohort_model["robust"]
    return state


def fit_cohort_incycle_state(
    details: pd.DataFrame,
    predictions: pd.DataFrame,
    cohort_model: dict[str, Any],
    incycle: dict[str, Any],
) -> dict[str, Any]:
    """The in-cycle population state fitted on the whole cohort (what a serving model carries).

    Calibration residuals are the day-1 model's out-of-fold residuals (as the next-cycle
    intervals); population mean, shrinkage strength and robust fits come from all cycles.
    """
    model = incycle["history_model"]
    pred = _day1(details, predictions, model)
    calib = details[details["evaluated"]].assign(
        residual=(details["cycle_length"] - pred)[details["evaluated"]]
    )
    hist = _history_state(details, cohort_model, model)
    return fit_incycle_state(details, calib, _options(incycle), hist)


def current_cycle_status(frame: pd.DataFrame) -> pd.DataFrame:
    """Each woman's current cycle as the cohort data leave it: day 1, no ovulation detected.

    The cohorts end with a completed cycle, so the next one has just begun. A serving pipeline
    replaces this table with what a user sends (``days_since_start``, ``ovulation_day``).
    """
    women = np.sort(frame["woman_id"].unique())
    return pd.DataFrame({"woman_id": women, "days_since_start": 1.0, "ovulation_day": np.nan})


def add_current_cycle_fields(
    next_cycle_base: pd.DataFrame,
    details: pd.DataFrame,
    incycle_state: dict[str, Any],
    current_cycle: pd.DataFrame,
) -> pd.DataFrame:
    """Add the current-cycle fields to each woman's next-cycle forecast (existing columns kept).

    New columns (:data:`cycle_kedro.cycles.incycle.INCYCLE_FIELDS`): ``days_since_start``,
    ``ovulation_day``, ``incycle_method``, ``incycle_predicted_length``, ``incycle_lower_80``,
    ``incycle_upper_80``, ``incycle_predicted_start_day``.
    """
    status = current_cycle.set_index("woman_id")
    by_woman = dict(tuple(details.sort_values(KEYS).groupby("woman_id")))
    rows = []
    for woman in next_cycle_base["woman_id"]:
        now = status.loc[woman] if woman in status.index else pd.Series(dtype=float)
        rows.append(
            forecast_current_cycle(
                incycle_state,
                by_woman[woman],
                days_since_start=now.get("days_since_start"),
                ovulation_day=now.get("ovulation_day"),
            )
        )
    fields = pd.DataFrame(rows, index=next_cycle_base.index)
    return pd.concat([next_cycle_base, fields], axis=1)
