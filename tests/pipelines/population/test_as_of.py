"""The skip-aware model's nodes: as-of columns of next_period_forecasts, the evaluation by day."""

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.cycles.adherence import adherence_forecasts, gap_skip_probabilities
from cycle_kedro.pipelines.population.as_of import (
    AS_OF_COLUMNS,
    add_as_of_forecasts,
    fit_skip_aware_model,
    held_out_users,
    select_adherence_family,
)
from cycle_kedro.pipelines.population.by_cycle_day import (
    evaluate_by_cycle_day,
    summarise_by_cycle_day,
)
from cycle_kedro.pipelines.population.evaluation import score_posterior_skips
from cycle_kedro.pipelines.population.generator import generate_population
from cycle_kedro.pipelines.population.intake import validate_period_starts
from cycle_kedro.pipelines.population.next_period import (
    build_period_cycles,
    evaluate_last_cycle,
    forecast_next_period,
)
from cycle_kedro.pipelines.population.oracle import score_oracle_by_cycle_day

AS_OF = "2026-07-01"


@pytest.fixture(scope="module")
def small(population_params):
    params = {k: v for k, v in population_params.items()}
    params["generator"] = params["generator"] | {"n_users": 400}
    params["forecast"] = params["forecast"] | {"models": ["shrinkage", "median"]}
    params["evaluation"] = params["evaluation"] | {"handlings": ["keep", "split"]}
    params["by_cycle_day"] = params["by_cycle_day"] | {
        "baselines": ["median.keep", "shrinkage.split"]
    }
    log, truth = generate_population(params["generator"])
    engine = {"engine": "pandas", "n_jobs": 1}
    input_cfg = params["app"]["input"] | {"as_of": AS_OF, "source": "test"}
    kept, _ = validate_period_starts(log, input_cfg, engine)
    cycles = build_period_cycles(kept, params["skips"], engine)
    family = select_adherence_family(cycles, params["adherence"])
    last = evaluate_last_cycle(
        kept, params["forecast"], params["skips"], params["evaluation"], engine
    )
    forecasts = forecast_next_period(cycles, params["forecast"], params["skips"], engine)
    return {
        "params": params,
        "truth": truth,
        "input": input_cfg,
        "cycles": cycles,
        "family": family,
        "last": last,
        "forecasts": forecasts,
    }


def test_as_of_columns_are_added_and_sane(small):
    model = fit_skip_aware_model(small["cycles"], small["family"], small["params"]["adherence"])
    assert small["family"]["family"] in {"normal", "lognormal"}
    out = add_as_of_forecasts(small["forecasts"], small["cycles"], model, small["input"])
    before = small["forecasts"]
    pd.testing.assert_frame_equal(out[before.columns], before)  # existing columns unchanged
    assert set(AS_OF_COLUMNS) <= set(out.columns)
    as_of = pd.Timestamp(AS_OF)
    assert (out["cycle_day"] == (as_of - out["last_start"]).dt.days).all()
    assert (out["as_of_next_start"] > as_of).all()
    assert (out["as_of_next_start_lo80"] <= out["as_of_next_start"]).all()
    assert (out["as_of_next_start"] <= out["as_of_next_start_hi80"]).all()
    for p in ("p_missed_start", "p_start_soon"):
        assert out[p].between(0, 1).all()
    # two to five cycles without a log: she has almost surely missed one; a week in: not
    late = out["cycle_day"].between(60, 150)
    early = out["cycle_day"] < 10
    assert late.any() and early.any()
    assert out.loc[late, "p_missed_start"].mean() > 0.9 > out.loc[early, "p_missed_start"].mean()


