"""Node and helper tests for the population pipeline (tiny hand-made or generated data)."""

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.cycles.baselines import expanding_baselines
from cycle_kedro.pipelines.population import forecasts, periods
from cycle_kedro.pipelines.population.evaluation import score_skip_flags, summarise_evaluation
from cycle_kedro.pipelines.population.intake import validate_period_starts
from cycle_kedro.pipelines.population.next_period import (
    build_period_cycles,
    evaluate_last_cycle,
    forecast_next_period,
)
from cycle_kedro.pipelines.population.sources import (
    convert_cycles_to_starts,
    generate_app_population,
)
from cycle_kedro.validation import DataValidationError


def _small_generator(params: dict, n_users: int = 300) -> dict:
    return params["generator"] | {"n_users": n_users}


# ---------------------------------------------------------------- parsing and bad input
def test_parsing_accepts_iso_dates_timestamps_and_whitespace(input_cfg, pandas_engine):
    log = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", 17],
            "period_start": [" 2024-01-01", "2024-01-30T08:15:00", "2024-02-28", "2024-03-01"],
        }
    )
    kept, dropped = validate_period_starts(log, input_cfg, pandas_engine)
    assert dropped.empty
    assert set(kept["user_id"]) == {"a", "17"}  # a numeric id is read as text
    assert kept.loc[kept["user_id"] == "a", "period_start"].dt.day.tolist() == [1, 30, 28]


def test_parsing_accepts_a_datetime_column(input_cfg, pandas_engine):
    log = pd.DataFrame(
        {"user_id": ["u", "u"], "period_start": pd.to_datetime(["2024-01-01", "2024-01-29"])}
    )
    kept, dropped = validate_period_starts(log, input_cfg, pandas_engine)
    assert len(kept) == 2 and dropped.empty


def test_bad_rows_are_dropped_per_user_with_a_reason(input_cfg, pandas_engine):
    log = pd.DataFrame(
        {
            "user_id": ["u"] * 8,
            "period_start": [
                "2024-01-01",
                "2024-01-01",  # duplicate
                "2024-13-45",  # unparseable
                "01/02/2024",  # not ISO
                "2024-01-29",
                "2024-02-04",  # 6 days after a kept start: short gap
                "2024-02-10",  # 12 days after the last KEPT start: kept
                "2031-05-01",  # after as_of: future
            ],
        }
    )
    kept, dropped = validate_period_starts(log, input_cfg, pandas_engine)
    reasons = dict(zip(dropped["period_start"], dropped["reason"], strict=True))
    assert reasons == {
        "2024-01-01": "duplicate",
        "2024-13-45": "unparseable",
        "01/02/2024": "unparseable",
        "2024-02-04": "short_gap",
        "2031-05-01": "future",
    }
    assert kept["period_start"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-01",
        "2024-01-29",
        "2024-02-10",
    ]


@pytest.mark.parametrize(
    ("log", "column", "row"),
    [
        (pd.DataFrame({"user_id": ["a", None], "period_start": ["2024-01-01"] * 2}), "user_id", 1),
        (pd.DataFrame({"user_id": ["a", "  "], "period_start": ["2024-01-01"] * 2}), "user_id", 1),
        (
            pd.DataFrame({"user_id": ["a", "b"], "period_start": ["2024-01-01", None]}),
            "period_start",
            1,
        ),
    ],
)
def test_bad_file_names_source_column_and_row(log, column, row, input_cfg, pandas_engine):
    with pytest.raises(DataValidationError) as err:
        validate_period_starts(log, input_cfg, pandas_engine)
    message = str(err.value)
    assert message.startswith(input_cfg["source"])
    assert f"column '{column}'" in message
    assert f"row {row} (file line {row + 2})" in message


def test_missing_column_and_empty_table_fail_clearly(input_cfg, pandas_engine):
    with pytest.raises(DataValidationError, match="period_start"):
        validate_period_starts(pd.DataFrame({"user_id": ["a"]}), input_cfg, pandas_engine)
    with pytest.raises(DataValidationError, match="empty"):
        validate_period_starts(pd.DataFrame(), input_cfg, pandas_engine)


def test_header_only_log_and_no_cycle_fail_clearly(input_cfg, params, pandas_engine):
    log = pd.DataFrame({"user_id": pd.Series(dtype=str), "period_start": pd.Series(dtype=str)})
    with pytest.raises(DataValidationError, match=input_cfg["source"]):
        validate_period_starts(log, input_cfg, pandas_engine)
    one_start_each = pd.DataFrame({"user_id": ["a", "b"], "period_start": ["2024-01-01"] * 2})
    # the first node says so, before anything is written (no empty tables downstream)
    with pytest.raises(DataValidationError, match=r"export.csv: no completed cycle: 2 user"):
        validate_period_starts(one_start_each, input_cfg, pandas_engine)


