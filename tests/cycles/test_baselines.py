"""Simple baselines: history form, vectorised table form, and no use of the target cycle."""

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.cycles.baselines import (
    BASELINE_MODELS,
    estimate_shrinkage_k,
    expanding_baselines,
    expanding_history_stats,
    last_cycle,
    loo_population_mean,
    mean_previous,
    median_previous,
    population_mean,
    shrinkage_forecast,
)


def test_history_forms():
    h = [28, 30, 35]
    assert last_cycle(h) == 35
    assert mean_previous(h) == pytest.approx(31)
    assert median_previous(h) == 30
    assert shrinkage_forecast(h, pop_mean=29, k=3) == pytest.approx((3 * 31 + 3 * 29) / 6)
    assert shrinkage_forecast([], pop_mean=29, k=3) == 29
    assert (
        np.isnan(last_cycle([])) and np.isnan(mean_previous([])) and np.isnan(median_previous([]))
    )


def test_table_form_equals_history_form_row_by_row(fed_like):
    shuffled = fed_like.sample(frac=1, random_state=0)
    pm, k = 29.0, 2.5
    table = expanding_baselines(shuffled, pm, k)
    stats = expanding_history_stats(shuffled)
    assert list(table.index) == list(shuffled.index)
    for idx, row in shuffled.iterrows():
        h = fed_like[
            (fed_like.woman_id == row.woman_id) & (fed_like.cycle_index < row.cycle_index)
        ].cycle_length.to_numpy()
        got = table.loc[idx]
        assert got["n_prior"] == len(h)
        assert got["population_mean"] == pm
        np.testing.assert_allclose(got["last_cycle"], last_cycle(h))
        np.testing.assert_allclose(got["mean_previous"], mean_previous(h))
        np.testing.assert_allclose(got["median_previous"], median_previous(h))
        np.testing.assert_allclose(got["shrinkage"], shrinkage_forecast(h, pm, k))
        sd = np.std(h, ddof=1) if len(h) > 1 else np.nan
        np.testing.assert_allclose(stats.loc[idx, "hist_sd"], sd)
    assert set(BASELINE_MODELS) <= set(table.columns)


def test_planted_value_in_target_cycle_does_not_change_its_forecast(cycles):
    """Would fail if a row's own cycle (or a later one) leaked into its forecast."""
    before = expanding_baselines(cycles, loo_population_mean(cycles), 2.0)
    planted = cycles.copy()
    target = planted.index[(planted.cycle_index == 5)][0]
    woman = planted.loc[target, "woman_id"]
    planted.loc[target, "cycle_length"] = 999.0
    after = expanding_baselines(planted, loo_population_mean(planted), 2.0)
    same_woman_upto = (planted.woman_id == woman) & (planted.cycle_index <= 5)
    pd.testing.assert_frame_equal(before[same_woman_upto], after[same_woman_upto])
    later = (planted.woman_id == woman) & (planted.cycle_index == 6)
    assert after.loc[later, "last_cycle"].item() == 999.0


def test_loo_population_mean_excludes_own_current_and_future_cycles(cycles):
    pm = loo_population_mean(cycles)
    row = cycles.iloc[3]
    others = cycles[cycles.woman_id != row.woman_id].cycle_length
    own = cycles[(cycles.woman_id == row.woman_id) & (cycles.cycle_index < row.cycle_index)]
    expected = (others.sum() + own.cycle_length.sum()) / (len(others) + len(own))
    assert pm.iloc[3] == pytest.approx(expected)
    assert population_mean(cycles) == pytest.approx(cycles.cycle_length.mean())


def test_shrinkage_k_recovers_variance_ratio():
    rng = np.random.default_rng(0)
    n_w, n_c, tau, sigma = 400, 8, 2.0, 3.0
    means = rng.normal(29, tau, n_w)
    df = pd.DataFrame(
        {
            "woman_id": np.repeat(np.arange(n_w), n_c),
            "cycle_index": np.tile(np.arange(1, n_c + 1), n_w),
            "cycle_length": np.repeat(means, n_c) + rng.normal(0, sigma, n_w * n_c),
        }
    )
    assert estimate_shrinkage_k(df) == pytest.approx(sigma**2 / tau**2, rel=0.25)
    flat = df.assign(cycle_length=29 + rng.normal(0, sigma, len(df)))
    assert estimate_shrinkage_k(flat, max_k=50) > 10


def test_missing_column_is_named(cycles):
    with pytest.raises(KeyError, match="cycle_length"):
        expanding_baselines(cycles.drop(columns="cycle_length"), 29.0, 1.0)
