"""A quiet console: no known library notes before a run, a bad-input error said once, at the end.

:class:`QuietHooks` (registered in ``settings.HOOKS``):

* when ``settings.py`` is read (before the config loader and the pipelines are built), ignores the
  library warnings listed in :data:`KNOWN_WARNINGS`, each by its text and the module that issues
  it; every other warning is shown as before;
* when the context is created, drops the start-up notes in :data:`STARTUP_NOTES` (by logger and
  text) and keeps ERROR records about a bad-input error off the console handlers
  (:class:`HideDataErrorRecords`): the short block printed at the end (:mod:`cycle_kedro.errors`)
  says it once; ``info.log`` keeps every record, and ``CYCLE_KEDRO_DEBUG=1`` shows them all.

Kedro's ``conf/logging.yml`` accepts no project filter classes (only ``logging`` and
``kedro.logging`` ones), hence a hook; logger levels stay in ``conf/logging.yml``.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

from kedro.framework.hooks import hook_impl
from rich.logging import RichHandler

#: (text the warning starts with, regex of the module that issues it)
KNOWN_WARNINGS = (
    # omegaconf 2.4 deprecates the call that kedro's OmegaConfigLoader and kedro-mlflow's hook make
    (r"register_new_resolver\(\) is deprecated", r"(kedro|kedro_mlflow)\."),
    # MLflow's note on the served model's example request: cycle_index is a whole number, never missing
    (r"Hint: Inferred schema contains integer column", r"mlflow\.types\.utils"),
    # Kedro's note on dotted dataset names outside a node's namespace: the project names datasets
    # <pipeline>.<cohort>.<name> on purpose (STYLE.md rule 7) and reporting/llm read other pipelines'
    (r"One or more dataset names contain '\.' characters", r"(kedro|cycle_kedro)\.pipeline"),
)

#: logger -> texts of INFO notes that are not shown (the logger's other records are)
STARTUP_NOTES = {
    "kedro_mlflow.framework.hooks.mlflow_hook": ("Registering new custom resolver",),
    "kedro.runner.sequential_runner": ("Using synchronous mode for loading and saving data",),
}


def ignore_known_warnings() -> None:
    """Ignore each of :data:`KNOWN_WARNINGS` (text and issuing module), nothing else."""
    for message, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, module=module)


class DropMessages(logging.Filter):
    """Drop records whose message contains one of ``texts``."""

    def __init__(self, texts: tuple[str, ...]) -> None:
        super().__init__()
        self.texts = texts

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in self.texts)


class HideDataErrorRecords(logging.Filter):
    """Drop ERROR records logged while a bad-input error is raised or handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        from cycle_kedro.errors import DEBUG_ENV, data_error  # noqa: PLC0415

        if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0", "false"):
            return True
        # Kedro logs a failing node inside its ``except`` block, without exc_info
        error = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        return data_error(error) is None


def _add_once(target: logging.Filterer, new: logging.Filter) -> None:
    if not any(type(f) is type(new) for f in target.filters):
        target.addFilter(new)


def quiet_console() -> None:
    """Install the start-up note filters and :class:`HideDataErrorRecords` on console handlers."""
    for name, texts in STARTUP_NOTES.items():
        _add_once(logging.getLogger(name), DropMessages(texts))
    for handler in logging.getLogger().handlers:  # info.log and test log captures keep everything
        if isinstance(handler, RichHandler) or type(handler) is logging.StreamHandler:
            _add_once(handler, HideDataErrorRecords())


class QuietHooks:
    """Known library warnings ignored, start-up notes dropped, a bad-input error said once."""

    def __init__(self) -> None:
        ignore_known_warnings()  # settings.py is read before the config loader is built

    @hook_impl(tryfirst=True)
    def after_context_created(self) -> None:
        quiet_console()
