"""Every file a run saves appears whole or not at all: a killed run leaves no half-written output.

:class:`AtomicSaveHooks` (registered in ``settings.HOOKS``) makes each local file dataset that the
pipeline outputs save through :func:`atomic_save` before any node runs. The dataset's own ``save``
writes into a staging folder next to the target (``.partial-<pid>-<token>/<name>``, same folder so
the rename is atomic), then the result is renamed into place:

* a file (Parquet, CSV, JSON, PNG, ...) replaces the old one with ``os.replace``;
* a directory (``save_pretrained`` output, a partitioned Parquet) is swapped in (old moved aside,
  new renamed in, old removed), so no mix of old and new files is ever in place;
* a versioned dataset's new ``<name>/<version>/`` folder is renamed into ``<name>/`` whole, so
  Kedro's "newest version" never points at a version still being written.

Files written next to the target by the same save (a report's ``<stem>_figures/``) move with it.
A run killed mid-save leaves only the staging folder, which no dataset reads; the next save in that
folder removes staging folders of processes that are gone. MLflow artifacts logged by a save keep
their names (the staged file has the target's name). Remote paths (``s3://`` ...) are left as they are.
"""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from pathlib import Path, PurePath
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline

STAGE_PREFIX = ".partial-"


def _local_path(dataset: Any) -> Path | None:
    """The dataset's local target path, or ``None`` (no file, a remote file, in memory)."""
    path = getattr(dataset, "_filepath", None)
    if not isinstance(path, str | PurePath) or getattr(dataset, "_EPHEMERAL", False):
        return None
    if getattr(dataset, "_protocol", "file") not in ("file", None) or "://" in str(path):
        return None
    return Path(str(path))


def make_atomic(dataset: Any) -> bool:
    """Route ``dataset.save`` through :func:`atomic_save`; ``False`` for a non-local dataset."""
    if _local_path(dataset) is None:
        return False
    if "save" not in vars(dataset):
        dataset.save = functools.partial(atomic_save, dataset)  # picklable (ParallelRunner)
    return True


def atomic_save(dataset: Any, data: Any) -> None:
    """Save ``data`` with the dataset's own ``save`` into a staging folder, then rename it into place."""
    target = _local_path(dataset)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_stages(parent)
    stage = parent / f"{STAGE_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    original = dataset._filepath
    try:
        dataset._filepath = type(original)(str(stage / target.name))
        type(dataset).save(dataset, data)
        _commit(stage, parent, versioned=bool(getattr(dataset, "_version", None)))
    finally:
        dataset._filepath = original
        shutil.rmtree(stage, ignore_errors=True)


def _commit(stage: Path, parent: Path, versioned: bool) -> None:
    for entry in sorted(stage.iterdir()):
        target = parent / entry.name
        if versioned and entry.is_dir():  # <name>/<version>/...: add the new version folder whole
            target.mkdir(exist_ok=True)
            for version in entry.iterdir():
                os.replace(version, target / version.name)
        else:
            _replace(entry, target)


def _replace(new: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        old = new.with_name(f".old-{new.name}")
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old)
    else:
        os.replace(new, target)


def remove_stale_stages(folder: Path) -> None:
    """Remove staging folders in ``folder`` left by processes that no longer run (a killed run)."""
    for stage in folder.glob(f"{STAGE_PREFIX}*"):
        pid = stage.name[len(STAGE_PREFIX) :].split("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class AtomicSaveHooks:
    """Make every local file output of the run save atomically (see the module docstring)."""

    @hook_impl
    def before_pipeline_run(self, pipeline: Pipeline, catalog: Any) -> None:
        for name in sorted(pipeline.all_outputs()):
            dataset = catalog.get(name)
            if dataset is not None:
                make_atomic(dataset)
