#!/usr/bin/env bash
# Set up the project, install the browser for the kedro-viz check, generate the Airflow DAG, run the tests.
set -uo pipefail
cd "$(dirname "$0")/.."
export KEDRO_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg
bash scripts/setup.sh || exit 1
if [ -f scripts/install_chromium.sh ]; then
  bash scripts/install_chromium.sh || echo "chromium could not be installed: the browser check will be skipped"
fi
if [ -f scripts/airflow_dag.sh ]; then
  bash scripts/airflow_dag.sh || exit 1
fi
.venv/bin/python -m pytest "$@"
