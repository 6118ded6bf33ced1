"""Statistics outputs as text: the results table in markdown and the MLflow metrics dict."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.tables import markdown_table, mlflow_metrics

from .inference import WOMAN_LEVEL

logger = logging.getLogger(__name__)

_STAT_NAMES = {
    "pearson": "pearson_r",
    "spearman": "spearman_rho",
    "student_t": "student_t",
    "welch_t": "welch_t",
    "mann_whitney_u": "mann_whitney_u",
}


# --------------------------------------------------------------------------- reporting
def format_results_markdown(results: pd.DataFrame, cohort: dict[str, Any]) -> str:
    """Render the results table as a GitHub-flavoured markdown document."""
    shown = results.assign(
        n=results.apply(_n_text, axis=1),
        effect=results["effect_name"].fillna("") + " = " + results["effect_size"].map(_num),
        ci=results.apply(
            lambda r: f"[{_num(r.ci_low)}, {_num(r.ci_high)}] ({r.ci_method})", axis=1
        ),
    )
    columns = {"analysis": "analysis", "label": "comparison", "test": "test", "n": "n",
               "statistic": "statistic", "p": "p", "q_bh": "q (BH)", "effect": "effect", "ci": "CI",
               "note": "note"}  # fmt: skip
    table = pd.DataFrame(
        {
            title: shown[c].map(_num) if c in ("statistic", "p", "q_bh") else shown[c]
            for c, title in columns.items()
        }
    )
    n_hypotheses = results.drop_duplicates(["analysis", "test", "variable"])["p"].notna().sum()
    lines = [
        f"# {cohort['title']}: steps vs hormones",
        "",
        f"Benjamini-Hochberg over {n_hypotheses} "
        "hypotheses; q <= alpha marks a discovery. CIs at the confidence level in the CSV.",
        "",
        markdown_table(table, _cell),
    ]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    text = str(value)
    return "" if text == "nan" else text


def _n_text(row: pd.Series) -> str:
    if pd.notna(row["n_group1"]):
        return f"{int(row['n_group1'])} vs {int(row['n_group2'])}"
    return f"{int(row['n'])}"


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f"{value:.3g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4f}"


def build_statistics_metrics(
    results: pd.DataFrame, women: pd.DataFrame, activity: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """MLflow metrics ``{key: {"value": v, "step": 0}}``: r, rho, t, U, p, q, effect sizes, CIs, n.

    Woman-level keys have no prefix (``pearson_r_steps_p4``), phase keys start with the phase
    (``luteal.cohen_d_p4``); the catalog adds the cohort prefix. NaN values are skipped.
    """
    groups = women["activity_group"]
    metrics: dict[str, float] = {
        "n_women": float(len(women)),
        "n_high_activity": float((groups == activity["high_label"]).sum()),
        "n_low_activity": float((groups == activity["low_label"]).sum()),
        "threshold_steps": float(activity["threshold_steps"]),
    }
    for row in results.itertuples(index=False):
        for key, value in _row_metrics(row).items():
            if key in metrics and not np.isclose(metrics[key], value, equal_nan=True):
                raise ValueError(f"metric key {key!r} would be logged twice with different values")
            metrics[key] = value
    kept = mlflow_metrics(metrics)
    if len(kept) < len(metrics):
        logger.warning("%d NaN metrics not logged", len(metrics) - len(kept))
    return kept


def _row_metrics(row: Any) -> dict[str, float]:
    phase = "" if row.analysis == WOMAN_LEVEL else f"{row.analysis.removeprefix('phase_')}."
    var = row.variable.replace("_vs_", "_")
    boot = "boot_" if row.ci_method.startswith("bootstrap") and row.test == "pearson" else ""
    effect = row.effect_name if row.effect_name not in ("r", "rho") else row.test
    out = {
        f"{phase}{effect}_{boot}ci_low_{var}": row.ci_low,
        f"{phase}{effect}_{boot}ci_high_{var}": row.ci_high,
    }
    if not boot:
        out |= {f"{phase}{_STAT_NAMES[row.test]}_{var}": row.statistic, f"{phase}{row.test}_p_{var}": row.p,
                f"{phase}{row.test}_q_{var}": row.q_bh}  # fmt: skip
        if effect != row.test:
            out[f"{phase}{effect}_{var}"] = row.effect_size
    return out
