#!/usr/bin/env bash
# Open the MLflow UI on the project's tracking store (sqlite:///mlflow.db in the project root).
#
# Usage: scripts/mlflow_ui.sh            # http://127.0.0.1:5000
#        PORT=5001 scripts/mlflow_ui.sh  # another port
#        HOST=0.0.0.0 scripts/mlflow_ui.sh  # reachable from other machines (trusted networks only)
# Equivalent: `kedro mlflow ui` (host/port from conf/base/mlflow.yml).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MLFLOW="mlflow"
if [[ -x "$ROOT/.venv/bin/mlflow" ]]; then
    MLFLOW="$ROOT/.venv/bin/mlflow"
fi

if [[ ! -f mlflow.db ]]; then
    echo "mlflow_ui.sh: no mlflow.db yet in $ROOT; run 'kedro run' first (the UI will be empty)" >&2
fi

export KEDRO_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
echo "MLflow UI on http://${HOST:-127.0.0.1}:${PORT:-5000} (store: sqlite:///mlflow.db, experiment: cycle_kedro)"
exec "$MLFLOW" ui --backend-store-uri sqlite:///mlflow.db --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
