"""Project hooks: runtime resources built once from ``conf/<env>/runtime.yml``, never inside nodes.

``RuntimeHooks`` sets environment variables and the matplotlib backend when the context is
created, sets torch's CPU threads and starts the Dask client (``dask:`` block, ``--env dask``)
before a pipeline runs, and closes that client when the pipeline ends or fails. Nodes receive data
only: Dask collections use the client started here as their default scheduler.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class RuntimeHooks:
    """Environment, matplotlib backend, torch threads and the Dask client, from ``runtime`` config."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self._client: Any = None

    @hook_impl
    def after_context_created(self, context) -> None:
        """Read ``runtime`` config; set environment variables and the matplotlib backend."""
        self.config = runtime_config(context.config_loader)
        for key, value in (self.config.get("env") or {}).items():
            os.environ.setdefault(str(key), str(value))
        backend = self.config.get("matplotlib_backend")
        if backend:
            import matplotlib  # noqa: PLC0415

            matplotlib.use(backend)

    @hook_impl
    def before_pipeline_run(self) -> None:
        """Set torch's CPU threads (when configured) and start the Dask client (when configured)."""
        set_torch_threads(self.config.get("torch_num_threads"))
        if self.config.get("dask") and self._client is None:
            self._client = start_dask_client(self.config["dask"])

    @hook_impl
    def after_pipeline_run(self) -> None:
        """Close the Dask client and its LocalCluster."""
        self._close()

    @hook_impl
    def on_pipeline_error(self) -> None:
        """Close the Dask client and its LocalCluster after a failed run too."""
        self._close()

    def _close(self) -> None:
        if self._client is not None:
            close_dask_client(self._client)
            self._client = None


def runtime_config(config_loader: Any) -> dict[str, Any]:
    """The ``runtime`` config of the environment (``conf/<env>/runtime.yml``); empty when there is none."""
    try:
        return dict(config_loader["runtime"] or {})
    except (KeyError, MissingConfigException):
        return {}


def set_torch_threads(threads: int | None) -> None:
    """torch's CPU threads (``torch_num_threads``: a pipeline run and ``cycle-ask``); ``None`` keeps torch's default."""
    if threads:
        import torch  # noqa: PLC0415

        torch.set_num_threads(int(threads))


def start_dask_client(cfg: dict[str, Any]):
    """A ``distributed.Client``: to ``scheduler_address`` when given, else to a new ``LocalCluster``."""
    import dask  # noqa: PLC0415
    from dask.distributed import Client, LocalCluster  # noqa: PLC0415

    dask.config.set({"dataframe.convert-string": False})
    address = cfg.get("scheduler_address")
    if address:
        logger.info("Connecting to the Dask scheduler at %s", address)
        return Client(address)
    cluster = LocalCluster(
        n_workers=int(cfg.get("n_workers", 2)),
        threads_per_worker=int(cfg.get("threads_per_worker", 1)),
        processes=bool(cfg.get("processes", True)),
        memory_limit=cfg.get("memory_limit", "auto"),
        dashboard_address=cfg.get("dashboard_address"),
    )
    logger.info("Started a Dask LocalCluster: %s", cluster)
    return Client(cluster)


def close_dask_client(client) -> None:
    """Close ``client`` and the LocalCluster it started (a remote scheduler is left running)."""
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()
