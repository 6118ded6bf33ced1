"""Project settings (Kedro defaults except where noted)."""

from pathlib import Path

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

from cycle_kedro.errors import DataErrorHooks
from cycle_kedro.hooks import RuntimeHooks

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
