"""Statistics inference: physical activity (daily steps) versus estradiol (E2) and progesterone (P4).

On the woman-level table of :mod:`.cohort` (one row per woman, her means overall and per phase, her
activity group):

* Pearson r (p-value, 95% CI by Fisher z and by a seeded percentile bootstrap over women) and
  Spearman rho (CI by Fisher z with the Bonett-Wright variance) for steps vs each hormone, at the
  woman level and per phase;
* Student t (effect: Cohen's d), Welch t (effect: Hedges' g) and Mann-Whitney U (effect:
  rank-biserial correlation) for each hormone, high vs low activity;
* Benjamini-Hochberg over the whole family of hypotheses (raw ``p`` and ``q_bh`` are both reported).

Test statistics and p-values are scipy's (``pearsonr``, ``spearmanr``, ``ttest_ind``,
``mannwhitneyu``, ``false_discovery_control``); intervals and effect sizes are in :mod:`.intervals`.

Degenerate input never crashes: a test that cannot be computed (fewer than ``min_n`` complete
pairs, a group with fewer than 2 women, a constant column) gives a row whose numbers are NaN, whose
``note`` says why, and a logged warning; NaN p-values are left out of the BH family.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .cohort import HORMONES
from .intervals import (
    bootstrap_pearson_ci,
    bootstrap_rank_biserial_ci,
    cohens_d,
    cohens_d_ci,
    fisher_ci,
    hedges_j,
)

logger = logging.getLogger(__name__)

WOMAN_LEVEL = "woman_level"
RESULT_COLUMNS = [
    "analysis", "test", "variable", "label", "group1", "group2", "n_group1", "n_group2", "n",
    "statistic", "p", "q_bh", "reject_bh", "effect_size", "effect_name", "ci_low", "ci_high",
    "ci_method", "confidence_level", "mean_group1", "mean_group2", "note",
]  # fmt: skip


# --------------------------------------------------------------------------- correlations
def correlate_steps_hormones(
    women: pd.DataFrame, phases: dict[str, Any], inference: dict[str, Any], labels: dict[str, str]
) -> pd.DataFrame:
    """Pearson (Fisher z and bootstrap CIs) and Spearman, steps vs each hormone, woman level and per phase."""
    rng = np.random.default_rng(inference["seed"])
    rows = []
    for analysis, suffix in _analyses(women, phases):
        for hormone in HORMONES:
            x, y = women[f"steps{suffix}"], women[f"{hormone}{suffix}"]
            base = {
                "analysis": analysis,
                "variable": f"steps_vs_{hormone}",
                "label": f"{labels['steps']} vs {labels[hormone]}",
            }
            rows.extend(
                _correlation_rows(x.to_numpy(float), y.to_numpy(float), base, inference, rng)
            )
    return pd.DataFrame(rows)


def _analyses(women: pd.DataFrame, phases: dict[str, Any]) -> list[tuple[str, str]]:
    found = [(f"phase_{p}", f"_{p}") for p in phases["analyse"] if f"steps_{p}" in women]
    return [(WOMAN_LEVEL, ""), *found]


def complete_pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


# (test, effect_name, ci_method) of the rows each analysis reports, in order
_CORRELATION_ROWS = (
    ("pearson", "r", "fisher_z"),
    ("pearson", "r", "bootstrap_percentile"),
    ("spearman", "rho", "fisher_z_bonett_wright"),
)
_GROUP_ROWS = (
    ("student_t", "cohen_d", "noncentral_t"),
    ("welch_t", "hedges_g", "noncentral_t_times_j"),
    ("mann_whitney_u", "rank_biserial", "bootstrap_percentile"),
)


def _nan_rows(common: dict[str, Any], problem: str, rows: tuple) -> list[dict[str, Any]]:
    """The analysis's result rows with NaN statistics and the reason in ``note`` (logged once)."""
    logger.warning("%s %s: %s; reported as NaN", common["analysis"], common["variable"], problem)
    return [
        {**common, "test": t, "effect_name": e, "ci_method": m, "note": problem} for t, e, m in rows
    ]


def correlation_problem(x: np.ndarray, y: np.ndarray, min_n: int) -> str | None:
    if len(x) < max(min_n, 3):
        return f"n={len(x)} complete pairs < {max(min_n, 3)}"
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return "constant input: correlation undefined"
    return None


