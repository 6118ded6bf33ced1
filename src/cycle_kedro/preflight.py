"""Checks made before any node runs, so that a run which cannot finish writes nothing.

:class:`PreflightHooks` (registered in ``settings.HOOKS``) runs first of all ``before_pipeline_run``
hooks, before kedro-mlflow starts a run, and stops the run with one short block
(:meth:`~cycle_kedro.validation.DataValidationError.block`, printed by :mod:`cycle_kedro.errors`):

* **an input made by another pipeline does not exist yet** (``kedro run --pipelines=llm`` on a fresh
  clone): the block names the dataset and its file, the pipeline that makes it and the commands to
  run first, in order (the makers' own missing inputs included). Parameters, in-memory datasets,
  datasets marked ``optional`` and raw inputs that no pipeline makes are not checked here (a raw
  file names itself when it is read).
* **the run would write over the user's own data** (``--env app_export`` without ``--namespaces``:
  the synthetic generator's output is the user's read-only export): the block names the file, the
  node that would write it and the command that runs only the nodes that read it.
"""

from __future__ import annotations

import os
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset
from kedro.pipeline import Pipeline
from kedro.pipeline.transcoding import _strip_transcoding

from cycle_kedro.datasets.validated import ReadOnlyCSVDataset
from cycle_kedro.validation import DataValidationError

DEFAULT = "__default__"


class MissingUpstreamError(DataValidationError):
    """An input of the run is made by another pipeline that has not run yet."""

    source_label = "input"


class ReadOnlyOutputError(DataValidationError):
    """A node of the run would write over a read-only dataset (the user's own data)."""


def makers(registered: dict[str, Pipeline]) -> dict[str, str]:
    """Dataset name (without transcoding) -> the smallest registered pipeline that outputs it."""
    by_size = sorted(
        (len(pipe.nodes), name, pipe) for name, pipe in registered.items() if name != DEFAULT
    )
    found: dict[str, str] = {}
    for _, name, pipe in by_size:
        for output in pipe.all_outputs():
            found.setdefault(_strip_transcoding(output), name)
    return found


def absent_inputs(pipeline: Pipeline, catalog: Any) -> list[str]:
    """The pipeline's free inputs that must exist before it runs and do not.

    Parameters, in-memory datasets, datasets marked ``optional``, the user's read-only data and
    datasets that cannot tell whether they exist are left out.
    """
    absent = []
    for name in sorted(pipeline.inputs()):
        if name.startswith("params:") or name == "parameters":
            continue
        dataset = catalog.get(name)
        if dataset is None or dataset._EPHEMERAL or getattr(dataset, "_optional", False):
            continue
        if (
            isinstance(dataset, ReadOnlyCSVDataset)
            or type(dataset)._exists is AbstractDataset._exists
        ):
            continue
        if not dataset.exists():
            absent.append(name)
    return absent


def missing_upstream(
    pipeline: Pipeline, catalog: Any, registered: dict[str, Pipeline]
) -> dict[str, str]:
    """Absent input made by a registered pipeline -> that pipeline, the makers' own inputs included.

    Ordered as the makers must run (by the dataset's node in the default pipeline).
    """
    made_by = makers(registered)
    order = {
        _strip_transcoding(out): i
        for i, node in enumerate(registered.get(DEFAULT, Pipeline([])).nodes)
        for out in node.outputs
    }
    missing: dict[str, str] = {}
    todo, seen = [pipeline], set()
    while todo:
        for name in absent_inputs(todo.pop(), catalog):
            maker = made_by.get(_strip_transcoding(name))
            if maker is None or name in missing:  # a raw input names itself when it is read
                continue
            missing[name] = maker
            if maker not in seen:
                seen.add(maker)
                todo.append(registered[maker])
    return dict(sorted(missing.items(), key=lambda item: order.get(_strip_transcoding(item[0]), 0)))


def _where(catalog: Any, name: str) -> str:
    path = getattr(catalog.get(name), "_filepath", None)
    if path is None:
        return name
    relative = os.path.relpath(str(path))
    return f"{name} ({path if relative.startswith('..') else relative})"


def check_upstream(pipeline: Pipeline, catalog: Any, registered: dict[str, Pipeline]) -> None:
    """Raise :class:`MissingUpstreamError` when an input made by another pipeline is missing."""
    missing = missing_upstream(pipeline, catalog, registered)
    if not missing:
        return
    first = next((name for name in missing if name in pipeline.inputs()), next(iter(missing)))
    more = f" (and {len(missing) - 1} more inputs, of this run or of the pipelines it needs)"
    commands = [f"`kedro run --pipelines={maker}`" for maker in dict.fromkeys(missing.values())]
    hint = f"run {', then '.join(commands)}, then this command again"
    if len(commands) > 2:
        hint = f"run `kedro run` (every pipeline) once, or in this order {', '.join(commands)}"
    raise MissingUpstreamError(
        source=_where(catalog, first),
        summary=f"does not exist yet; the {missing[first]} pipeline makes it"
        + (more if len(missing) > 1 else ""),
        hint=hint,
    )


def check_read_only_outputs(pipeline: Pipeline, catalog: Any, run_params: dict) -> None:
    """Raise :class:`ReadOnlyOutputError` when a node of the run writes a read-only dataset."""
    for node in pipeline.nodes:
        for name in node.outputs:
            dataset = catalog.get(name)
            if not isinstance(dataset, ReadOnlyCSVDataset):
                continue
            readers = sorted(
                {n.namespace for n in pipeline.nodes if name in n.inputs and n.namespace}
            )
            command = ["kedro run"]
            if run_params.get("pipeline_names"):
                command.append(f"--pipelines={','.join(run_params['pipeline_names'])}")
            if run_params.get("env"):
                command.append(f"--env {run_params['env']}")
            if readers:
                command.append(f"--namespaces={','.join(readers)}")
            raise ReadOnlyOutputError(
                source=str(dataset._filepath),
                summary=f"this is your own data and is never overwritten, but node {node.name} "
                "of this run would write it",
                hint=f"run only the nodes that read it: `{' '.join(command)}`",
            )


def every_pipeline(requested: list[str] | None) -> dict[str, Pipeline]:
    """All registered pipelines (``kedro run --pipelines=x`` builds only ``x``; its makers are needed)."""
    from kedro.framework.project import pipelines  # noqa: PLC0415  (configured by then)

    pipelines.set_requested(None)
    try:
        return dict(pipelines)
    finally:
        pipelines.set_requested(requested or None)


class PreflightHooks:
    """Stop a run that cannot finish before any node runs (and before an MLflow run starts)."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict, pipeline: Pipeline, catalog: Any) -> None:
        check_read_only_outputs(pipeline, catalog, run_params)
        if absent_inputs(pipeline, catalog):
            check_upstream(pipeline, catalog, every_pipeline(run_params.get("pipeline_names")))
