"""Bad input ends in one short block on stderr and a non-zero exit, not in a 300-line traceback.

:class:`DataErrorHooks` (registered in ``settings.HOOKS``):

* ``after_context_created`` (first of all hooks): stops a run whose ``--env`` names no folder in
  ``conf/`` with the list of environments (before kedro-mlflow reads a configuration that does
  not exist and fails with an unrelated MLflow message), and installs :func:`excepthook`.
* ``on_pipeline_error``: makes sure :func:`excepthook` is installed when a run fails.

:func:`excepthook` prints :meth:`~cycle_kedro.validation.DataValidationError.block` (file, column,
row/line, the value truncated, what is expected, a hint) for a data error and exits with status 1;
every other exception keeps its full traceback. ``CYCLE_KEDRO_DEBUG=1`` shows the full traceback
for data errors too. Only an *uncaught* exception reaches the hook, so tests, notebooks and other
code that run a session still get the exception itself.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from cycle_kedro.validation import DataValidationError

logger = logging.getLogger(__name__)

DEBUG_ENV = "CYCLE_KEDRO_DEBUG"


class UnknownEnvironmentError(DataValidationError):
    """``--env`` (or ``KEDRO_ENV``) names no folder under ``conf/``."""

    source_label = "option"


def data_error(exc: BaseException | None) -> DataValidationError | None:
    """The :class:`DataValidationError` in ``exc`` or its causes, else ``None``."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DataValidationError):
            return exc
        if _missing_env_var(exc):
            found = re.search(r"Environment variable '([^']+)'", str(exc))
            name = found.group(1) if found else "VARIABLE"
            return DataValidationError(
                source="configuration",
                summary=_first_line(exc),
                hint=f"set the variable, e.g. {name}=/path/to/file kedro run ...",
            )
        exc = exc.__cause__ or exc.__context__
    return None


def _missing_env_var(exc: BaseException) -> bool:
    return type(exc).__name__ == "InterpolationResolutionError" and "Environment variable" in str(
        exc
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def format_block(error: DataValidationError) -> str:
    """The text printed for a data error (ends with how to get the traceback)."""
    return f"\n{error.block()}\n  (exit status 1; set {DEBUG_ENV}=1 to see the full traceback)\n"


def excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    """Short block for data errors, the previous hook (full traceback) for anything else."""
    error = data_error(exc)
    if error is None or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0", "false"):
        excepthook.previous(exc_type, exc, tb)
        return
    sys.stderr.write(format_block(error))
    sys.stderr.flush()


excepthook.previous = sys.__excepthook__


def install_excepthook() -> None:
    """Make :func:`excepthook` the process's hook (once; it wraps whatever was there, e.g. rich)."""
    if sys.excepthook is not excepthook:
        excepthook.previous = sys.excepthook
        sys.excepthook = excepthook


def check_environment(conf_source: str | os.PathLike, env: str | None) -> None:
    """Raise :class:`UnknownEnvironmentError` if ``env`` is not a folder of ``conf_source``."""
    root = Path(conf_source)
    if not env or not root.is_dir() or (root / env).is_dir():
        return
    known = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    raise UnknownEnvironmentError(
        source=f"--env {env}",
        summary=f"there is no Kedro environment {env!r} (no folder {root / env})",
        hint=f"use one of: {', '.join(known)} (or leave --env out for base + local)",
    )


class DataErrorHooks:
    """One-screen errors for bad input, and a clear message for an unknown ``--env``."""

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        install_excepthook()
        check_environment(context.config_loader.conf_source, context.env)

    @hook_impl(trylast=True)
    def on_pipeline_error(self, error: Exception, run_params: dict, pipeline, catalog) -> None:
        install_excepthook()
        found = data_error(error)
        if found is not None:
            logger.error("Bad input data: %s", _first_line(found))
