"""Project settings (Kedro defaults except where noted)."""

import warnings
from pathlib import Path

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

from cycle_kedro.errors import DataErrorHooks
from cycle_kedro.hooks import RuntimeHooks

# kedro-mlflow's own pyfunc class KedroPipelineModel (imported by its CLI plugin and its hook at every
# `kedro` command, after this file) has an untyped `predict`, and MLflow warns about that when the
# class is defined. This project serves its own typed model (cycle_kedro.cycles.serving), so the class
# is imported here first and that one warning dropped (MLflow sets its own filter around the check, so
# a filter here would not reach it; any other warning of the import is shown).
with warnings.catch_warnings(record=True) as _caught:
    import kedro_mlflow.mlflow  # noqa: F401
for _w in _caught:
    if "Add type hints to the `predict` method" not in str(_w.message):
        warnings.showwarning(_w.message, _w.category, _w.filename, _w.lineno)

# Runtime resources (environment, matplotlib backend, torch threads, Dask client) from conf runtime.yml;
# one-screen errors for bad input and a clear message for an unknown --env (cycle_kedro.errors)
HOOKS = (RuntimeHooks(), DataErrorHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # ${oc.env:VAR,default} in the catalog: local data paths (MCPHASES_DIR, PERIOD_STARTS_FILE) come from the shell.
    # ${cwd:} (kedro runs from the project root): an absolute MLflow store path per project, since MLflow
    # caches stores by URI string and a relative sqlite URI would reach another project's store in-process.
    "custom_resolvers": {"oc.env": oc.env, "cwd": lambda: Path.cwd().as_posix()},
    # an env (a100, dask) overrides single nested parameters instead of replacing whole top-level keys
    "merge_strategy": {"parameters": "soft", "runtime": "soft"},
    "config_patterns": {"runtime": ["runtime*", "runtime*/**"]},
}
