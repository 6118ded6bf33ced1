"""Nothing half-written: every file a run saves appears whole or not at all, and a run that fails
on bad input leaves every output as it was.

:class:`AtomicSaveHooks` (registered in ``settings.HOOKS``) makes each local file dataset that the
pipeline outputs save through :func:`atomic_save` before any node runs. The dataset's own ``save``
writes into a staging folder next to the target (``.partial-<pid>-<token>/<name>``, in the same
folder so that a rename is atomic), then the result is moved into place:

* a file (Parquet, CSV, JSON, PNG, ...) replaces the old one with one ``os.replace``;
* a directory (``save_pretrained`` output, a partitioned Parquet) is swapped in (old moved aside,
  new renamed in), so no mix of old and new files is ever in place;
* a versioned dataset's new ``<name>/<version>/`` folder is renamed into ``<name>/`` whole, so
  Kedro's "newest version" never points at a version still being written.

Files written next to the target by the same save (a report's ``<stem>_figures/``) move with it.
What a save replaced is kept in its staging folder until the run ends: a run that fails on bad
input (:func:`cycle_kedro.errors.data_error`) puts it all back and removes what it added; a run
that ends otherwise keeps its outputs (Kedro's ``--from-nodes`` resumes from them). A run killed
mid-save leaves only a staging folder, which no dataset reads; the next save in that folder removes
staging folders of processes that are gone. MLflow artifacts logged by a save keep their names
(the staged file has the target's name). Remote paths (``s3://`` ...) are saved as before, and
saves made in ``ParallelRunner`` worker processes are kept whole but not rolled back.
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

from cycle_kedro.errors import data_error

STAGE_PREFIX = ".partial-"

#: one committed save: its staging folder and (path now in place, what was there before or None)
Undo = tuple[Path, list[tuple[Path, Path | None]]]


def _local_path(dataset: Any) -> Path | None:
    """The dataset's local target path, or ``None`` (no file, a remote file, in memory)."""
    path = getattr(dataset, "_filepath", None)
    if not isinstance(path, str | PurePath) or getattr(dataset, "_EPHEMERAL", False):
        return None
    if getattr(dataset, "_protocol", "file") not in ("file", None) or "://" in str(path):
        return None
    return Path(str(path))


def make_atomic(dataset: Any, journal: list[Undo] | None = None) -> bool:
    """Route ``dataset.save`` through :func:`atomic_save`; ``False`` for a non-local dataset."""
    if _local_path(dataset) is None:
        return False
    dataset.save = functools.partial(atomic_save, dataset, journal=journal)  # picklable
    return True


def atomic_save(dataset: Any, data: Any, journal: list[Undo] | None = None) -> None:
    """Save with the dataset's own ``save`` into a staging folder, then move the result into place.

    With a ``journal``, what the save replaced stays in the staging folder for :func:`roll_back`
    (or :func:`finish`); without one it is removed at once.
    """
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
        done = _commit(stage, parent, versioned=bool(getattr(dataset, "_version", None)))
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        dataset._filepath = original
    if journal is None:
        shutil.rmtree(stage, ignore_errors=True)
    else:
        journal.append((stage, done))


def _commit(stage: Path, parent: Path, versioned: bool) -> list[tuple[Path, Path | None]]:
    done: list[tuple[Path, Path | None]] = []
    for entry in sorted(stage.iterdir()):
        target = parent / entry.name
        if versioned and entry.is_dir():  # <name>/<version>/...: add the new version folder whole
            target.mkdir(exist_ok=True)
            for version in sorted(entry.iterdir()):
                os.replace(version, target / version.name)
                done.append((target / version.name, None))
            continue
        previous = stage / f".previous-{entry.name}"
        if target.is_dir() and not target.is_symlink():
            os.replace(target, previous)  # a directory cannot be replaced in one step
        elif target.exists():
            _keep_copy(target, previous)  # for a roll-back; the file itself is replaced atomically
        else:
            previous = None
        os.replace(entry, target)
        done.append((target, previous))
    return done


def _keep_copy(path: Path, copy: Path) -> None:
    try:
        os.link(path, copy)
    except OSError:  # no hard links on this file system
        shutil.copy2(path, copy)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def roll_back(journal: list[Undo]) -> None:
    """Put back what the journal's saves replaced and remove what they added, newest first."""
    while journal:
        stage, done = journal.pop()
        for path, previous in reversed(done):
            _remove(path)
            if previous is not None:
                os.replace(previous, path)
            elif path.parent != stage.parent and not any(path.parent.iterdir()):
                path.parent.rmdir()  # the versioned dataset's folder, made by this run
        shutil.rmtree(stage, ignore_errors=True)


def finish(journal: list[Undo]) -> None:
    """Keep the journal's saves: remove what they replaced."""
    while journal:
        shutil.rmtree(journal.pop()[0], ignore_errors=True)


def remove_stale_stages(folder: Path) -> None:
    """Remove staging folders in ``folder`` left by processes that no longer run (a killed run)."""
    for stage in folder.glob(f"{STAGE_PREFIX}*"):
        pid = stage.name[len(STAGE_PREFIX) :].split("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)


def _running(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) is no probe there: keep every staging folder
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class AtomicSaveHooks:
    """Whole-or-nothing saves; a run that fails on bad input is rolled back (module docstring)."""

    def __init__(self) -> None:
        self._journal: list[Undo] = []

    @hook_impl
    def before_pipeline_run(self, pipeline: Pipeline, catalog: Any) -> None:
        self._journal = []
        for name in sorted(pipeline.all_outputs()):
            dataset = catalog.get(name)
            if dataset is not None:
                make_atomic(dataset, self._journal)

    @hook_impl
    def after_pipeline_run(self) -> None:
        finish(self._journal)

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        if data_error(error) is not None:
            roll_back(self._journal)
        else:
            finish(self._journal)