# ---------------------------------------------------------------- skips and cycles
def test_planted_skips_are_flagged_with_their_multiple(
    planted_log, input_cfg, params, pandas_engine
):
    kept, _ = validate_period_starts(planted_log, input_cfg, pandas_engine)
    cycles = build_period_cycles(kept, params["skips"], pandas_engine)
    skipper = cycles[cycles["user_id"] == "skipper"]
    assert skipper["typical_length"].iloc[0] == 28
    flagged = skipper[skipper["skip_flag"]]
    assert flagged["cycle_length"].tolist() == [56, 84]
    assert flagged["skip_k"].tolist() == [2, 3]
    assert not cycles.loc[cycles["user_id"] != "skipper", "skip_flag"].any()
    assert cycles.groupby("user_id")["cycle_length"].apply(lambda s: s.isna().sum()).eq(1).all()


def test_skip_handling_split_and_downweight(planted_log, input_cfg, params, pandas_engine):
    kept, _ = validate_period_starts(planted_log, input_cfg, pandas_engine)
    cycles = build_period_cycles(kept, params["skips"], pandas_engine)
    skipper = cycles[cycles["user_id"] == "skipper"]
    split = periods.history(skipper, "split", 0.25)
    assert len(split) == 8 + 1 + 2 and split["cycle_length"].max() == 29
    assert split["cycle_length"].sum() == skipper["cycle_length"].sum()
    down = periods.history(skipper, "downweight", 0.25)
    assert sorted(down.loc[down["weight"] < 1, "cycle_length"]) == [56, 84]
    with pytest.raises(ValueError, match="handling"):
        periods.history(skipper, "ignore", 0.25)


def test_generator_is_seeded_and_its_truth_scores_the_flags(params, pandas_engine):
    gen = _small_generator(params)
    log, truth = generate_app_population(gen, pandas_engine)
    log2, _ = generate_app_population(gen, pandas_engine)
    pd.testing.assert_frame_equal(log, log2)
    assert log["user_id"].nunique() == gen["n_users"]
    per_user = truth.groupby("user_id").size() + 1  # logged starts before the planted noise
    assert per_user.between(gen["min_starts"], gen["max_starts"]).all()
    assert 0.02 < (truth["n_missed"] > 0).mean() < 0.09
    input_cfg = {"source": "generated", "as_of": "2026-07-01", "min_gap_days": 10}
    kept, dropped = validate_period_starts(log, input_cfg, pandas_engine)
    assert set(dropped["reason"]) <= {"duplicate", "short_gap"}
    cycles = build_period_cycles(kept, params["skips"], pandas_engine)
    scores, metrics = score_skip_flags(cycles, truth, params["skips"], params["skip_scoring"])
    best = scores[scores["configured"]].iloc[0]
    assert best["precision"] > 0.9 and best["recall"] > 0.85
    assert metrics["population.app.skip_flags.recall"]["value"] == best["recall"]


def test_fedcycle_lengths_become_starts_and_back():
    cycles = pd.DataFrame(
        {
            "woman_id": ["w1"] * 3 + ["w2"] * 2,
            "cycle_index": [1, 2, 3, 1, 2],
            "cycle_length": [28.0, 31.0, 27.0, 35.0, 33.0],
        }
    )
    log = convert_cycles_to_starts(cycles, {"anchor_date": "2012-01-01"})
    assert log.groupby("user_id").size().to_dict() == {"w1": 4, "w2": 3}
    d = pd.to_datetime(log["period_start"])
    gaps = d.groupby(log["user_id"]).diff().dt.days.dropna()
    assert gaps.tolist() == [28, 31, 27, 35, 33]


# ---------------------------------------------------------------- forecasts
def test_users_with_fewer_than_two_starts_get_the_population_forecast(
    planted_log, input_cfg, params, pandas_engine
):
    kept, _ = validate_period_starts(planted_log, input_cfg, pandas_engine)
    cycles = build_period_cycles(kept, params["skips"], pandas_engine)
    fc = forecast_next_period(cycles, params["forecast"], params["skips"], pandas_engine)
    assert len(fc) == 3 * len(params["forecast"]["models"])
    newbie = fc[fc["user_id"] == "newbie"]
    assert newbie["population_fallback"].all() and (newbie["n_cycles_used"] == 0).all()
    assert newbie["next_start"].notna().all()
    assert (newbie["length_lo80"] < newbie["predicted_length"]).all()
    regular = fc[(fc["user_id"] == "regular") & (fc["model"] == "median")].iloc[0]
    assert regular["predicted_length"] == 30 and regular["next_start"] == pd.Timestamp(
        "2024-01-03"
    ) + pd.Timedelta(days=210 + 30)
    skipper = fc[fc["user_id"] == "skipper"].iloc[0]
    assert skipper["skip_flags"] == "00100100" and skipper["n_skips_flagged"] == 2


