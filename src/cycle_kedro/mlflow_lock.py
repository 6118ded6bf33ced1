"""Two ``kedro run``s started together in one project both finish and both appear in MLflow.

kedro-mlflow sets MLflow up when the context is created: the first run in a project creates the
sqlite store's tables (with migrations) and the experiment. Two runs doing that at once collide
("duplicate column name", "Online migration expected to match one row"). :class:`MlflowSetupLock`
(registered in ``settings.HOOKS``) holds an exclusive lock on the project folder around that step:
taken by the first ``after_context_created`` hook, released by the last, so kedro-mlflow's own
setup runs in between, one process at a time. After it, runs write to the same store concurrently;
the ``timeout`` in ``conf/base/mlflow.yml``'s sqlite URI makes a writer wait for the other's lock
instead of failing. Without ``fcntl`` (Windows) nothing is locked.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

WAIT_SECONDS = 120.0


def acquire(folder: Path, wait: float = WAIT_SECONDS) -> int | None:
    """An exclusive ``flock`` on ``folder`` (its descriptor), or ``None`` after ``wait`` seconds."""
    try:
        import fcntl  # noqa: PLC0415  (POSIX only)
    except ImportError:
        return None
    fd = os.open(folder, os.O_RDONLY)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                logger.warning("another run holds the MLflow setup lock on %s; going on", folder)
                return None
            time.sleep(0.1)


def release(fd: int | None) -> None:
    """Release a lock from :func:`acquire` (closing the descriptor releases it)."""
    if fd is not None:
        os.close(fd)


class MlflowSetupLock:
    """One process at a time through kedro-mlflow's setup (store tables, experiment)."""

    def __init__(self) -> None:
        self._fd: int | None = None

    @hook_impl(tryfirst=True, specname="after_context_created")
    def lock_mlflow_setup(self, context) -> None:
        release(self._fd)
        self._fd = acquire(Path(context.project_path))

    @hook_impl(trylast=True, specname="after_context_created")
    def unlock_mlflow_setup(self) -> None:
        release(self._fd)
        self._fd = None
