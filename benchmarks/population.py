"""Throughput and peak memory of the population pipeline's forecast path, per engine.

Path timed: ``validate_period_starts`` -> ``build_period_cycles`` -> ``forecast_next_period``
(default models: shrinkage, median, statsforecast ARIMA(1,0,0) with fallback) on a seeded
synthetic population (``conf/base/parameters_population.yml``; generation is timed apart).
Each (size, engine) runs in a fresh subprocess so its peak memory is its own.

    .venv/bin/python benchmarks/population.py                      # 10k and 100k users
    .venv/bin/python benchmarks/population.py --sizes 10000        # one size
    .venv/bin/python benchmarks/population.py --include-1m         # adds 1,000,000 users (long)
    .venv/bin/python benchmarks/population.py --engines pandas1 dask2
    .venv/bin/python benchmarks/population.py --sizes 1000000 --models shrinkage median

Engines: ``pandas1`` / ``pandas2`` (pandas, statsforecast ``n_jobs`` 1 / 2) and ``dask2`` (a
2-worker, 1-thread, process-based ``LocalCluster``; one statsforecast call per partition).
Columns: ``users_per_s`` (forecast path only), ``per_worker`` (users/s divided by the number of
worker processes: multiply by a cluster's size for a first estimate), ``peak_main_mb`` (peak RSS of
the driver process) and ``peak_child_mb`` (largest peak RSS of any finished child process:
statsforecast's pool or the Dask workers).

``--adherence`` times the skip-aware model (:mod:`cycle_kedro.cycles.adherence`) instead: per
size, ``fit_s`` (population hyperparameters by variational EM on every user's logged gaps),
``posterior_s`` (every user's posterior and each gap's P(skip)) and ``forecast_s`` (the as-of
forecasts on ``AS_OF``), from the pipeline's cycle table (cleaning and cycle building timed apart);
then ``adherence_dask2``: the same fit and forecasts from a Dask parquet cycle table on a 2-worker
LocalCluster, as the pipeline's two nodes run under ``--env dask`` (:func:`run_adherence_dask`).
``--adherence-accuracy`` scores it day by day against the Bayes oracle on a generated cohort
(``ACCURACY_USERS`` users, 9% of starts unlogged on average, per-user Beta skip probability; users
in id order alternate between training and test): the family rule and the fit see the training
users only; each test user's last logged gap is held out and forecast from her earlier gaps as
of cycle days 0, 10, ..., 40, among users with no start by that day.

    .venv/bin/python benchmarks/population.py --adherence --sizes 100000 [--include-1m]
    .venv/bin/python benchmarks/population.py --adherence-accuracy
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "conf/base/parameters_population.yml"
ENGINES = {
    "pandas1": ({"engine": "pandas", "n_jobs": 1}, 1),
    "pandas2": ({"engine": "pandas", "n_jobs": 2}, 2),
    "dask2": ({"engine": "dask"}, 2),
}
# the cluster of engine dask2: what conf/dask/runtime.yml gives RuntimeHooks for `--env dask`
DASK_CLUSTER = {
    "scheduler_address": None,
    "n_workers": 2,
    "threads_per_worker": 1,
    "processes": True,
    "memory_limit": "auto",
    "dashboard_address": None,
}


AS_OF = "2026-07-01"
ACCURACY_USERS = 6000
ACCURACY_DAYS = (0, 10, 20, 25, 30, 35, 40)
ACCURACY_GENERATOR = {"p_missed_log": 0.09, "p_missed_concentration": 5.0, "gp_lambda": 0.3}


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux: kilobytes


def run_one(n_users: int, engine_name: str, models: list[str]) -> dict:
    """Time the forecast path for one size and engine in this process; return the numbers."""
    from cycle_kedro.hooks import close_dask_client, start_dask_client  # noqa: PLC0415
    from cycle_kedro.pipelines.population.generator import generate_population  # noqa: PLC0415
    from cycle_kedro.pipelines.population.intake import validate_period_starts  # noqa: PLC0415
    from cycle_kedro.pipelines.population.next_period import (  # noqa: PLC0415
        build_period_cycles,
        forecast_next_period,
    )

    params = yaml.safe_load(PARAMS.read_text())["population"]
    engine_cfg, workers = ENGINES[engine_name]
    engine_cfg = dict(engine_cfg)
    engine_cfg["batch_users"] = params["engine"].get("batch_users", 0)
    if engine_cfg["engine"] == "dask":
        engine_cfg["npartitions"] = max(8, n_users // 25_000)
    t0 = time.perf_counter()
    log, _ = generate_population(params["generator"] | {"n_users": n_users})
    t_gen = time.perf_counter() - t0
    input_cfg = {"source": "benchmark", "as_of": "2026-07-01", "min_gap_days": 10}
    client = None
    if engine_cfg["engine"] == "dask":
        client = start_dask_client(DASK_CLUSTER)  # cluster start-up is not part of the throughput
    t0 = time.perf_counter()
    kept, _ = validate_period_starts(log, input_cfg, engine_cfg)
    t_clean = time.perf_counter() - t0
    cycles = build_period_cycles(kept, params["skips"], engine_cfg)
    forecast_cfg = params["forecast"] | {"models": models}
    forecasts = forecast_next_period(cycles, forecast_cfg, params["skips"], engine_cfg)
    elapsed = time.perf_counter() - t0
    n_arima = int((forecasts["source"] == "arima").sum())
    if client is not None:
        close_dask_client(client)
    return {
        "n_users": n_users,
        "engine": engine_name,
        "models": "+".join(models),
        "workers": workers,
        "generate_s": round(t_gen, 1),
        "validate_s": round(t_clean, 1),
        "forecast_path_s": round(elapsed, 1),
        "users_per_s": round(n_users / elapsed, 1),
        "per_worker": round(n_users / elapsed / workers, 1),
        "arima_series": n_arima,
        "peak_main_mb": round(_peak_mb(resource.RUSAGE_SELF)),
        "peak_child_mb": round(_peak_mb(resource.RUSAGE_CHILDREN)),
    }


def _app_cycles(n_users: int):
    """The generated app cohort's kept cycles, and the seconds to generate and to clean them."""
    from cycle_kedro.pipelines.population import periods  # noqa: PLC0415
    from cycle_kedro.pipelines.population.generator import generate_population  # noqa: PLC0415

    params = yaml.safe_load(PARAMS.read_text())["population"]
    t0 = time.perf_counter()
    log, _ = generate_population(params["generator"] | {"n_users": n_users})
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    clean = periods.clean_starts(log, AS_OF, 10)
    del log
    kept = clean.loc[clean["reason"].isna(), ["user_id", "period_start"]]
    del clean
    cycles = periods.build_cycles(kept.reset_index(drop=True), params["skips"])
    return cycles, t_gen, time.perf_counter() - t0


