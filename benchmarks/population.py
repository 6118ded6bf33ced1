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
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

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


def main() -> None:
    """Run every (size, engine) pair in a subprocess and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--include-1m", action="store_true", help="also run 1,000,000 users")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument(
        "--models", nargs="+", default=["shrinkage", "median", "arima"], help="default: all three"
    )
    parser.add_argument("--one", nargs=2, metavar=("N_USERS", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(int(args.one[0]), args.one[1], args.models)))  # noqa: T201
        return
    sizes = [*args.sizes, *([1_000_000] if args.include_1m else [])]
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
    cols = list(rows[0])
    print(" | ".join(cols))  # noqa: T201
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))  # noqa: T201
    by = {(r["n_users"], r["engine"]): r["users_per_s"] for r in rows}
    for n in sizes:
        if (n, "pandas1") in by and (n, "pandas2") in by:
            ratio = by[n, "pandas2"] / by[n, "pandas1"]
            print(f"{n} users: pandas n_jobs=2 / n_jobs=1 throughput = {ratio:.2f}x")  # noqa: T201


if __name__ == "__main__":
    main()
