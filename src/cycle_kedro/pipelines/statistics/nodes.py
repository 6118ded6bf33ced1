"""Statistics: physical activity (daily steps) versus estradiol (E2) and progesterone (P4).

The unit of analysis is the woman: a DAILY table is reduced to per-woman means (overall and per cycle
phase), women are split into an activity group by their mean daily steps (``>= threshold`` is
"high"), and then

* Pearson r (p-value, 95% CI by Fisher z and by a seeded percentile bootstrap over women) and
  Spearman rho (CI by Fisher z with the Bonett-Wright variance) for steps vs each hormone, at the
  woman level and per phase;
* Student t (effect: Cohen's d), Welch t (effect: Hedges' g) and Mann-Whitney U (effect:
  rank-biserial correlation) for each hormone, high vs low activity;
* Benjamini-Hochberg over the whole family of hypotheses (raw ``p`` and ``q_bh`` are both reported).

Test statistics and p-values are scipy's (``pearsonr``, ``spearmanr``, ``ttest_ind``,
``mannwhitneyu``, ``false_discovery_control``). CIs for d use the noncentral t distribution
(Steiger & Fouladi); g is d times the exact small-sample factor J and its CI is J times d's.

Degenerate input never crashes: a test that cannot be computed (fewer than ``min_n`` complete
pairs, a group with fewer than 2 women, a constant column) gives a row whose numbers are NaN, whose
``note`` says why, and a logged warning; NaN p-values are left out of the BH family. A DAILY table
that is empty or breaks the schema raises :class:`cycle_kedro.validation.DataValidationError`
naming the dataset.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from cycle_kedro import schemas
from cycle_kedro.validation import DataValidationError, validate

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

HORMONES = ("e2", "p4")
WOMAN_LEVEL = "woman_level"
RESULT_COLUMNS = [
    "analysis", "test", "variable", "label", "group1", "group2", "n_group1", "n_group2", "n",
    "statistic", "p", "q_bh", "reject_bh", "effect_size", "effect_name", "ci_low", "ci_high",
    "ci_method", "confidence_level", "mean_group1", "mean_group2", "note",
]  # fmt: skip
_STAT_NAMES = {
    "pearson": "pearson_r",
    "spearman": "spearman_rho",
    "student_t": "student_t",
    "welch_t": "welch_t",
    "mann_whitney_u": "mann_whitney_u",
}


# --------------------------------------------------------------------------- woman-level table
def aggregate_women(
    daily: pd.DataFrame, cohort: dict[str, Any], activity: dict[str, Any], phases: dict[str, Any]
) -> pd.DataFrame:
    """Reduce a DAILY table to one row per woman with her means and her activity group.

    Columns: ``woman_id, n_days, n_cycles, age, bmi, cycle_length, steps, e2, p4``, then
    ``steps_<phase>, e2_<phase>, p4_<phase>`` for each phase in ``phases["analyse"]`` present in
    the data, and ``activity_group`` (``activity["high_label"]`` when mean steps >= threshold).
    ``cycle_length`` is the mean of the ``cycle_length`` column when the table has one, otherwise
    of the last ``cycle_day`` of each cycle followed by another (the last cycle may be censored).
    """
    source = cohort.get("dataset", "daily")
    if len(daily) == 0:
        raise DataValidationError(f"{source}: the table has no rows; nothing to analyse")
    daily = validate(daily, schemas.DAILY, source=source)
    grouped = daily.groupby("woman_id", sort=True)
    women = grouped.agg(
        n_days=("cycle_day", "size"),
        n_cycles=("cycle_index", "nunique"),
        age=("age", "mean"),
        bmi=("bmi", "mean"),
        steps=("steps", "mean"),
        e2=("e2", "mean"),
        p4=("p4", "mean"),
    )
    women.insert(4, "cycle_length", _cycle_lengths(daily))
    for phase in phases["analyse"]:
        in_phase = daily[daily["phase"] == phase]
        if in_phase.empty:
            logger.warning("%s: no days in phase %r; per-phase analysis skipped", source, phase)
            continue
        means = in_phase.groupby("woman_id")[["steps", *HORMONES]].mean()
        women = women.join(means.add_suffix(f"_{phase}"))
    women["activity_group"] = _activity_groups(women["steps"], activity)
    logger.info(
        "%s: %d women, groups %s",
        source,
        len(women),
        women["activity_group"].value_counts().to_dict(),
    )
    return women.reset_index()


def _cycle_lengths(daily: pd.DataFrame) -> pd.Series:
    keys = ["woman_id", "cycle_index"]
    if "cycle_length" in daily:
        per_cycle = daily.groupby(keys, as_index=False)["cycle_length"].first()
    else:
        per_cycle = (
            daily.groupby(keys, as_index=False)["cycle_day"]
            .max()
            .rename(columns={"cycle_day": "cycle_length"})
        )
        last = per_cycle.groupby("woman_id")["cycle_index"].transform("max")
        per_cycle = per_cycle[per_cycle["cycle_index"] < last]
    return per_cycle.groupby("woman_id")["cycle_length"].mean().astype(float)


def _activity_groups(steps: pd.Series, activity: dict[str, Any]) -> pd.Series:
    high = steps >= activity["threshold_steps"]
    groups = np.where(high, activity["high_label"], activity["low_label"])
    return pd.Series(groups, index=steps.index).where(steps.notna())


# --------------------------------------------------------------------------- descriptive table
def describe_cohort(
    women: pd.DataFrame, activity: dict[str, Any], labels: dict[str, str]
) -> pd.DataFrame:
    """Descriptive table by activity group and overall: n, mean, SD, median, Q1, Q3, IQR per variable."""
    variables = [
        v for v in ("age", "bmi", "cycle_length", "steps", *HORMONES) if women[v].notna().any()
    ]
    groups = [
        (activity["high_label"], women[women["activity_group"] == activity["high_label"]]),
        (activity["low_label"], women[women["activity_group"] == activity["low_label"]]),
        ("all", women),
    ]
    rows = []
    for variable in variables:
        for group, part in groups:
            values = part[variable].dropna()
            q1, median, q3 = values.quantile([0.25, 0.5, 0.75]) if len(values) else [np.nan] * 3
            rows.append(
                {
                    "variable": variable,
                    "label": labels.get(variable, variable),
                    "group": group,
                    "n": len(values),
                    "mean": values.mean(),
                    "sd": values.std(ddof=1),
                    "median": median,
                    "q1": q1,
                    "q3": q3,
                    "iqr": q3 - q1,
                }
            )
    return pd.DataFrame(rows)


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


def _complete_pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _correlation_problem(x: np.ndarray, y: np.ndarray, min_n: int) -> str | None:
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
    x, y = _complete_pairs(x, y)
    level = inference["confidence_level"]
    common = {**base, "n": len(x), "confidence_level": level}
    problem = _correlation_problem(x, y, inference["min_n"])
    if problem:
        return _nan_rows(common, problem, _CORRELATION_ROWS)
    pearson = stats.pearsonr(x, y)
    fisher = pearson.confidence_interval(confidence_level=level)
    boot_low, boot_high = _bootstrap_pearson_ci(x, y, level, inference["n_boot"], rng)
    spearman = stats.spearmanr(x, y)
    rho = float(spearman.statistic)
    sp_low, sp_high = _fisher_ci(rho, len(x), level, variance=1 + rho**2 / 2)
    r, p = float(pearson.statistic), float(pearson.pvalue)
    return [
        {**common, "test": "pearson", "statistic": r, "p": p, "effect_size": r, "effect_name": "r",
         "ci_low": float(fisher.low), "ci_high": float(fisher.high), "ci_method": "fisher_z"},
        {**common, "test": "pearson", "statistic": r, "p": p, "effect_size": r, "effect_name": "r",
         "ci_low": boot_low, "ci_high": boot_high, "ci_method": "bootstrap_percentile"},
        {**common, "test": "spearman", "statistic": rho, "p": float(spearman.pvalue), "effect_size": rho,
         "effect_name": "rho", "ci_low": sp_low, "ci_high": sp_high, "ci_method": "fisher_z_bonett_wright"},
    ]  # fmt: skip


def _fisher_ci(r: float, n: int, level: float, variance: float = 1.0) -> tuple[float, float]:
    """Fisher z interval for a correlation; ``variance`` is 1 for Pearson, 1 + rho^2/2 for Spearman."""
    if n <= 3:
        return -1.0, 1.0
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(variance / (n - 3))
    z = np.arctanh(r)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def _bootstrap_pearson_ci(
    x: np.ndarray, y: np.ndarray, level: float, n_boot: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile bootstrap CI of Pearson r, resampling (x, y) pairs; degenerate resamples dropped."""
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    xb, yb = x[idx], y[idx]
    xc = xb - xb.mean(axis=1, keepdims=True)
    yc = yb - yb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=1) / np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    r = r[np.isfinite(r)]
    if len(r) < n_boot:
        logger.warning(
            "bootstrap: %d of %d resamples were constant and dropped", n_boot - len(r), n_boot
        )
    if len(r) == 0:
        return np.nan, np.nan
    alpha = 1 - level
    low, high = np.quantile(r, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


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
    rb_low, rb_high = _bootstrap_rank_biserial_ci(x, y, level, inference["n_boot"], rng)
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


def cohens_d(x: np.ndarray, y: np.ndarray) -> float:
    """Cohen's d: difference of means over the pooled SD (ddof=1 in each group)."""
    n1, n2 = len(x), len(y)
    pooled = ((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2)
    return float((x.mean() - y.mean()) / np.sqrt(pooled))


def hedges_j(df: int) -> float:
    """Exact small-sample correction J(df) = Γ(df/2) / (sqrt(df/2) Γ((df-1)/2)), so g = J d."""
    return float(np.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / np.sqrt(df / 2))


def cohens_d_ci(t: float, n1: int, n2: int, level: float) -> tuple[float, float]:
    """CI for Cohen's d by inverting the noncentral t distribution of Student's t (Steiger & Fouladi).

    Falls back to the normal approximation of Hedges & Olkin (with a warning) if the noncentral t
    cannot be bracketed numerically (scipy's ``nct.cdf`` returns NaN far in its tails).
    """
    df, scale = n1 + n2 - 2, np.sqrt(1 / n1 + 1 / n2)
    alpha = 1 - level
    bounds = [_noncentrality_for(t, df, prob) for prob in (1 - alpha / 2, alpha / 2)]
    if all(np.isfinite(bounds)):
        return float(bounds[0] * scale), float(bounds[1] * scale)
    d = t * scale
    se = np.sqrt((n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2)))
    half = stats.norm.ppf(1 - alpha / 2) * se
    logger.warning("noncentral t CI for d failed (t=%.3g, df=%d); normal approximation used", t, df)
    return float(d - half), float(d + half)


def _noncentrality_for(t: float, df: int, prob: float) -> float:
    """The noncentrality parameter with ``nct.cdf(t, df, ncp) == prob`` (NaN if not bracketed)."""

    def gap(ncp: float) -> float:
        return float(stats.nct.cdf(t, df, ncp)) - prob

    width = 3 * np.sqrt(1 + t**2 / (2 * df)) + 0.5
    for _ in range(12):
        low, high = gap(t - width), gap(t + width)
        if low >= 0 >= high:
            return optimize.brentq(gap, t - width, t + width, xtol=1e-12)
        width *= 1.5
    return np.nan


def _bootstrap_rank_biserial_ci(
    x: np.ndarray, y: np.ndarray, level: float, n_boot: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile bootstrap CI of the rank-biserial correlation, resampling within each group."""
    wins = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    estimates = np.empty(n_boot)
    chunk = max(1, 2_000_000 // wins.size)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        ix = rng.integers(0, len(x), size=(size, len(x)))
        iy = rng.integers(0, len(y), size=(size, len(y)))
        u = wins[ix[:, :, None], iy[:, None, :]].sum(axis=(1, 2))
        estimates[start : start + size] = 2 * u / (len(x) * len(y)) - 1
    alpha = 1 - level
    low, high = np.quantile(estimates, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


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
    lines = [
        f"# {cohort['title']}: steps vs hormones",
        "",
        f"Benjamini-Hochberg over {results.drop_duplicates(['analysis', 'test', 'variable'])['p'].notna().sum()} "
        "hypotheses; q <= alpha marks a discovery. CIs at the confidence level in the CSV.",
        "",
        "| " + " | ".join(columns.values()) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in shown.itertuples(index=False):
        cells = [
            _num(getattr(row, c)) if c in ("statistic", "p", "q_bh") else str(getattr(row, c))
            for c in columns
        ]
        lines.append("| " + " | ".join("" if c == "nan" else c for c in cells) + " |")
    return "\n".join(lines) + "\n"


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
    kept = {k: {"value": float(v), "step": 0} for k, v in metrics.items() if np.isfinite(v)}
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


# --------------------------------------------------------------------------- figures
def _new_figure(n_panels: int, width: float = 5.0, height: float = 4.2) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(width * n_panels, height), layout="constrained")
    return fig, fig.subplots(1, n_panels, squeeze=False)[0]


def plot_steps_hormone_scatter(
    women: pd.DataFrame,
    results: pd.DataFrame,
    activity: dict[str, Any],
    labels: dict[str, str],
    cohort: dict[str, Any],
) -> Figure:
    """Scatter of mean steps vs each hormone with the OLS line and its 95% confidence band."""
    fig, axes = _new_figure(len(HORMONES))
    for ax, hormone in zip(axes, HORMONES, strict=True):
        x, y = _complete_pairs(women["steps"].to_numpy(float), women[hormone].to_numpy(float))
        high = x >= activity["threshold_steps"]
        ax.scatter(x[high], y[high], s=18, alpha=0.7, label=activity["high_label"])
        ax.scatter(x[~high], y[~high], s=18, alpha=0.7, label=activity["low_label"])
        if _correlation_problem(x, y, 3) is None:
            grid, fit, low, high_band = _ols_band(
                x, y, level=float(results["confidence_level"].dropna().iloc[0])
            )
            ax.plot(grid, fit, color="black", lw=1.5)
            ax.fill_between(
                grid, low, high_band, color="grey", alpha=0.3, label="95% CI of the mean"
            )
        ax.axvline(activity["threshold_steps"], color="grey", ls=":", lw=1)
        ax.set(
            xlabel=labels["steps"],
            ylabel=labels[hormone],
            title=_scatter_title(results, hormone, labels),
        )
        ax.legend(fontsize=8)
    fig.suptitle(f"{cohort['title']}: per-woman means (n = {len(women)})")
    return fig


def _ols_band(x: np.ndarray, y: np.ndarray, level: float) -> tuple[np.ndarray, ...]:
    """OLS fit on a grid with the t-based confidence band of the mean response."""
    n = len(x)
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    s = np.sqrt(resid @ resid / (n - 2))
    grid = np.linspace(x.min(), x.max(), 100)
    se = s * np.sqrt(1 / n + (grid - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
    fit, half = intercept + slope * grid, stats.t.ppf(0.5 + level / 2, n - 2) * se
    return grid, fit, fit - half, fit + half


def _scatter_title(results: pd.DataFrame, hormone: str, labels: dict[str, str]) -> str:
    row = results[(results["analysis"] == WOMAN_LEVEL) & (results["test"] == "pearson")
                  & (results["variable"] == f"steps_vs_{hormone}") & (results["ci_method"] == "fisher_z")]  # fmt: skip
    if row.empty or pd.isna(row["statistic"].iloc[0]):
        return f"{labels[hormone]}: r not computable"
    r = row.iloc[0]
    return (
        f"{labels[hormone]}: r = {r.statistic:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}], p = {r.p:.3g}"
    )


def plot_hormones_by_activity(
    women: pd.DataFrame,
    results: pd.DataFrame,
    activity: dict[str, Any],
    labels: dict[str, str],
    cohort: dict[str, Any],
) -> Figure:
    """Violin and box plots of each hormone by activity group, with the women as jittered points."""
    fig, axes = _new_figure(len(HORMONES), width=4.5)
    groups = [activity["high_label"], activity["low_label"]]
    rng = np.random.default_rng(0)
    for ax, hormone in zip(axes, HORMONES, strict=True):
        data = [
            women.loc[women["activity_group"] == g, hormone].dropna().to_numpy(float)
            for g in groups
        ]
        present = [i for i, d in enumerate(data) if len(d)]
        if present:
            ax.violinplot(
                [data[i] for i in present], positions=[i + 1 for i in present], showextrema=False
            )
            ax.boxplot(
                [data[i] for i in present],
                positions=[i + 1 for i in present],
                widths=0.15,
                showfliers=False,
            )
        for i in present:
            ax.scatter(
                i + 1 + rng.uniform(-0.08, 0.08, len(data[i])),
                data[i],
                s=8,
                alpha=0.5,
                color="black",
            )
        ax.set_xticks([1, 2], [f"{g}\n(n = {len(d)})" for g, d in zip(groups, data, strict=True)])
        ax.set(ylabel=labels[hormone], title=_group_title(results, hormone, labels))
    fig.suptitle(
        f"{cohort['title']}: hormones by activity group (threshold {activity['threshold_steps']:,} steps/day)"
    )
    return fig


def _group_title(results: pd.DataFrame, hormone: str, labels: dict[str, str]) -> str:
    row = results[
        (results["analysis"] == WOMAN_LEVEL)
        & (results["test"] == "welch_t")
        & (results["variable"] == hormone)
    ]
    if row.empty or pd.isna(row["p"].iloc[0]):
        return f"{labels[hormone]}: test not computable"
    r = row.iloc[0]
    return f"{labels[hormone]}: Welch p = {r.p:.3g}, q = {r.q_bh:.3g}, g = {r.effect_size:.2f}"


def plot_correlation_heatmap(
    women: pd.DataFrame, labels: dict[str, str], cohort: dict[str, Any]
) -> Figure:
    """Heatmap of pairwise Pearson correlations between per-woman age, BMI, cycle length, steps, E2, P4."""
    variables = [
        v for v in ("age", "bmi", "cycle_length", "steps", *HORMONES) if women[v].nunique() > 1
    ]
    corr = women[variables].corr(method="pearson")
    fig, axes = _new_figure(1, width=6.0, height=5.2)
    ax = axes[0]
    image = ax.imshow(corr.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
    names = [labels.get(v, v) for v in variables]
    ax.set_xticks(range(len(variables)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(variables)), names)
    for i in range(len(variables)):
        for j in range(len(variables)):
            ax.text(j, i, f"{corr.iat[i, j]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="Pearson r")
    fig.suptitle(f"{cohort['title']}: per-woman correlations (n = {len(women)})")
    return fig