def test_weighted_adapter_matches_the_forecasting_baselines_with_unit_weights():
    rng = np.random.default_rng(3)
    h = pd.DataFrame(
        {
            "woman_id": np.repeat(["a", "b", "c"], [5, 2, 7]),
            "cycle_length": rng.normal(29, 3, 14).round(),
        }
    )
    h["cycle_index"] = h.groupby("woman_id").cumcount() + 1
    h["weight"], h["flagged"] = 1.0, False
    pop = {"mean": 29.0, "k": 2.5, "sigma2": 4.0}
    ref = forecasts._baselines(h, pop)
    weighted = forecasts._baselines(h.assign(weight=np.where(h.index == 0, 1.0 - 1e-12, 1.0)), pop)
    np.testing.assert_allclose(weighted["shrinkage"], ref["shrinkage"], rtol=1e-9)
    last = h.groupby("woman_id")["cycle_index"].max()
    full = pd.concat(
        [h, pd.DataFrame({"woman_id": last.index, "cycle_index": last + 1})], ignore_index=True
    )
    direct = expanding_baselines(full, 29.0, 2.5).iloc[len(h) :]
    np.testing.assert_allclose(ref["shrinkage"].to_numpy(), direct["shrinkage"].to_numpy())


def test_no_leakage_of_the_scored_cycle(planted_log, input_cfg, params, pandas_engine):
    params["forecast"]["models"] = ["shrinkage", "median"]
    params["evaluation"]["handlings"] = ["keep", "split"]
    kept, _ = validate_period_starts(planted_log, input_cfg, pandas_engine)
    args = (
        params["forecast"],
        params["skips"],
        params["evaluation"],
        pandas_engine,
    )
    before = evaluate_last_cycle(kept, *args)
    moved = kept.copy()
    last = moved.groupby("user_id")["period_start"].transform("max") == moved["period_start"]
    moved.loc[last & (moved["user_id"] == "skipper"), "period_start"] += pd.Timedelta(days=40)
    after = evaluate_last_cycle(moved, *args)
    cols = [
        "predicted_length",
        "length_lo80",
        "length_hi80",
        "next_start",
        "n_cycles_used",
        "skip_flags",
    ]
    pd.testing.assert_frame_equal(before[cols], after[cols])
    assert not before["error_days"].equals(after["error_days"])
    assert set(before["user_id"]) == {"regular", "skipper"}  # one start: nothing to score
    row = before[(before["user_id"] == "regular") & (before["model"] == "median")].iloc[0]
    assert row["n_cycles_logged"] == 6 and row["actual_length"] == 31


def test_summary_table_and_mlflow_keys(planted_log, input_cfg, params, pandas_engine):
    params["forecast"]["models"] = ["shrinkage", "median"]
    kept, _ = validate_period_starts(planted_log, input_cfg, pandas_engine)
    preds = evaluate_last_cycle(
        kept,
        params["forecast"],
        params["skips"],
        params["evaluation"],
        pandas_engine,
    )
    table, metrics = summarise_evaluation(preds, input_cfg)
    assert len(table) == 3 * 2 * 2
    key = "population.app.split.median.all.start_mae_days"
    expected = preds.query("handling == 'split' and model == 'median'")["error_days"].abs().mean()
    assert metrics[key]["value"] == pytest.approx(expected)
    assert all(k.startswith("population.app.") and v["step"] == 0 for k, v in metrics.items())


def test_pandas_batches_of_users_give_the_same_tables(params):
    log, _ = generate_app_population(_small_generator(params, 600), {"engine": "pandas"})
    forecast = params["forecast"] | {"models": ["shrinkage", "median"]}
    input_cfg = {"source": "generated", "as_of": "2026-07-01", "min_gap_days": 10}
    results = []
    for batch in (0, 150):
        engine = {"engine": "pandas", "n_jobs": 1, "batch_users": batch}
        kept, dropped = validate_period_starts(log, input_cfg, engine)
        cycles = build_period_cycles(kept, params["skips"], engine)
        fc = forecast_next_period(cycles, forecast, params["skips"], engine)
        ev = evaluate_last_cycle(kept, forecast, params["skips"], params["evaluation"], engine)
        results.append((dropped, fc, ev))
    for whole, batched in zip(*results, strict=True):
        pd.testing.assert_frame_equal(whole, batched)
