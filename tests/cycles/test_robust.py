"""Robust next-cycle models (cycle_kedro.cycles.robust)."""

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.cycles.robust import (
    ROBUST_MODELS,
    expanding_robust_forecasts,
    fit_robust_population,
    fit_robust_state,
    robust_forecast,
    select_model_inner_cv,
)

from .conftest import ROBUST_OPTIONS, make_cohort


@pytest.fixture(scope="module")
def state():
    return fit_robust_state(make_cohort(n_women=80, seed=3), ROBUST_OPTIONS)


def _mean_shrinkage(h, state):
    n, k = len(h), state["k"]
    return (np.sum(h) + k * state["winsor_mean"]) / (n + k)


@pytest.mark.parametrize("model", ROBUST_MODELS)
def test_planted_100_day_cycle_moves_robust_forecast_less_than_the_mean(state, model):
    history = np.array([28.0, 30, 27, 29, 28, 31, 29])
    planted = history.copy()
    planted[3] = 100.0
    moved = robust_forecast(planted, state, model) - robust_forecast(history, state, model)
    mean_moved = planted.mean() - history.mean()  # about 10 days
    assert abs(moved) < 0.25 * mean_moved
    # and less than ordinary (unclipped) shrinkage with the same k
    assert abs(moved) < 0.25 * (_mean_shrinkage(planted, state) - _mean_shrinkage(history, state))


def test_robust_population_fit_recovers_the_generating_values():
    df = make_cohort(n_women=400, n_cycles=8, seed=5)
    for loss, tuning in (("t", 4.0), ("huber", 1.345)):
        pop = fit_robust_population(df, loss=loss, tuning=tuning)
        assert pop["location"] == pytest.approx(29.0, abs=0.35)
        assert np.sqrt(pop["tau2"]) == pytest.approx(2.0, abs=0.4)
        # robust scales of normal errors with SD 2 (rounded): close to 2, a little below for t
        assert 1.5 < pop["sigma"] < 2.3


def test_expanding_form_uses_earlier_cycles_only_and_matches_history_form(state):
    df = make_cohort(n_women=6, n_cycles=6, seed=7).sample(frac=1, random_state=0)
    base = expanding_robust_forecasts(df, state)
    target = df[(df["cycle_index"] == 4)].index[0]
    woman = df.loc[target, "woman_id"]
    planted = df.copy()
    later = (planted["woman_id"] == woman) & (planted["cycle_index"] >= 4)
    planted.loc[later, "cycle_length"] = 100.0
    moved = expanding_robust_forecasts(planted, state)
    pd.testing.assert_frame_equal(
        base.loc[planted["cycle_index"] <= 4], moved.loc[planted["cycle_index"] <= 4]
    )
    row5 = planted.index[(planted["woman_id"] == woman) & (planted["cycle_index"] == 5)]
    assert (moved.loc[row5] - base.loc[row5]).abs().to_numpy().max() > 0.1  # the test can fail
    for ix in df.index[:10]:
        r = df.loc[ix]
        own = df[(df["woman_id"] == r["woman_id"]) & (df["cycle_index"] < r["cycle_index"])]
        hist = own.sort_values("cycle_index")["cycle_length"].to_numpy()
        for model in ROBUST_MODELS:
            assert base.loc[ix, model] == pytest.approx(
                robust_forecast(hist, state, model), abs=1e-4
            )


def test_inner_cv_selection_sees_training_women_only_and_picks_the_better_model():
    train = make_cohort(n_women=30, seed=9)
    seen: set[str] = set()

    def candidates(inner_train, inner_test):
        seen.update(inner_train["woman_id"])
        seen.update(inner_test["woman_id"])
        st = fit_robust_state(inner_train, ROBUST_OPTIONS)
        out = expanding_robust_forecasts(inner_test, st, models=("student_t_eb",))
        out["constant_20"] = 20.0
        return out

    best, scores = select_model_inner_cv(train, candidates, n_folds=3, seed=0)
    assert seen == set(train["woman_id"])
    assert best == "student_t_eb"
    assert scores["constant_20"] > scores["student_t_eb"]


def test_inner_cv_selection_does_not_depend_on_the_pseudonyms():
    train = make_cohort(n_women=30, seed=9)

    def candidates(inner_train, inner_test):
        st = fit_robust_state(inner_train, ROBUST_OPTIONS)
        return expanding_robust_forecasts(inner_test, st, models=("huber_eb", "student_t_eb"))

    ids = train["woman_id"].unique()
    relabel = dict(zip(ids, [f"{i:012x}" for i in np.random.default_rng(3).permutation(len(ids))]))
    first = select_model_inner_cv(train, candidates, n_folds=3, seed=0)
    other = train.assign(woman_id=train["woman_id"].map(relabel))
    assert select_model_inner_cv(other, candidates, n_folds=3, seed=0) == first