def test_by_cycle_day_never_fits_on_a_held_out_cycle(small):
    params = small["params"]
    base = evaluate_by_cycle_day(
        small["cycles"], small["last"], small["family"], params["adherence"], params["by_cycle_day"]
    )
    test = held_out_users(small["cycles"]["user_id"], params["adherence"])
    assert set(base["user_id"]) <= set(small["cycles"].loc[test, "user_id"])
    assert 0 < base["user_id"].nunique()
    # lengthen every test user's held-out gap: the model's forecasts must not move
    c = small["cycles"].copy()
    done = c[c["cycle_length"].notna()].sort_values(["user_id", "cycle_start"])
    last = done.groupby("user_id").tail(1).index
    moved = last[held_out_users(c.loc[last, "user_id"], params["adherence"]).to_numpy()]
    c.loc[moved, "cycle_length"] += 5
    again = evaluate_by_cycle_day(
        c, small["last"], small["family"], params["adherence"], params["by_cycle_day"]
    )
    key = ["day", "model", "user_id"]
    a = base[base["model"] == "skip_aware"].set_index(key)
    b = again[again["model"] == "skip_aware"].set_index(key)
    both = a.index.intersection(b.index)
    assert len(both) > 0.9 * len(a)
    pd.testing.assert_frame_equal(
        a.loc[both, ["median", "lo80", "hi80"]], b.loc[both, ["median", "lo80", "hi80"]]
    )
    assert (b.loc[both, "actual_gap"] == a.loc[both, "actual_gap"] + 5).all()


def test_by_cycle_day_table_metrics_and_oracle(small):
    params = small["params"]
    pred = evaluate_by_cycle_day(
        small["cycles"], small["last"], small["family"], params["adherence"], params["by_cycle_day"]
    )
    assert (pred["median"] > pred["day"]).all()  # conditioned on no start by that day
    assert ((pred["lo80"] <= pred["median"]) & (pred["median"] <= pred["hi80"])).all()
    table, metrics = summarise_by_cycle_day(pred, small["input"])
    assert set(table["day"]) <= set(params["by_cycle_day"]["days"])
    assert set(table["model"]) == {"skip_aware", "median.keep", "shrinkage.split"}
    n = table.set_index(["model", "day"])["n_users"]
    assert n["skip_aware"].is_monotonic_decreasing  # fewer users still waiting each day
    assert "population.app.by_day.skip_aware.day0.mae" in metrics
    oracle, om = score_oracle_by_cycle_day(
        pred,
        small["cycles"],
        small["truth"],
        generator=params["generator"],
        adherence=params["adherence"],
        by_day=params["by_cycle_day"],
    )
    day0 = oracle[(oracle["day"] == 0) & (oracle["model"] == "skip_aware")].iloc[0]
    assert 0.9 < day0["mae_ratio"] < 1.3  # the oracle knows each user's truth
    assert np.isfinite(om["population.app.by_day.oracle.day0.mae"]["value"])
    # the learner bound knows the population, not the user: between the oracle and the model
    bound = oracle[oracle["model"] == "population_bayes"].set_index("day")
    assert list(bound.index) == sorted(table["day"].unique())
    assert (bound["n_users"] == n["skip_aware"]).all()
    assert 1.0 <= bound.loc[0, "mae_ratio"] < 1.15
    assert 0.95 < day0["bound_ratio"] < 1.15
    assert 0 < bound.loc[0, "best_possible_gain"] < 0.1  # day 0: little to gain over a baseline
    assert np.isfinite(om["population.app.by_day.population_bayes.day0.mae"]["value"])
    # the missed-start probability is 0 on day 0 and matches the planted truth on average later
    skip = oracle[oracle["model"] == "skip_aware"].set_index("day")
    assert skip.loc[0, "mean_p_missed"] < 1e-3 and skip.loc[0, "planted_missed_share"] < 1e-3
    late = skip.index.max()
    assert abs(skip.loc[late, "mean_p_missed"] - skip.loc[late, "planted_missed_share"]) < 0.15
    assert oracle.loc[oracle["model"] == "median.keep", "mean_p_missed"].isna().all()