def run_adherence(n_users: int) -> dict:
    """Time the skip-aware model's fit and as-of forecasts for one size in this process."""
    from cycle_kedro.cycles import adherence  # noqa: PLC0415

    cycles, t_gen, t_clean = _app_cycles(n_users)
    t0 = time.perf_counter()
    users, codes, lengths = adherence.user_gaps(cycles)
    t1 = time.perf_counter()
    state = adherence.fit_adherence_model(lengths, codes)
    t2 = time.perf_counter()
    post, p_skip = adherence.adherence_posterior(state, lengths, codes, len(users))
    t3 = time.perf_counter()
    day = (pd.Timestamp(AS_OF) - pd.to_datetime(users["last_start"])).dt.days.to_numpy()
    adherence.forecast_as_of(state, post, day)
    t4 = time.perf_counter()
    return {
        "n_users": n_users,
        "engine": "adherence",
        "n_gaps": len(lengths),
        "generate_s": round(t_gen, 1),
        "clean_cycles_s": round(t_clean, 1),
        "gaps_s": round(t1 - t0, 1),
        "fit_s": round(t2 - t1, 1),
        "fit_rounds": state["fit_rounds_run"],
        "posterior_s": round(t3 - t2, 1),
        "forecast_s": round(t4 - t3, 1),
        "fit_forecast_s": round(t4 - t0, 1),
        "users_per_s": round(n_users / (t4 - t0), 1),
        "flagged_gaps": int((p_skip >= 0.5).sum()),
        "peak_main_mb": round(_peak_mb(resource.RUSAGE_SELF)),
    }


