"""Scoring nodes of the ``population`` pipeline: the last-cycle evaluation table and the skip flags."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cycle_kedro.cycles.adherence import gap_skip_probabilities
from cycle_kedro.cycles.metrics import interval_coverage, regression_metrics
from cycle_kedro.tables import mlflow_metrics

from . import engine
from .as_of import held_out_users

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


def _detection_row(flag: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    tp = int((flag & actual).sum())
    precision = tp / flag.sum() if flag.sum() else np.nan
    recall = tp / actual.sum() if actual.sum() else np.nan
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "n_gaps": len(flag),
        "n_true_skips": int(actual.sum()),
        "n_flagged": int(flag.sum()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def score_posterior_skips(
    cycles: pd.DataFrame, model: dict, truth: pd.DataFrame, detection: dict, adherence: dict
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, float]]]:
    """Skip detection from the skip-aware posterior (``P(s >= 1) >= threshold``) beside the tolerance rule.

    Precision, recall and F1 against the planted truth on training and test users
    (:func:`.as_of.held_out_users`); the default detector is the one with the higher F1 on the
    *training* users (ties: the tolerance rule), a rule fixed in ``population.skip_detection``.
    Calibration: per bin of ``P(s >= 1)``, the mean probability and the share of true skips
    (test users).
    """
    c = engine.compute(cycles)
    p = gap_skip_probabilities(c, model).merge(
        c[["user_id", "cycle_start", "skip_flag"]], on=["user_id", "cycle_start"]
    )
    p = p.merge(truth[["user_id", "cycle_start", "n_missed"]], on=["user_id", "cycle_start"])
    if p.empty:
        raise ValueError("posterior skip scoring: no cycle matches the truth (synthetic log?)")
    actual = (p["n_missed"] > 0).to_numpy()
    test = held_out_users(p["user_id"], adherence).to_numpy()
    flags = {
        "posterior": (p["p_skip"] >= float(detection["threshold"])).to_numpy(),
        "tolerance": p["skip_flag"].to_numpy(dtype=bool),
    }
    rows = [
        {"detector": name, "users": users} | _detection_row(flag[sel], actual[sel])
        for name, flag in flags.items()
        for users, sel in (("train", ~test), ("test", test))
    ]
    table = pd.DataFrame(rows)
    train_f1 = table[table["users"] == "train"].set_index("detector")["f1"]
    default = "posterior" if train_f1["posterior"] > train_f1["tolerance"] else "tolerance"
    table["default"] = table["detector"] == default
    bins = np.linspace(0.0, 1.0, int(detection["calibration_bins"]) + 1)
    t = p[test].assign(
        actual=actual[test], bin=pd.cut(p.loc[test, "p_skip"], bins, include_lowest=True)
    )
    calibration = (
        t.groupby("bin", observed=True)
        .agg(
            n_gaps=("actual", "size"),
            mean_p_skip=("p_skip", "mean"),
            share_skips=("actual", "mean"),
        )
        .reset_index()
        .assign(bin=lambda d: d["bin"].astype(str))
    )
    metrics = mlflow_metrics(
        {
            f"population.app.skip_detection.{r.detector}.{r.users}.{m}": getattr(r, m)
            for r in table.itertuples(index=False)
            for m in ("precision", "recall", "f1")
        }
    )
    logger.info("Skip detection default (F1 on training users %s): %s", train_f1.to_dict(), default)
    return table, calibration, metrics
