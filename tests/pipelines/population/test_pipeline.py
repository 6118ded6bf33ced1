"""Pipeline tests: a small end-to-end run, and pandas vs a 2-worker Dask LocalCluster."""

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from cycle_kedro.hooks import close_dask_client, start_dask_client
from cycle_kedro.pipelines.population import create_pipeline
from cycle_kedro.pipelines.population.generator import generate_population
from cycle_kedro.pseudonyms import PseudonymKey
from tests.conftest import TEST_KEY

SHARED = [
    "skips",
    "forecast",
    "evaluation",
    "skip_scoring",
    "fedcycle_starts",
    "adherence",
    "by_cycle_day",
    "skip_detection",
]


def _catalog(params: dict, engine: dict) -> DataCatalog:
    catalog = DataCatalog()
    for key in SHARED:
        catalog[f"params:population.{key}"] = params[key]
    catalog["params:population.engine"] = engine
    catalog["params:population.generator"] = params["generator"]
    catalog["params:population.evaluation.max_cycles_plotted"] = 10
    catalog["pseudonym_key"] = PseudonymKey(TEST_KEY)
    for cohort in ("app", "fedcycle"):
        cfg = params[cohort]["input"] | {"as_of": "2026-07-01"}
        catalog[f"params:population.{cohort}.input"] = cfg
    return catalog


@pytest.fixture
def dask_client():
    """A 2-worker, in-process LocalCluster as the default client (what RuntimeHooks does for --env dask)."""
    pytest.importorskip("dask.distributed")
    client = start_dask_client(
        {
            "scheduler_address": None,
            "n_workers": 2,
            "threads_per_worker": 1,
            "processes": False,
            "dashboard_address": None,
        }
    )
    yield client
    close_dask_client(client)


def _fedcycle(n_women: int = 8, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        {
            "woman_id": f"{w:012x}",
            "cycle_index": i + 1,
            "cycle_length": float(round(rng.normal(29, 2))),
        }
        for w in range(n_women)
        for i in range(int(rng.integers(3, 12)))
    ]
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_population_pipeline_end_to_end(params):
    params["generator"]["n_users"] = 300
    params["forecast"]["models"] = ["shrinkage", "median", "arima"]
    catalog = _catalog(params, {"engine": "pandas", "n_jobs": 1})
    catalog["fedcycle_cycles"] = _fedcycle()

    out = SequentialRunner().run(create_pipeline(), catalog)

    metrics = out["population.app.population_metrics"].load()
    keys = {tuple(k.split(".")[2:5]) for k in metrics}
    assert len(keys) == 3 * 3 * 2  # handlings x models x subsets
    m = {k: v["value"] for k, v in metrics.items()}
    assert m["population.app.keep.median.all.n_users"] == 300
    clean = [v for k, v in m.items() if "scored_not_skip" in k and k.endswith("start_mae_days")]
    assert 0.5 < min(clean) and max(clean) < 6  # the generator's within-user SD is ~2 days
    keep, split = (
        m[f"population.app.{h}.shrinkage.all.start_rmse_days"] for h in ("keep", "split")
    )
    assert split <= keep
    forecasts = out["population.app.next_period_forecasts"].load()
    assert forecasts["user_id"].nunique() == 300
    assert (forecasts["next_start"] > forecasts["last_start"]).all()
    fed = out["population.fedcycle.population_metrics"].load()
    assert fed["population.fedcycle.split.arima.all.n_users"]["value"] == 8
    skip = out["population.skip_flag_metrics"].load()
    assert skip["population.app.skip_flags.recall"]["value"] > 0.8
    for name in ("error_by_n_cycles_plot", "interval_coverage_plot"):
        assert out[f"population.app.{name}@matplotlib"].load().axes


@pytest.mark.slow
def test_pandas_and_dask_give_identical_forecasts(params, dask_client):
    pytest.importorskip("dask.distributed")
    params["generator"]["n_users"] = 1000
    params["app"]["input"]["pseudonymise"] = True  # both engines pseudonymise alike
    log, _ = generate_population(params["generator"])
    pipe = (
        create_pipeline()
        .from_nodes("population.app.validate_period_starts")
        .to_nodes("population.app.add_as_of_forecasts")
    )
    engines = {
        "pandas": {"engine": "pandas", "n_jobs": 1},
        "dask": {"engine": "dask", "npartitions": 4},  # on the dask_client fixture's cluster
    }
    results = {}
    for name, engine in engines.items():
        catalog = _catalog(params, engine)
        catalog["period_starts"] = log
        out = SequentialRunner().run(pipe, catalog)
        results[name] = out["population.app.next_period_forecasts"].load()
    pd.testing.assert_frame_equal(results["pandas"], results["dask"])  # the as-of columns too
    assert {"cycle_day", "as_of_next_start", "p_missed_start", "p_start_soon"} <= set(
        results["pandas"].columns
    )
    assert results["pandas"]["as_of_next_start"].notna().all()
    assert results["pandas"]["user_id"].nunique() == 1000
    assert not set(results["pandas"]["user_id"]) & set(log["user_id"])  # pseudonyms, not raw ids
    assert set(results["pandas"]["source"]) >= {"arima", "shrinkage"}
