"""Tests of the skip-aware model of logged cycle lengths (hand-computed cases, references)."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from cycle_kedro.cycles import adherence as ad

HYPER = {"m0": 29.0, "kappa0": 0.5, "a0": 3.0, "b0": 12.0, "alpha": 1.0, "beta": 19.0}


def _state(family: str = "normal", **hyper) -> dict:
    """A hand-set model state: prior mean cycle 29 d, sigma^2 about 6, P(skip) about 5%."""
    return {
        "family": family,
        "typical_days": 29.0,
        **(HYPER | hyper),
        "options": dict(ad.DEFAULT_OPTIONS) | {"family": family},
    }


def _users(*histories):
    lengths = np.concatenate([np.asarray(h, dtype=float) for h in histories])
    codes = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    return lengths, codes


def _sample_prior(state, n, rng):
    """Draws of the next logged gap (continuous) and of its first true cycle, from the prior."""
    sigma2 = stats.invgamma.rvs(state["a0"], scale=state["b0"], size=n, random_state=rng)
    mu = rng.normal(state["m0"], np.sqrt(sigma2 / state["kappa0"]))
    pi = rng.beta(state["alpha"], state["beta"], n)
    k = rng.geometric(1 - pi)  # number of true cycles: s + 1
    first = rng.normal(mu, np.sqrt(sigma2))
    rest = rng.normal((k - 1) * mu, np.sqrt((k - 1) * sigma2))
    return first + rest, first


# ---------------------------------------------------------------- hand-computed cases
def test_one_skipped_log_has_a_high_skip_probability_only_on_the_long_gap():
    lengths, codes = _users([28, 29, 28, 57, 29, 28, 30])
    post, p_skip = ad.adherence_posterior(_state(), lengths, codes, 1)
    assert p_skip[3] > 0.99
    assert np.delete(p_skip, 3).max() < 0.01
    # the skipped gap counts as two cycles: her mean is about 28.6 days, not pulled up to 32.7
    assert post.m[0] == pytest.approx(np.sum(lengths) / 8, abs=0.1)
    assert post.alpha[0] == pytest.approx(HYPER["alpha"] + 1, abs=0.01)
    assert post.beta[0] == HYPER["beta"] + 7


def test_a_user_without_history_gets_the_population_prior_predictive():
    state = _state()
    lengths, codes = _users([29, 30, 28])
    post, _ = ad.adherence_posterior(state, lengths, codes, 2)  # user 1 has no gap
    assert post.m[1] == HYPER["m0"] and post.kappa[1] == HYPER["kappa0"]
    assert post.a[1] == HYPER["a0"] and post.b[1] == HYPER["b0"]
    assert (post.alpha[1], post.beta[1]) == (HYPER["alpha"], HYPER["beta"])
    gap, first = _sample_prior(state, 400_000, np.random.default_rng(0))
    g = np.floor(gap + 0.5)  # whole days
    for day in (0, 25, 33):
        f = ad.forecast_as_of(state, post, np.array([0, day]))
        waiting = g > day
        assert f["median_gap_days"][1] == np.median(g[waiting])
        soon = np.mean(g[waiting] <= day + 3)
        assert f["p_start_soon"][1] == pytest.approx(soon, abs=0.005)
        missed = np.mean(np.floor(first[waiting] + 0.5) <= day)
        assert f["p_missed_start"][1] == pytest.approx(missed, abs=0.005)
        lo, hi = f["lo_gap_days"][1], f["hi_gap_days"][1]
        assert np.mean(g[waiting] > hi) == pytest.approx(0.1, abs=0.03)  # tails nearest 10%
        if lo > day + 1:  # (the day after the forecast day may hold more than 10% by itself)
            assert np.mean(g[waiting] < lo) == pytest.approx(0.1, abs=0.03)


def test_survival_conditioning_never_moves_a_forecast_earlier():
    lengths, codes = _users([29, 30, 28, 29], [25, 33, 27, 58, 31], [40, 35, 44], [29])
    state = _state()
    post, _ = ad.adherence_posterior(state, lengths, codes, 4)
    days = np.arange(0, 91)
    out = [ad.forecast_as_of(state, post, np.full(4, d)) for d in days]
    for key in ("median_gap_days", "lo_gap_days", "hi_gap_days"):
        table = np.array([f[key] for f in out])  # days x users
        assert (table > days[:, None]).all()  # after the forecast day
        assert (np.diff(table, axis=0) >= 0).all()  # later as the days pass, never earlier
    missed = np.array([f["p_missed_start"] for f in out])
    assert (np.diff(missed, axis=0) >= -1e-6).all()
    assert missed[0].max() < 1e-3 and missed[-1].min() > 0.9


def test_missed_start_probability_is_0_on_day_0_and_near_1_long_after_her_cycle():
    regular = [28, 29, 27, 28, 28, 29, 28, 27, 28, 29, 28, 28]
    lengths, codes = _users(regular, [28, 30])  # a long, tight history and a short one
    state = _state()
    post, _ = ad.adherence_posterior(state, lengths, codes, 2)
    p = {d: ad.forecast_as_of(state, post, np.full(2, d))["p_missed_start"] for d in (0, 45, 1000)}
    assert p[0].max() < 1e-6
    assert p[45].min() > 0.999 and p[1000].min() > 0.999  # weeks or years: she missed a log


def test_years_of_silence_give_finite_forecasts_after_today_without_underflow():
    """Far into a silence the skip-count weights underflow (a study cohort's prior: hundreds of
    skips are all but impossible); relative weights keep every answer finite and after today."""
    lengths, codes = _users([28, 29, 27, 28, 30], [31, 29])
    post, _ = ad.adherence_posterior(_state(), lengths, codes, 2)
    rare = _state(alpha=0.05, beta=8000.0)  # a study cohort: almost never a missed log
    post_rare, _ = ad.adherence_posterior(rare, lengths, codes, 2)
    with np.errstate(divide="raise", invalid="raise"):  # no 0/0, no log(0) reaches an answer
        for state, p in ((_state(), post), (rare, post_rare)):
            for d in (0, 40, 700, 5000):
                f = ad.forecast_as_of(state, p, np.full(2, d))
                for key in ad.FORECAST_KEYS:
                    assert np.isfinite(f[key]).all(), (d, key)
                assert (f["lo_gap_days"] > d).all() and (f["hi_gap_days"] <= d + 512).all()


# ---------------------------------------------------------------- references
def _reference_posterior(x, state, rounds=200):
    """Plain per-user loops: each gap's q(s) from her other gaps (Beta-geometric x Student-t)."""
    h = state
    window = int(h["options"]["skip_window"])
    k0s = [max(1.0, np.rint(xi / h["typical_days"]) - (window - 1) // 2) for xi in x]
    med = np.median(x)
    r = []
    for xi, k0 in zip(x, k0s, strict=True):
        guess = min(max(1.0, np.rint(xi / med), k0), k0 + window - 1)
        r.append([1.0 if k0 + j == guess else 0.0 for j in range(window)])

    def posterior(gaps):  # (x, r, k0) of the gaps given
        A = sum(rj * (k0 + j) for _, ri, k0 in gaps for j, rj in enumerate(ri))
        B = sum(xi for xi, _, _ in gaps)
        C = sum(rj * xi**2 / (k0 + j) for xi, ri, k0 in gaps for j, rj in enumerate(ri))
        n = len(gaps)
        kappa = h["kappa0"] + A
        m = (h["kappa0"] * h["m0"] + B) / kappa
        a = h["a0"] + n / 2
        b = h["b0"] + 0.5 * (C + h["kappa0"] * h["m0"] ** 2 - kappa * m**2)
        return m, kappa, a, b, h["alpha"] + A - n, h["beta"] + n

    for _ in range(rounds):
        new = []
        for i, (xi, k0) in enumerate(zip(x, k0s, strict=True)):
            others = [(x[o], r[o], k0s[o]) for o in range(len(x)) if o != i]
            m, kappa, a, b, alpha, beta = posterior(others)
            logw = []
            for j in range(window):
                k, s = k0 + j, k0 + j - 1
                log_ps = special.betaln(alpha + s, beta + 1) - special.betaln(alpha, beta)
                log_t = stats.t.logpdf(
                    xi, 2 * a, loc=k * m, scale=np.sqrt(b / a * (k + k * k / kappa))
                )
                logw.append(log_ps + log_t)
            w = np.exp(np.array(logw) - max(logw))
            new.append(list(w / w.sum()))
        r = new
    m, _, _, b, alpha, _ = posterior(list(zip(x, r, k0s, strict=True)))
    others = [[(x[o], r[o], k0s[o]) for o in range(len(x)) if o != i] for i in range(len(x))]
    p_skip = []
    for i, k0 in enumerate(k0s):  # the final q(s) of each gap, from the converged others
        mi, kappa, a, bi, al, be = posterior(others[i])
        w = [
            np.exp(
                special.betaln(al + k0 + j - 1, be + 1)
                + stats.t.logpdf(
                    x[i],
                    2 * a,
                    loc=(k0 + j) * mi,
                    scale=np.sqrt(bi / a * ((k0 + j) + (k0 + j) ** 2 / kappa)),
                )
            )
            for j in range(window)
        ]
        p_skip.append(1 - (w[0] / sum(w) if k0 == 1 else 0.0))
    return m, b, alpha, np.array(p_skip)


def test_vectorised_posterior_equals_a_per_user_reference():
    histories = [[29, 30, 28, 29], [25, 33, 27, 58, 31], [40, 35, 44, 81], [31, 62, 93, 30]]
    state = _state()
    state["options"] |= {"tolerance": 1e-13, "rounds": 200}
    lengths, codes = _users(*histories)
    post, p_skip = ad.adherence_posterior(state, lengths, codes, len(histories))
    for u, h in enumerate(histories):
        m, b, alpha, ref_skip = _reference_posterior(np.asarray(h, float), state)
        assert post.m[u] == pytest.approx(m, rel=1e-9)
        assert post.b[u] == pytest.approx(b, rel=1e-7)
        assert post.alpha[u] == pytest.approx(alpha, rel=1e-7)
        np.testing.assert_allclose(p_skip[codes == u], ref_skip, atol=1e-7)


def _exact_skip_probability(x, h, window=4):
    """P(s_i >= 1 | x) by enumerating every skip vector (conjugate NIG and Beta marginals)."""
    total, skip = 0.0, np.zeros(len(x))
    for s in itertools.product(range(window), repeat=len(x)):
        k = np.asarray(s) + 1.0
        A, B, C, n = k.sum(), x.sum(), (x**2 / k).sum(), len(x)
        kappa = h["kappa0"] + A
        m = (h["kappa0"] * h["m0"] + B) / kappa
        a, b = h["a0"] + n / 2, h["b0"] + 0.5 * (C + h["kappa0"] * h["m0"] ** 2 - kappa * m**2)
        log_ml = (
            -0.5 * np.log(k).sum()
            + 0.5 * np.log(h["kappa0"] / kappa)
            + h["a0"] * np.log(h["b0"])
            - a * np.log(b)
            + special.gammaln(a)
            - special.gammaln(h["a0"])
            + special.betaln(h["alpha"] + sum(s), h["beta"] + n)
        )
        w = np.exp(log_ml)
        total += w
        skip += w * (np.asarray(s) >= 1)
    return skip / total


def test_skip_probabilities_are_close_to_the_exact_posterior():
    x = np.array([27.0, 31.0, 44.0, 29.0, 60.0])  # 44: ambiguous, 60: two cycles
    state = _state()
    _, p_skip = ad.adherence_posterior(state, x, np.zeros(len(x), dtype=np.int64), 1)
    exact = _exact_skip_probability(x, HYPER)
    np.testing.assert_allclose(p_skip, exact, atol=0.03)
    assert exact[4] > 0.99 and exact[0] < 0.01


# ---------------------------------------------------------------- fit, family rule, oracle
def _model_cohort(n_users, hyper, family, seed):
    """Gaps drawn from the model itself (time order within each user)."""
    rng = np.random.default_rng(seed)
    sigma2 = stats.invgamma.rvs(hyper["a0"], scale=hyper["b0"], size=n_users, random_state=rng)
    mu = rng.normal(hyper["m0"], np.sqrt(sigma2 / hyper["kappa0"]))
    pi = rng.beta(hyper["alpha"], hyper["beta"], n_users)
    n = rng.integers(2, 15, n_users)
    codes = np.repeat(np.arange(n_users), n)
    k = rng.geometric(1 - pi[codes]).astype(float)
    if family == "normal":
        x = rng.normal(k * mu[codes], np.sqrt(k * sigma2[codes]))
    else:
        x = np.exp(rng.normal(mu[codes] + np.log(k), np.sqrt(sigma2[codes] / k)))
    return np.maximum(np.rint(x), 1.0), codes


def test_fit_recovers_the_hyperparameters_and_is_deterministic():
    true = {"m0": 29.0, "kappa0": 0.6, "a0": 3.0, "b0": 12.0, "alpha": 1.0, "beta": 12.0}
    x, codes = _model_cohort(3000, true, "normal", seed=1)
    state = ad.fit_adherence_model(x, codes)
    assert state["m0"] == pytest.approx(29.0, abs=0.3)
    assert state["b0"] / state["a0"] == pytest.approx(4.0, rel=0.15)
    mean_pi = state["alpha"] / (state["alpha"] + state["beta"])
    assert mean_pi == pytest.approx(1 / 13, abs=0.01)
    assert ad.fit_adherence_model(x, codes) == state


def test_family_rule_picks_the_family_the_data_came_from():
    hyper = {
        "m0": np.log(29.0),
        "kappa0": 0.5,
        "a0": 4.0,
        "b0": 4.0 * 0.2**2,
        "alpha": 1.0,
        "beta": 15.0,
    }
    x, codes = _model_cohort(1500, hyper, "lognormal", seed=2)
    family, scores = ad.select_family(x, codes)
    assert family == "lognormal" and scores["lognormal"] > scores["normal"]


def test_oracle_gap_distribution_and_forecast_for_a_known_cycle():
    cycle = np.zeros((2, 64))
    cycle[0, 28] = 1.0  # always 28 days
    cycle[1, [27, 29]] = 0.5
    gap = ad.logged_gap_pmf(cycle, [0.2, 0.0], n_days=256)
    assert gap[0, 28] == pytest.approx(0.8) and gap[0, 56] == pytest.approx(0.16)
    assert gap[0, 84] == pytest.approx(0.032)
    np.testing.assert_allclose(gap[1, :64], cycle[1], atol=1e-12)
    f = ad.forecast_from_pmf(gap, cycle, [30, 0])
    assert f["median_gap_days"].tolist() == [56.0, 27.0]
    assert f["p_missed_start"][0] == pytest.approx(1.0)
    assert f["p_missed_start"][1] == 0.0
    day0 = ad.forecast_from_pmf(gap, cycle, [0, 0])
    assert day0["median_gap_days"][0] == 28.0 and day0["p_start_soon"][0] == 0.0


def test_pandas_entry_points_forecast_after_as_of_and_flag_the_skipped_gap():
    def cycles_of(user, first, gaps):
        starts = np.datetime64(first) + np.cumsum([0, *gaps]).astype("timedelta64[D]")
        return pd.DataFrame(
            {
                "user_id": user,
                "cycle_start": starts.astype("datetime64[ns]"),
                "cycle_length": [*map(float, gaps), np.nan],
            }
        )

    cycles = pd.concat(
        [
            cycles_of("skipper", "2025-01-05", [28, 29, 57, 28, 29]),
            cycles_of("newbie", "2025-06-20", []),
            cycles_of("regular", "2025-02-01", [30, 31, 29, 30]),
        ],
        ignore_index=True,
    )
    state = _state()
    out = ad.adherence_forecasts(cycles, state, "2025-07-01")
    assert out["user_id"].tolist() == ["newbie", "regular", "skipper"]
    assert out["n_gaps"].tolist() == [0, 4, 5]
    assert out["cycle_day"].tolist() == [11, 30, 6]  # regular: last start 2025-06-01
    for col in ("next_start", "next_start_lo80", "next_start_hi80"):
        assert (out[col] > pd.Timestamp("2025-07-01")).all()
    assert (out["next_start_lo80"] <= out["next_start"]).all()
    assert (out["next_start"] <= out["next_start_hi80"]).all()
    users, codes, lengths = ad.user_gaps(cycles)
    post, _ = ad.adherence_posterior(state, lengths, codes, 3)
    f = ad.forecast_as_of(state, post, out["cycle_day"].to_numpy())
    gap = (out["next_start"] - out["last_start"]).dt.days
    assert gap.tolist() == f["median_gap_days"].tolist()
    assert gap[1] in (31, 32, 33)  # day 30 of a 30-day user: due in the next days
    skips = ad.gap_skip_probabilities(cycles, state)
    assert len(skips) == 9
    flagged = skips.loc[skips["p_skip"] > 0.5, ["user_id", "cycle_length"]]
    assert flagged.values.tolist() == [["skipper", 57.0]]


def test_a_users_results_do_not_depend_on_the_other_users_or_the_blocks():
    """What lets the pipeline run posteriors and forecasts per partition of whole users."""
    true = {"m0": 29.0, "kappa0": 0.6, "a0": 3.0, "b0": 12.0, "alpha": 1.0, "beta": 8.0}
    x, codes = _model_cohort(300, true, "normal", seed=4)
    state = ad.fit_adherence_model(x, codes)
    post, p_skip = ad.adherence_posterior(state, x, codes, 300)
    part = codes >= 200  # the last 100 users, in small blocks that cut users apart
    small = state | {"options": state["options"] | {"chunk_gaps": 7}}
    post_part, p_part = ad.adherence_posterior(small, x[part], codes[part] - 200, 100)
    np.testing.assert_array_equal(post_part.m, post.m[200:])
    np.testing.assert_array_equal(post_part.b, post.b[200:])
    np.testing.assert_array_equal(p_part, p_skip[part])
    day = np.arange(300) % 45
    full = ad.forecast_as_of(state, post, day)
    sub = ad.forecast_as_of(state, post_part, day[200:])
    for key in ad.FORECAST_KEYS:
        np.testing.assert_array_equal(sub[key], full[key][200:])