def _correlation_rows(
    x: np.ndarray,
    y: np.ndarray,
    base: dict[str, Any],
    inference: dict[str, Any],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    x, y = complete_pairs(x, y)
    level = inference["confidence_level"]
    common = {**base, "n": len(x), "confidence_level": level}
    problem = correlation_problem(x, y, inference["min_n"])
    if problem:
        return _nan_rows(common, problem, _CORRELATION_ROWS)
    pearson = stats.pearsonr(x, y)
    fisher = pearson.confidence_interval(confidence_level=level)
    boot_low, boot_high = bootstrap_pearson_ci(x, y, level, inference["n_boot"], rng)
    spearman = stats.spearmanr(x, y)
    rho = float(spearman.statistic)
    sp_low, sp_high = fisher_ci(rho, len(x), level, variance=1 + rho**2 / 2)
    r, p = float(pearson.statistic), float(pearson.pvalue)
    return [
        {**common, "test": "pearson", "statistic": r, "p": p, "effect_size": r, "effect_name": "r",
         "ci_low": float(fisher.low), "ci_high": float(fisher.high), "ci_method": "fisher_z"},
        {**common, "test": "pearson", "statistic": r, "p": p, "effect_size": r, "effect_name": "r",
         "ci_low": boot_low, "ci_high": boot_high, "ci_method": "bootstrap_percentile"},
        {**common, "test": "spearman", "statistic": rho, "p": float(spearman.pvalue), "effect_size": rho,
         "effect_name": "rho", "ci_low": sp_low, "ci_high": sp_high, "ci_method": "fisher_z_bonett_wright"},
    ]  # fmt: skip


# --------------------------------------------------------------------------- group comparisons
def compare_activity_groups(
    women: pd.DataFrame,
    activity: dict[str, Any],
    phases: dict[str, Any],
    inference: dict[str, Any],
    labels: dict[str, str],
) -> pd.DataFrame:
    """Student t, Welch t and Mann-Whitney U for each hormone, high vs low activity (per woman, per phase)."""
    rng = np.random.default_rng(inference["seed"] + 1)
    high = women["activity_group"] == activity["high_label"]
    low = women["activity_group"] == activity["low_label"]
    rows = []
    for analysis, suffix in _analyses(women, phases):
        for hormone in HORMONES:
            column = women[f"{hormone}{suffix}"]
            x, y = column[high].dropna().to_numpy(float), column[low].dropna().to_numpy(float)
            base = {
                "analysis": analysis,
                "variable": hormone,
                "label": labels[hormone],
                "group1": activity["high_label"],
                "group2": activity["low_label"],
            }
            rows.extend(_group_rows(x, y, base, inference, rng))
    return pd.DataFrame(rows)


def _group_problem(x: np.ndarray, y: np.ndarray, base: dict[str, Any]) -> str | None:
    for name, values in ((base["group1"], x), (base["group2"], y)):
        if len(values) < 2:
            return f"group '{name}' has n={len(values)} < 2"
    if np.ptp(np.concatenate([x, y])) == 0:
        return "constant input: zero variance in both groups"
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return "zero variance within both groups"
    return None


def _group_rows(
    x: np.ndarray,
    y: np.ndarray,
    base: dict[str, Any],
    inference: dict[str, Any],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    level = inference["confidence_level"]
    common = {**base, "n_group1": len(x), "n_group2": len(y), "n": len(x) + len(y), "confidence_level": level,
              "mean_group1": x.mean() if len(x) else np.nan, "mean_group2": y.mean() if len(y) else np.nan}  # fmt: skip
    problem = _group_problem(x, y, base)
    if problem:
        return _nan_rows(common, problem, _GROUP_ROWS)
    student = stats.ttest_ind(x, y, equal_var=True)
    welch = stats.ttest_ind(x, y, equal_var=False)
    mwu = stats.mannwhitneyu(x, y, alternative="two-sided")
    d, (d_low, d_high) = (
        cohens_d(x, y),
        cohens_d_ci(float(student.statistic), len(x), len(y), level),
    )
    j = hedges_j(len(x) + len(y) - 2)
    rank_biserial = 2 * float(mwu.statistic) / (len(x) * len(y)) - 1
    rb_low, rb_high = bootstrap_rank_biserial_ci(x, y, level, inference["n_boot"], rng)
    return [
        {**common, "test": "student_t", "statistic": float(student.statistic), "p": float(student.pvalue),
         "effect_size": d, "effect_name": "cohen_d", "ci_low": d_low, "ci_high": d_high, "ci_method": "noncentral_t"},
        {**common, "test": "welch_t", "statistic": float(welch.statistic), "p": float(welch.pvalue),
         "effect_size": j * d, "effect_name": "hedges_g", "ci_low": j * d_low, "ci_high": j * d_high,
         "ci_method": "noncentral_t_times_j"},
        {**common, "test": "mann_whitney_u", "statistic": float(mwu.statistic), "p": float(mwu.pvalue),
         "effect_size": rank_biserial, "effect_name": "rank_biserial", "ci_low": rb_low, "ci_high": rb_high,
         "ci_method": "bootstrap_percentile"},
    ]  # fmt: skip


# --------------------------------------------------------------------------- multiplicity
def adjust_for_multiplicity(
    correlations: pd.DataFrame, group_tests: pd.DataFrame, inference: dict[str, Any]
) -> pd.DataFrame:
    """Join all results and add Benjamini-Hochberg q-values over the family of distinct hypotheses.

    A hypothesis is one (analysis, test, variable); the Fisher-z and bootstrap rows of a Pearson
    test share it. Hypotheses with a NaN p-value are left out of the family (``q_bh`` NaN).
    """
    results = pd.concat([correlations, group_tests], ignore_index=True)
    results = results.reindex(columns=RESULT_COLUMNS)
    keys = ["analysis", "test", "variable"]
    family = results.drop_duplicates(keys).dropna(subset=["p"])[[*keys, "p"]]
    if family.empty:
        logger.warning("no test could be computed; every p and q is NaN")
        family = family.assign(q_bh=pd.Series(dtype=float))
    else:
        family = family.assign(
            q_bh=stats.false_discovery_control(family["p"].to_numpy(), method="bh")
        )
    results = results.drop(columns="q_bh").merge(family[[*keys, "q_bh"]], on=keys, how="left")
    results["reject_bh"] = results["q_bh"] <= inference["alpha"]
    logger.info(
        "BH family: %d hypotheses, %d rejected at q <= %s",
        len(family),
        int((family["q_bh"] <= inference["alpha"]).sum()),
        inference["alpha"],
    )
    return results[RESULT_COLUMNS]
