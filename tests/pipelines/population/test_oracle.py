"""The learner bound: a user's posterior over prior draws, by hand."""

import numpy as np
import pytest

from cycle_kedro.pipelines.population.generator import draw_prior_users
from cycle_kedro.pipelines.population.oracle import population_bayes_pmfs


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
