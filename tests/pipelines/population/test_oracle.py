"""The learner bound (a user's posterior over prior draws) and the planted missed-start share, by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy import special

from cycle_kedro.pipelines.population.generator import draw_prior_users
from cycle_kedro.pipelines.population.oracle import _planted_missed, population_bayes_pmfs


def test_population_bayes_weights_each_draw_by_the_users_likelihood():
    cycle = np.zeros((2, 64))
    cycle[0, [28, 29]] = 0.5  # draw A: 28 or 29 days
    cycle[1, 29] = 1.0  # draw B: always 29
    # users: one 29-day gap (likelihood A 1/2, B 1: weights 1/3, 2/3); a 28-day gap (only A);
    # no gap (the prior: 1/2, 1/2)
    gap, mixed_cycle = population_bayes_pmfs(
        np.array([29.0, 28.0]), np.array([0, 1]), 3, cycle, np.zeros(2), n_days=64
    )
    assert gap[0, 28] == pytest.approx(1 / 6) and gap[0, 29] == pytest.approx(5 / 6)
    assert gap[1, 28] == pytest.approx(0.5) and gap[1, 29] == pytest.approx(0.5)
    assert gap[2, 28] == pytest.approx(0.25) and gap[2, 29] == pytest.approx(0.75)
    np.testing.assert_allclose(mixed_cycle, gap, atol=1e-12)  # no skips: a gap is one cycle
    # with skips (p = 0.1) a 58-day gap is two cycles: P_A = 0.9 * 0.1 / 4, P_B = 0.9 * 0.1, so
    # weights 0.2, 0.8; her next gap is 29 days with 0.2 * 0.9 / 2 + 0.8 * 0.9
    gap, _ = population_bayes_pmfs(np.array([58.0]), np.array([0]), 1, cycle, np.full(2, 0.1))
    assert gap[0, 28] == pytest.approx(0.09) and gap[0, 29] == pytest.approx(0.81)


def test_prior_draws_are_seeded_and_follow_the_generator(params):
    cfg = params["generator"]
    a = draw_prior_users(cfg, 20_000, seed=1)
    assert a.equals(draw_prior_users(cfg, 20_000, seed=1))
    assert a["mean_length"].mean() == pytest.approx(cfg["mean_length_days"], abs=0.1)
    assert np.log(a["sd_length"]).std() == pytest.approx(cfg["within_user_sd_log_sd"], abs=0.01)
    assert (a["p_missed"] == cfg["p_missed_log"]).all()


def test_planted_missed_share_is_the_first_cycle_given_the_gap():
    truth = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "c"],
            "cycle_start": pd.to_datetime(["2026-01-01", "2026-01-30", "2026-01-01", "2026-01-01"]),
            "gap_days": [29.0, 58.0, 31.0, 40.0],
            "n_missed": [0, 1, 0, 0],
            "user_mean_length": [29.0, 29.0, 30.0, 30.0],
            "user_sd_length": [2.0, 2.0, 2.0, 2.0],
        }
    )
    p = pd.DataFrame({"day": [29, 29, 29], "user_id": ["a", "b", "c"], "actual_gap": [58, 31, 41]})
    share = _planted_missed(truth, {"family": "normal"}, p)
    # a: the first of two cycles summing to 58 is N(29, 2^2 / 2): P(<= 29 days) = Phi(0.5 / sqrt 2)
    assert share[0] == pytest.approx(special.ndtr(0.5 / np.sqrt(2.0)))
    assert share[1] == 0.0  # no missed log: her first true start is the logged one, after day 29
    assert np.isnan(share[2])  # the truth's last gap is not the scored one
    assert np.isnan(_planted_missed(truth, {"family": "generalized_poisson"}, p)).all()
