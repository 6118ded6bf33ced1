"""The app-cohort generator: default output unchanged, its families, per-user truth, the oracle."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.cycles.adherence import logged_gap_pmf
from cycle_kedro.pipelines.population.generator import (
    USER_COLUMNS,
    cycle_length_pmf,
    generate_cohort,
    generate_population,
)


def _digest(df: pd.DataFrame) -> str:
    return hashlib.sha256(
        pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes()
    ).hexdigest()


def test_default_output_is_unchanged(params):
    cfg = params["generator"] | {"n_users": 300}
    log, truth = generate_population(cfg)
    # digests of the generator's output before the family and Beta-skip options existed
    assert _digest(log)[:16] == "85b9cc4a9ab2d904"
    assert _digest(truth)[:16] == "65fe798a5ecfd9af"
    log2, truth2, users = generate_cohort(cfg)
    pd.testing.assert_frame_equal(log, log2)
    pd.testing.assert_frame_equal(truth, truth2)
    assert tuple(users.columns) == USER_COLUMNS
    assert sorted(users["user_id"]) == sorted(log["user_id"].unique())
    assert (users["p_missed"] == cfg["p_missed_log"]).all()
    first = truth.drop_duplicates("user_id").merge(users, on="user_id")
    assert (first["user_mean_length"] == first["mean_length"]).all()


def _cohort(params, n_users=4000, **options):
    cfg = params["generator"] | {"n_users": n_users, "seed": 3} | options
    _, truth, users = generate_cohort(cfg)
    return cfg, truth, users


def test_per_user_skip_probabilities_follow_their_beta(params):
    cfg, truth, users = _cohort(params, p_missed_log=0.09, p_missed_concentration=5.0)
    p = users["p_missed"]
    assert p.mean() == pytest.approx(0.09, abs=0.01)
    assert p.std() == pytest.approx(np.sqrt(0.09 * 0.91 / 6), rel=0.15)
    assert p.max() <= 0.5
    # a user's share of gaps holding a missed log follows her own probability
    per_user = truth.groupby("user_id")["n_missed"].apply(lambda s: (s > 0).mean())
    own = users.set_index("user_id")["p_missed"].reindex(per_user.index)
    for group in (own > 0.2, own <= 0.2):
        assert per_user[group].mean() == pytest.approx(own[group].mean(), abs=0.02)


def test_generalized_poisson_family_keeps_each_users_mean_and_sd_and_is_right_skewed(params):
    cfg, truth, users = _cohort(params, family="generalized_poisson", gp_lambda=0.3)
    single = truth[truth["n_missed"] == 0]
    resid = single["gap_days"] - single["user_mean_length"]
    assert resid.mean() == pytest.approx(0.0, abs=0.15)  # the whole-day shift rounds the mean
    assert (resid / single["user_sd_length"]).std() == pytest.approx(1.0, abs=0.12)
    assert ((resid / single["user_sd_length"]) ** 3).mean() > 0.5  # long right tail
    assert users["gp_theta"].gt(0).all() and users["gp_shift"].notna().all()


@pytest.mark.parametrize("family", ["normal", "generalized_poisson"])
def test_true_distributions_match_the_generated_gaps(params, family):
    cfg, truth, users = _cohort(
        params, family=family, gp_lambda=0.3, p_missed_log=0.09, p_missed_concentration=5.0
    )
    cycle = cycle_length_pmf(users, cfg)
    np.testing.assert_allclose(cycle.sum(axis=1), 1.0, atol=1e-9)
    assert (cycle[:, : cfg["min_cycle_days"]] == 0).all()
    gap = logged_gap_pmf(cycle, users["p_missed"].to_numpy())
    code = pd.Index(users["user_id"]).get_indexer(truth["user_id"])
    days = np.arange(gap.shape[1])
    expected = (gap[code] * days).sum(axis=1)  # each gap's true expected length
    assert truth["gap_days"].mean() == pytest.approx(expected.mean(), rel=0.01)
    long = truth["gap_days"].to_numpy() >= 45
    assert long.mean() == pytest.approx(gap[code][:, 45:].sum(axis=1).mean(), abs=0.005)
