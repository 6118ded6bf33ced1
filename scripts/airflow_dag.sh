#!/usr/bin/env bash
# Generate the Airflow DAG of the `population` pipeline with kedro-airflow and byte-compile it.
#
#   scripts/airflow_dag.sh [build-dir] [kedro-env]     (defaults: build/airflow, local)
#
# The DAG file lands in <build-dir>/cycle_kedro_population_dag.py (one Airflow task per Kedro
# node, each running `kedro run --nodes=...`). `py_compile` checks it is valid Python without
# needing Airflow installed. Use `--env dask` (second argument) for a DAG whose tasks run
# the Dask engine against `dask.scheduler_address` (conf/dask/runtime.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build/airflow}"
KEDRO_ENV="${2:-local}"
KEDRO="${KEDRO:-.venv/bin/kedro}"
PYTHON="${PYTHON:-.venv/bin/python}"
export KEDRO_DISABLE_TELEMETRY=true DO_NOT_TRACK=1

mkdir -p "$BUILD_DIR"
"$KEDRO" airflow create --pipelines=population --env="$KEDRO_ENV" --target-dir="$BUILD_DIR"
shopt -s nullglob
dags=("$BUILD_DIR"/*population*dag*.py)
if [ "${#dags[@]}" -eq 0 ]; then
    echo "airflow_dag.sh: kedro airflow create wrote no population DAG into $BUILD_DIR" >&2
    exit 1
fi
for dag in "${dags[@]}"; do
    "$PYTHON" -m py_compile "$dag"
    echo "airflow_dag.sh: generated and byte-compiled $dag"
done