def run_adherence_dask(n_users: int) -> dict:
    """The skip-aware model's fit and as-of forecasts as ``kedro run --env dask`` runs them.

    The cycle table (built as in :func:`run_adherence`, not timed) is written as a Dask parquet
    dataset (``conf/dask``'s ``period_cycles``); timed: the two nodes that read it on a 2-worker
    LocalCluster, ``fit_skip_aware_model`` and the as-of forecasts of ``add_as_of_forecasts``
    (each collects the cycles into pandas, as in the pipeline). Results equal the pandas engine's.
    """
    import tempfile  # noqa: PLC0415

    import dask.dataframe as dd  # noqa: PLC0415

    from cycle_kedro.cycles import adherence  # noqa: PLC0415
    from cycle_kedro.hooks import close_dask_client, start_dask_client  # noqa: PLC0415
    from cycle_kedro.pipelines.population import engine  # noqa: PLC0415
    from cycle_kedro.pipelines.population.as_of import fit_skip_aware_model  # noqa: PLC0415

    params = yaml.safe_load(PARAMS.read_text())["population"]
    cycles, _, _ = _app_cycles(n_users)
    client = start_dask_client(DASK_CLUSTER)
    with tempfile.TemporaryDirectory() as tmp:
        npartitions = max(8, n_users // 25_000)
        dd.from_pandas(cycles, npartitions=npartitions).to_parquet(tmp, write_index=False)
        del cycles
        t0 = time.perf_counter()
        ddf = dd.read_parquet(tmp)
        state = fit_skip_aware_model(ddf, {"family": "normal"}, params["adherence"])
        t1 = time.perf_counter()
        adherence.adherence_forecasts(engine.compute(ddf), state, AS_OF)
        t2 = time.perf_counter()
    close_dask_client(client)
    return {
        "n_users": n_users,
        "engine": "adherence_dask2",
        "fit_s": round(t1 - t0, 1),
        "forecast_s": round(t2 - t1, 1),
        "fit_forecast_s": round(t2 - t0, 1),
        "users_per_s": round(n_users / (t2 - t0), 1),
        "peak_main_mb": round(_peak_mb(resource.RUSAGE_SELF)),
        "peak_child_mb": round(_peak_mb(resource.RUSAGE_CHILDREN)),
    }


def _split_gaps(truth: pd.DataFrame, users: pd.DataFrame):
    """Gap arrays of the generated cohort: codes in ``users`` order, train/test, held-out last gap."""
    codes = pd.Index(users["user_id"]).get_indexer(truth["user_id"])
    x = truth["gap_days"].to_numpy(float)
    test_user = np.arange(len(users)) % 2 == 1
    last = np.zeros(len(x), dtype=bool)
    last[len(codes) - 1 - np.unique(codes[::-1], return_index=True)[1]] = True
    return codes, x, test_user, last


def accuracy_rows(family: str) -> tuple[list[dict], dict]:
    """Day-by-day errors of the skip-aware model and of the Bayes oracle on a generated cohort.

    The scoring is the population pipeline's (:mod:`cycle_kedro.pipelines.population.by_cycle_day`).
    """
    from cycle_kedro.cycles import adherence  # noqa: PLC0415
    from cycle_kedro.pipelines.population.by_cycle_day import (  # noqa: PLC0415
        scores,
        skip_aware_predictions,
    )
    from cycle_kedro.pipelines.population.generator import (  # noqa: PLC0415
        cycle_length_pmf,
        generate_cohort,
    )
    from cycle_kedro.pipelines.population.oracle import oracle_predictions  # noqa: PLC0415

    params = yaml.safe_load(PARAMS.read_text())["population"]
    cfg = params["generator"] | ACCURACY_GENERATOR | {"n_users": ACCURACY_USERS, "family": family}
    _, truth, users = generate_cohort(cfg)
    codes, x, test_user, last = _split_gaps(truth, users)
    train = ~test_user[codes]
    chosen, family_scores = adherence.select_family(x[train], codes[train])
    held = test_user[codes] & last
    pred, target, state = skip_aware_predictions(
        users,
        codes,
        x,
        test=test_user,
        held=held,
        options={"family": chosen},
        days=list(ACCURACY_DAYS),
    )
    hist = test_user[codes] & ~held
    _, p_skip = adherence.adherence_posterior(state, x[hist], codes[hist], len(users))
    cycle = cycle_length_pmf(users, cfg)
    p_missed = users["p_missed"].to_numpy()
    median_prev = pd.Series(x[hist]).groupby(codes[hist]).median().reindex(range(len(users)))
    rows = []
    for d, p in pred.groupby("day", sort=True):
        sel = test_user & (target > d)
        oracle = oracle_predictions(p, cycle[sel], p_missed[sel])
        row = {"generator": family, "model_family": chosen, "day": d, "n_users": len(p)}
        for name, q in (("model", p), ("oracle", oracle)):
            m = scores(q)
            row |= {f"{name}_mae": m["mae"], f"{name}_rmse": m["rmse"]}
            row |= {f"{name}_medae": m["median_ae"], f"{name}_cov80": m["coverage80"]}
        row["mae_ratio"] = row["model_mae"] / row["oracle_mae"]
        row["median_prev_mae"] = np.abs(target[sel] - median_prev.to_numpy()[sel]).mean()
        rows.append(row)
    actual = truth["n_missed"].to_numpy()[hist] > 0
    flag = p_skip >= 0.5
    skips = {
        "generator": family,
        "family_scores": {k: round(v, 4) for k, v in family_scores.items()},
        "test_gaps": int(hist.sum()),
        "true_skips": int(actual.sum()),
        "precision": float((flag & actual).sum() / max(flag.sum(), 1)),
        "recall": float((flag & actual).sum() / max(actual.sum(), 1)),
    }
    return rows, skips


def _print_table(rows: list[dict]) -> None:
    cols = list(rows[0])
    print(" | ".join(cols))  # noqa: T201
    for r in rows:
        cells = (f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols)
        print(" | ".join(cells))  # noqa: T201


def print_accuracy() -> None:
    """The day-by-day table for both generator families, then the skip detection per family."""
    rows, skips = [], []
    for family in ("normal", "generalized_poisson"):
        r, k = accuracy_rows(family)
        rows += r
        skips.append(k)
    _print_table(rows)
    for k in skips:
        print(json.dumps(k))  # noqa: T201


def main() -> None:
    """Run every (size, engine) pair in a subprocess and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--include-1m", action="store_true", help="also run 1,000,000 users")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument(
        "--models", nargs="+", default=["shrinkage", "median", "arima"], help="default: all three"
    )
    parser.add_argument("--adherence", action="store_true", help="time the skip-aware model")
    parser.add_argument(
        "--adherence-accuracy", action="store_true", help="skip-aware model vs the Bayes oracle"
    )
    parser.add_argument("--one", nargs=2, metavar=("N_USERS", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        if args.one[1] == "adherence":
            print(json.dumps(run_adherence(int(args.one[0]))))  # noqa: T201
        elif args.one[1] == "adherence_dask2":
            print(json.dumps(run_adherence_dask(int(args.one[0]))))  # noqa: T201
        else:
            print(json.dumps(run_one(int(args.one[0]), args.one[1], args.models)))  # noqa: T201
        return
    if args.adherence_accuracy:
        print_accuracy()
        return
    sizes = [*args.sizes, *([1_000_000] if args.include_1m else [])]
    if args.adherence:
        args.engines = ["adherence", "adherence_dask2"]
    rows = []
    for n in sizes:
        for name in args.engines:
            cmd = [sys.executable, __file__, "--one", str(n), name, "--models", *args.models]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
            if done.returncode != 0:
                print(f"{n} {name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)  # noqa: T201
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # noqa: T201
    if not rows:
        return
    cols = list(dict.fromkeys(c for r in rows for c in r))
    print(" | ".join(cols))  # noqa: T201
    for r in rows:
        print(" | ".join(str(r.get(c, "")) for c in cols))  # noqa: T201
    _print_ratios(rows, sizes)


def _print_ratios(rows: list[dict], sizes: list[int]) -> None:
    by = {(r["n_users"], r["engine"]): r["users_per_s"] for r in rows}
    for n in sizes:
        if (n, "pandas1") in by and (n, "pandas2") in by:
            ratio = by[n, "pandas2"] / by[n, "pandas1"]
            print(f"{n} users: pandas n_jobs=2 / n_jobs=1 throughput = {ratio:.2f}x")  # noqa: T201


if __name__ == "__main__":
    main()
