"""Node tests: equality with scipy, CI behaviour, planted effects and degenerate input."""

from __future__ import annotations

import copy
import logging

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cycle_kedro.pipelines.ingestion.synthetic import generate_synthetic_cohort
from cycle_kedro.pipelines.statistics import cohort, inference, intervals, plots, tables
from cycle_kedro.validation import DataValidationError
from tests.conftest import load_params

from .conftest import make_daily, make_women

TOL = 1e-12


def _run_tests(daily: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    women = cohort.aggregate_women(daily, params["cohort"], params["activity"], params["phases"])
    correlations = inference.correlate_steps_hormones(
        women, params["phases"], params["inference"], params["labels"]
    )
    groups = inference.compare_activity_groups(
        women, params["activity"], params["phases"], params["inference"], params["labels"]
    )
    return women, inference.adjust_for_multiplicity(correlations, groups, params["inference"])


def _row(
    results: pd.DataFrame, analysis: str, test: str, variable: str, ci_method: str | None = None
) -> pd.Series:
    mask = (
        (results["analysis"] == analysis)
        & (results["test"] == test)
        & (results["variable"] == variable)
    )
    if ci_method:
        mask &= results["ci_method"] == ci_method
    assert mask.sum() == 1, (analysis, test, variable, ci_method)
    return results[mask].iloc[0]


# --------------------------------------------------------------------------- aggregation
def test_aggregate_women_recovers_levels_phases_and_groups(daily, women_levels, stats_params):
    women = cohort.aggregate_women(
        daily, stats_params["cohort"], stats_params["activity"], stats_params["phases"]
    )
    merged = women.merge(women_levels, on="woman_id", suffixes=("", "_true"))
    assert len(merged) == len(women_levels)
    for column in ("steps", "e2", "p4", "age", "bmi"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_true"], rtol=1e-12)
    follicular = daily[daily["phase"] == "follicular"].groupby("woman_id")["p4"].mean()
    np.testing.assert_allclose(women.set_index("woman_id")["p4_follicular"], follicular, rtol=1e-12)
    assert "steps_luteal" in women and "steps_menstrual" not in women
    high = merged["steps_true"] >= stats_params["activity"]["threshold_steps"]
    expected = np.where(
        high, stats_params["activity"]["high_label"], stats_params["activity"]["low_label"]
    )
    assert (merged["activity_group"] == expected).all()
    # 8 days per cycle, no cycle_length column: only the first (complete) cycle counts
    assert (women["cycle_length"] == 8).all()


def test_threshold_is_inclusive(stats_params):
    levels = make_women(6, rho=0.0, seed=1).assign(
        steps=[9999.0, 10000.0, 10001.0, 5000.0, 12000.0, 8000.0]
    )
    women = cohort.aggregate_women(
        make_daily(levels), stats_params["cohort"], stats_params["activity"], stats_params["phases"]
    )
    high = stats_params["activity"]["high_label"]
    groups = women.set_index("woman_id")["activity_group"].reindex(levels["woman_id"])
    assert (groups == high).tolist() == [False, True, True, False, True, False]


def test_cycle_length_column_is_used_when_present(daily, stats_params):
    daily = daily.assign(cycle_length=np.where(daily["cycle_index"] == 1, 27.0, 31.0))
    women = cohort.aggregate_women(
        daily, stats_params["cohort"], stats_params["activity"], stats_params["phases"]
    )
    assert (women["cycle_length"] == 29.0).all()


def test_empty_daily_raises_clear_error(daily, stats_params):
    with pytest.raises(DataValidationError, match="synthetic_daily: the table has no rows"):
        cohort.aggregate_women(
            daily.iloc[0:0],
            stats_params["cohort"],
            stats_params["activity"],
            stats_params["phases"],
        )


def test_bad_daily_names_dataset_column_and_row(daily, stats_params):
    daily.loc[5, "steps"] = -3.0
    with pytest.raises(DataValidationError, match=r"synthetic_daily: column 'steps', row 5"):
        cohort.aggregate_women(
            daily, stats_params["cohort"], stats_params["activity"], stats_params["phases"]
        )


def test_missing_phase_is_skipped_with_warning(daily, stats_params, caplog):
    daily = daily[daily["phase"] != "luteal"]
    with caplog.at_level(logging.WARNING):
        women = cohort.aggregate_women(
            daily, stats_params["cohort"], stats_params["activity"], stats_params["phases"]
        )
    assert "phase 'luteal'" in caplog.text
    assert "steps_luteal" not in women and "steps_follicular" in women


# --------------------------------------------------------------------------- descriptive table
def test_describe_cohort_matches_numpy(women_levels, daily, stats_params):
    women = cohort.aggregate_women(
        daily, stats_params["cohort"], stats_params["activity"], stats_params["phases"]
    )
    table = cohort.describe_cohort(women, stats_params["activity"], stats_params["labels"])
    low_label = stats_params["activity"]["low_label"]
    row = table[(table["variable"] == "p4") & (table["group"] == low_label)].iloc[0]
    values = women.loc[women["activity_group"] == low_label, "p4"].to_numpy()
    q1, q3 = np.percentile(values, [25, 75])
    assert row["n"] == len(values)
    assert row["mean"] == pytest.approx(values.mean(), rel=TOL)
    assert row["sd"] == pytest.approx(values.std(ddof=1), rel=TOL)
    assert row["median"] == pytest.approx(np.median(values), rel=TOL)
    assert row["iqr"] == pytest.approx(q3 - q1, rel=TOL)
    assert set(table["variable"]) == {"age", "bmi", "cycle_length", "steps", "e2", "p4"}
    assert table.groupby("variable")["n"].max().eq(len(women)).all()


# --------------------------------------------------------------------------- equality with scipy
def test_correlations_equal_scipy(daily, stats_params):
    women, results = _run_tests(daily, stats_params)
    for hormone in ("e2", "p4"):
        for analysis, suffix in (("woman_level", ""), ("phase_luteal", "_luteal")):
            x, y = women[f"steps{suffix}"].to_numpy(), women[f"{hormone}{suffix}"].to_numpy()
            pearson, spearman = stats.pearsonr(x, y), stats.spearmanr(x, y)
            ci = pearson.confidence_interval(0.95)
            row = _row(results, analysis, "pearson", f"steps_vs_{hormone}", "fisher_z")
            assert abs(row["statistic"] - pearson.statistic) < TOL
            assert abs(row["p"] - pearson.pvalue) < TOL
            assert abs(row["ci_low"] - ci.low) < TOL and abs(row["ci_high"] - ci.high) < TOL
            row = _row(results, analysis, "spearman", f"steps_vs_{hormone}")
            assert abs(row["statistic"] - spearman.statistic) < TOL
            assert abs(row["p"] - spearman.pvalue) < TOL
            assert row["ci_low"] < spearman.statistic < row["ci_high"]


def test_group_tests_equal_scipy(daily, stats_params):
    women, results = _run_tests(daily, stats_params)
    activity = stats_params["activity"]
    for hormone in ("e2", "p4"):
        x = women.loc[women["activity_group"] == activity["high_label"], hormone].to_numpy()
        y = women.loc[women["activity_group"] == activity["low_label"], hormone].to_numpy()
        student, welch = stats.ttest_ind(x, y), stats.ttest_ind(x, y, equal_var=False)
        mwu = stats.mannwhitneyu(x, y, alternative="two-sided")
        for test, expected in (("student_t", student), ("welch_t", welch), ("mann_whitney_u", mwu)):
            row = _row(results, "woman_level", test, hormone)
            assert abs(row["statistic"] - expected.statistic) < TOL * max(
                1, abs(expected.statistic)
            )
            assert abs(row["p"] - expected.pvalue) < TOL
            assert (row["n_group1"], row["n_group2"]) == (len(x), len(y))
        # Cohen's d from the identity d = t * sqrt(1/n1 + 1/n2); g ~ d (1 - 3 / (4 df - 1))
        d = _row(results, "woman_level", "student_t", hormone)
        assert d["effect_size"] == pytest.approx(
            student.statistic * np.sqrt(1 / len(x) + 1 / len(y)), rel=1e-12
        )
        g = _row(results, "woman_level", "welch_t", hormone)["effect_size"]
        assert g == pytest.approx(
            d["effect_size"] * (1 - 3 / (4 * (len(x) + len(y) - 2) - 1)), rel=1e-4
        )
        # rank-biserial by brute force over all pairs
        pairs = np.sign(x[:, None] - y[None, :]).mean()
        assert _row(results, "woman_level", "mann_whitney_u", hormone)[
            "effect_size"
        ] == pytest.approx(pairs, abs=TOL)


def test_bh_equals_scipy_false_discovery_control(daily, stats_params):
    _, results = _run_tests(daily, stats_params)
    family = results.drop_duplicates(["analysis", "test", "variable"])
    # (pearson, spearman) + 3 group tests, for 2 hormones in 3 analyses
    assert len(family) == 2 * 3 * 2 + 2 * 3 * 3
    expected = stats.false_discovery_control(family["p"].to_numpy(), method="bh")
    np.testing.assert_allclose(family["q_bh"].to_numpy(), expected, rtol=0, atol=TOL)
    # the two CI rows of a Pearson test share one hypothesis
    pearson = (
        results[results["test"] == "pearson"].groupby(["analysis", "variable"])["q_bh"].nunique()
    )
    assert (pearson == 1).all()
    assert (results["reject_bh"] == (results["q_bh"] <= stats_params["inference"]["alpha"])).all()


def test_bootstrap_ci_close_to_scipy_bootstrap(women_levels):
    x, y = women_levels["steps"].to_numpy(), women_levels["p4"].to_numpy()
    ours = intervals.bootstrap_pearson_ci(x, y, 0.95, 4000, np.random.default_rng(0))
    ref = stats.bootstrap(
        (x, y), lambda a, b: stats.pearsonr(a, b).statistic, paired=True, vectorized=False,
        n_resamples=4000, method="percentile", rng=np.random.default_rng(1),
    ).confidence_interval  # fmt: skip
    assert ours[0] == pytest.approx(ref.low, abs=0.04) and ours[1] == pytest.approx(
        ref.high, abs=0.04
    )


def test_cohens_d_ci_covers_true_d_about_95_percent():
    rng = np.random.default_rng(7)
    covered, reps, true_d = 0, 300, 0.8
    for _ in range(reps):
        x, y = rng.normal(true_d, 1, 15), rng.normal(0, 1, 15)
        t = stats.ttest_ind(x, y).statistic
        low, high = intervals.cohens_d_ci(t, 15, 15, 0.95)
        assert low < intervals.cohens_d(x, y) < high
        covered += low <= true_d <= high
    assert 0.92 <= covered / reps <= 0.98, covered / reps


def test_hedges_j_exact_and_below_one():
    assert intervals.hedges_j(10) == pytest.approx(
        0.9227, abs=1e-4
    )  # tabulated J(10) in Hedges (1981)
    assert 1 - 3 / (4 * 100 - 1) == pytest.approx(intervals.hedges_j(100), abs=1e-5)


# --------------------------------------------------------------------------- degenerate input
def test_one_empty_group_gives_documented_nan(daily, stats_params, caplog):
    params = copy.deepcopy(stats_params)
    params["activity"]["threshold_steps"] = 10**9  # nobody is "high"
    with caplog.at_level(logging.WARNING):
        women, results = _run_tests(daily, params)
    groups = results[results["test"].isin(["student_t", "welch_t", "mann_whitney_u"])]
    assert groups[["statistic", "p", "q_bh", "effect_size", "ci_low", "ci_high"]].isna().all().all()
    assert groups["note"].str.contains("has n=0").all() and (groups["n_group1"] == 0).all()
    assert "has n=0 < 2" in caplog.text
    # correlations are unaffected and BH runs over the remaining 12 hypotheses
    family = results.drop_duplicates(["analysis", "test", "variable"]).dropna(subset=["p"])
    assert len(family) == 12 and family["q_bh"].notna().all()
    metrics = tables.build_statistics_metrics(results, women, params["activity"])
    assert "cohen_d_p4" not in metrics and metrics["n_high_activity"]["value"] == 0.0


def test_constant_column_gives_documented_nan(daily, stats_params, caplog):
    daily = daily.assign(e2=50.0)
    with caplog.at_level(logging.WARNING):
        _, results = _run_tests(daily, stats_params)
    e2 = results[results["variable"].isin(["e2", "steps_vs_e2"])]
    assert e2["p"].isna().all() and e2["note"].str.contains("constant").all()
    p4 = results[results["variable"].isin(["p4", "steps_vs_p4"])]
    assert p4["p"].notna().all() and p4["note"].isna().all()
    assert "constant input" in caplog.text


def test_fewer_than_three_women_gives_documented_nan(stats_params, caplog):
    levels = make_women(2, rho=0.0, seed=2).assign(steps=[12000.0, 6000.0])
    with caplog.at_level(logging.WARNING):
        women, results = _run_tests(make_daily(levels), stats_params)
    assert len(women) == 2
    assert results["p"].isna().all() and results["q_bh"].isna().all()
    assert (
        results.loc[results["test"] == "pearson", "note"]
        .str.contains("n=2 complete pairs < 3")
        .all()
    )
    assert "no test could be computed" in caplog.text
    assert (
        tables.build_statistics_metrics(results, women, stats_params["activity"])["n_women"][
            "value"
        ]
        == 2.0
    )


def test_all_nan_hormone_gives_documented_nan(daily, stats_params):
    daily = daily.assign(p4=np.nan)
    _, results = _run_tests(daily, stats_params)
    p4 = results[results["variable"].isin(["p4", "steps_vs_p4"])]
    assert p4["p"].isna().all() and p4["note"].notna().all()


def test_degenerate_figures_do_not_crash(stats_params):
    levels = make_women(2, rho=0.0, seed=2)
    women, results = _run_tests(make_daily(levels), stats_params)
    args = (
        women,
        results,
        stats_params["activity"],
        stats_params["labels"],
        stats_params["cohort"],
    )
    assert "not computable" in plots.plot_steps_hormone_scatter(*args).axes[0].get_title()
    assert "not computable" in plots.plot_hormones_by_activity(*args).axes[1].get_title()
    plots.plot_correlation_heatmap(women, stats_params["labels"], stats_params["cohort"])


# --------------------------------------------------------------------------- reporting
def test_metrics_keys_values_and_format(daily, stats_params):
    women, results = _run_tests(daily, stats_params)
    metrics = tables.build_statistics_metrics(results, women, stats_params["activity"])
    assert all(set(v) == {"value", "step"} and np.isfinite(v["value"]) for v in metrics.values())
    r = _row(results, "woman_level", "pearson", "steps_vs_p4", "fisher_z")
    boot = _row(results, "woman_level", "pearson", "steps_vs_p4", "bootstrap_percentile")
    d = _row(results, "phase_luteal", "student_t", "p4")
    expected = {
        "pearson_r_steps_p4": r["statistic"], "pearson_p_steps_p4": r["p"], "pearson_q_steps_p4": r["q_bh"],
        "pearson_ci_low_steps_p4": r["ci_low"], "pearson_ci_high_steps_p4": r["ci_high"],
        "pearson_boot_ci_low_steps_p4": boot["ci_low"], "luteal.cohen_d_p4": d["effect_size"],
        "luteal.cohen_d_ci_high_p4": d["ci_high"], "luteal.student_t_p_p4": d["p"],
    }  # fmt: skip
    for key, value in expected.items():
        assert metrics[key]["value"] == value, key
    assert metrics["n_high_activity"]["value"] + metrics["n_low_activity"]["value"] == len(women)
    assert all(set(k) <= set("abcdefghijklmnopqrstuvwxyz0123456789_.") for k in metrics)


def test_markdown_has_one_line_per_result(daily, stats_params):
    _, results = _run_tests(daily, stats_params)
    text = tables.format_results_markdown(results, stats_params["cohort"])
    table_lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table_lines) == len(results) + 1  # header + rows
    assert text.startswith("# Synthetic cohort") and "Steps/day vs P4 (ng/mL)" in text


def test_mcphases_labels_in_tables_and_titles(daily, mcphases_params):
    women, results = _run_tests(daily, mcphases_params)
    assert set(results.loc[results["variable"] == "p4", "label"]) == {"PdG (urinary P4 metabolite)"}
    args = (
        women,
        results,
        mcphases_params["activity"],
        mcphases_params["labels"],
        mcphases_params["cohort"],
    )
    titles = [ax.get_title() for ax in plots.plot_steps_hormone_scatter(*args).axes]
    assert titles[0].startswith("E3G") and titles[1].startswith("PdG")


# --------------------------------------------------------------------------- planted effects
def _synthetic_params(seed: int, rho_p4: float, rho_e2: float) -> dict:
    params = copy.deepcopy(load_params("ingestion")["synthetic_cohort"])
    params.update(seed=seed, cycles_per_woman=[2, 3])  # fewer cycles: same women, faster
    params["effects"] = {"rho_steps_p4": rho_p4, "rho_steps_e2": rho_e2}
    return params


@pytest.mark.slow
def test_planted_correlation_is_covered_by_95_ci_in_most_seeds(stats_params):
    planted = load_params("ingestion")["synthetic_cohort"]["effects"]
    n_seeds, hits = (
        20,
        {("p4", "fisher_z"): 0, ("p4", "bootstrap_percentile"): 0, ("e2", "fisher_z"): 0},
    )
    params = copy.deepcopy(stats_params)
    params["inference"]["n_boot"] = 300
    for seed in range(n_seeds):
        daily = generate_synthetic_cohort(
            _synthetic_params(seed, planted["rho_steps_p4"], planted["rho_steps_e2"])
        )
        women = cohort.aggregate_women(daily, params["cohort"], params["activity"], {"analyse": []})
        results = inference.correlate_steps_hormones(
            women, {"analyse": []}, params["inference"], params["labels"]
        )
        for hormone, method in hits:
            row = _row(results, "woman_level", "pearson", f"steps_vs_{hormone}", method)
            hits[hormone, method] += (
                row["ci_low"] <= planted[f"rho_steps_{hormone}"] <= row["ci_high"]
            )
    rates = {key: n / n_seeds for key, n in hits.items()}
    assert all(rate >= 0.8 for rate in rates.values()), rates


@pytest.mark.slow
def test_planted_null_gives_no_discovery_after_bh(stats_params):
    params = copy.deepcopy(stats_params)
    params["inference"]["n_boot"] = 100
    discoveries, raw_hits = [], 0
    for seed in range(100, 110):
        _, results = _run_tests(
            generate_synthetic_cohort(_synthetic_params(seed, 0.0, 0.0)), params
        )
        family = results.drop_duplicates(["analysis", "test", "variable"])
        assert len(family) == 30 and family["p"].notna().all()
        discoveries.append(int(family["reject_bh"].sum()))
        raw_hits += int((family["p"] < 0.05).sum())
    assert sum(discoveries) == 0, discoveries
    assert raw_hits > 0  # uncorrected tests do fire under the null; BH removes them
