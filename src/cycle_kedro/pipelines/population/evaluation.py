"""Scoring nodes of the ``population`` pipeline: the last-cycle evaluation table and the skip flags."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cycle_kedro.cycles.metrics import interval_coverage, regression_metrics
from cycle_kedro.tables import mlflow_metrics

from . import engine

logger = logging.getLogger(__name__)


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
    metrics = mlflow_metrics(
        {
            f"population.{cohort}.{r.handling}.{r.model}.{r.subset}.{m}": getattr(r, m)
            for r in table.itertuples(index=False)
            for m in ("n_users", "start_mae_days", "start_rmse_days", "coverage80")
        }
    )
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
    metrics = mlflow_metrics(
        {
            f"population.app.skip_flags.{m}": best[m]
            for m in ("precision", "recall", "n_true_skips", "n_flagged")
        }
    )
    logger.info(
        "Skip flags vs truth: precision %.3f, recall %.3f", best["precision"], best["recall"]
    )
    return table, metrics
