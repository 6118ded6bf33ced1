"""Metric functions against scikit-learn and known-noise data."""

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from cycle_kedro.cycles.intervals import conformal_offsets
from cycle_kedro.cycles.metrics import (
    bootstrap_mae_difference,
    interval_coverage,
    regression_metrics,
)


def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(3)
    y = rng.normal(29, 3, 200)
    p = y + rng.normal(0.5, 2, 200)
    m = regression_metrics(y, p)
    assert m["n"] == 200
    assert m["mse"] == pytest.approx(mean_squared_error(y, p))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, p))
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, p)))
    assert m["r2"] == pytest.approx(r2_score(y, p))


def test_regression_metrics_drop_nan_and_empty():
    m = regression_metrics([1.0, 2.0, np.nan, 4.0], [1.0, np.nan, 3.0, 5.0])
    assert m["n"] == 2
    assert m["mae"] == pytest.approx(0.5)
    empty = regression_metrics([np.nan], [1.0])
    assert empty["n"] == 0 and np.isnan(empty["mae"]) and np.isnan(empty["r2"])


def test_regression_metrics_length_mismatch_is_clear():
    with pytest.raises(ValueError, match="same length"):
        regression_metrics([1, 2, 3], [1, 2])


def test_interval_coverage_counts_bounds_inclusive():
    assert interval_coverage([1, 2, 3, 4], [1, 0, 0, 5], [1, 1, 3, 6]) == pytest.approx(0.5)
    assert np.isnan(interval_coverage([], [], []))


def test_conformal_interval_covers_80_percent_on_known_noise():
    rng = np.random.default_rng(0)
    calib = rng.normal(0, 3, 2000)
    lo, hi = conformal_offsets(calib, coverage=0.8)
    # N(0, 3): the 10% / 90% quantiles are -/+ 1.2816 * 3
    assert lo == pytest.approx(-3.845, abs=0.35)
    assert hi == pytest.approx(3.845, abs=0.35)
    test = rng.normal(0, 3, 5000)
    cov = interval_coverage(test, np.zeros_like(test) + lo, np.zeros_like(test) + hi)
    assert 0.77 <= cov <= 0.83


def test_bootstrap_mae_difference_detects_a_better_model():
    rng = np.random.default_rng(1)
    y = rng.normal(29, 3, 300)
    good = y + rng.normal(0, 1, 300)
    bad = y + rng.normal(0, 3, 300)
    groups = np.repeat(np.arange(30), 10)
    res = bootstrap_mae_difference(y, good, bad, groups=groups, n_boot=500, seed=0)
    assert res["diff"] == pytest.approx(np.mean(np.abs(y - good)) - np.mean(np.abs(y - bad)))
    assert res["ci_low"] <= res["diff"] <= res["ci_high"] < 0
    same = bootstrap_mae_difference(y, good, good, n_boot=200)
    assert same["diff"] == 0 and same["ci_low"] == 0 and same["ci_high"] == 0
    again = bootstrap_mae_difference(y, good, bad, groups=groups, n_boot=500, seed=0)
    assert again == res


def test_cluster_bootstrap_does_not_depend_on_the_cluster_labels():
    rng = np.random.default_rng(3)
    y = rng.normal(28, 3, 60)
    a, b = y + rng.normal(0, 2, 60), y + rng.normal(0, 2.5, 60)
    groups = np.repeat([f"w{i:02d}" for i in range(20)], 3)
    relabelled = np.repeat([f"{k:012x}" for k in rng.permutation(20)], 3)
    one = bootstrap_mae_difference(y, a, b, groups, n_boot=200, seed=1)
    two = bootstrap_mae_difference(y, a, b, relabelled, n_boot=200, seed=1)
    assert one == two