def test_posterior_skip_detection_against_the_planted_truth(small):
    params = small["params"]
    model = fit_skip_aware_model(small["cycles"], small["family"], params["adherence"])
    table, calibration, metrics = score_posterior_skips(
        small["cycles"], model, small["truth"], params["skip_detection"], params["adherence"]
    )
    assert set(zip(table["detector"], table["users"])) == {
        (d, u) for d in ("posterior", "tolerance") for u in ("train", "test")
    }
    assert table["default"].sum() == 2  # one detector, both user splits
    post = table[(table["detector"] == "posterior") & (table["users"] == "test")].iloc[0]
    assert post["recall"] > 0.7 and post["precision"] > 0.7
    assert calibration["n_gaps"].sum() == table.loc[table["users"] == "test", "n_gaps"].iloc[0]
    top = calibration.iloc[-1]
    assert top["share_skips"] > 0.7 and calibration.iloc[0]["share_skips"] < 0.05
    assert "population.app.skip_detection.posterior.test.recall" in metrics


def test_a_tiny_export_gets_the_fallback_family_and_no_by_day_table(small, planted_log):
    params = small["params"]
    engine = {"engine": "pandas", "n_jobs": 1}
    input_cfg = small["input"] | {"as_of": "2025-01-01"}
    kept, _ = validate_period_starts(planted_log, input_cfg, engine)
    cycles = build_period_cycles(kept, params["skips"], engine)
    family = select_adherence_family(cycles, params["adherence"])
    assert family == {
        "family": params["adherence"]["fallback_family"],
        "rule": "fallback",
        "scores": {},
    }
    last = evaluate_last_cycle(
        kept, params["forecast"], params["skips"], params["evaluation"], engine
    )
    pred = evaluate_by_cycle_day(cycles, last, family, params["adherence"], params["by_cycle_day"])
    table, metrics = summarise_by_cycle_day(pred, input_cfg)
    assert pred.empty and table.empty and not metrics


def test_a_single_users_export_gets_the_shipped_population_prior(params, planted_log):
    engine = {"engine": "pandas", "n_jobs": 1}
    input_cfg = params["app"]["input"] | {"as_of": "2025-01-01", "source": "test"}
    one = planted_log[planted_log["user_id"] == "skipper"]  # 28 28 56 29 27 84 28 28
    kept, _ = validate_period_starts(one, input_cfg, engine)
    cycles = build_period_cycles(kept, params["skips"], engine)
    family = select_adherence_family(cycles, params["adherence"])
    model = fit_skip_aware_model(cycles, family, params["adherence"])
    prior = params["adherence"]["population_prior"]
    assert model["n_users_fit"] == 0 and {k: model[k] for k in prior} == prior
    p_skip = gap_skip_probabilities(cycles, model)["p_skip"].to_numpy()
    assert (p_skip[[2, 5]] > 0.9).all() and np.delete(p_skip, [2, 5]).max() < 0.1
    f = adherence_forecasts(cycles, model, "2024-11-18").iloc[0]  # 10 days after her last start
    assert f["cycle_day"] == 10 and f["p_missed_start"] < 0.01
    assert 27 <= (f["next_start"] - f["last_start"]).days <= 30
    assert f["next_start_lo80"] < f["next_start"] < f["next_start_hi80"]


def test_dask_cycles_give_the_same_model_and_by_day_rows(small):
    dd = pytest.importorskip("dask.dataframe")
    params = small["params"]
    ddf = dd.from_pandas(small["cycles"].sample(frac=1.0, random_state=0), npartitions=3)

    def run(cycles):
        model = fit_skip_aware_model(cycles, small["family"], params["adherence"])
        out = add_as_of_forecasts(small["forecasts"], cycles, model, small["input"])
        pred = evaluate_by_cycle_day(
            cycles, small["last"], small["family"], params["adherence"], params["by_cycle_day"]
        )
        return out, pred

    for pandas_frame, dask_frame in zip(run(small["cycles"]), run(ddf), strict=True):
        pd.testing.assert_frame_equal(pandas_frame, dask_frame)
