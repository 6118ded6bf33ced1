"""Project settings (Kedro defaults except where noted)."""

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # ${oc.env:VAR,default} in the catalog: local data paths (MCPHASES_DIR, PERIOD_STARTS_FILE) come from the shell.
    "custom_resolvers": {"oc.env": oc.env},
    # an env (a100, dask) overrides single nested parameters instead of replacing whole top-level keys
    "merge_strategy": {"parameters": "soft"},
}
