"""Nothing half-written: a save is whole or absent, a killed run leaves nothing a later run takes
for complete, and a run that fails on bad input leaves every output as it was."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import textwrap
import time
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.io import AbstractDataset, DatasetError, Version
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import CSVDataset

from cycle_kedro.atomic_saves import STAGE_PREFIX, finish, make_atomic, roll_back
from cycle_kedro.errors import data_error

from .conftest import KEDRO, in_project_copy

MEDQUAD = Path("data/01_raw/medquad/medquad_womens_health_qa.jsonl")


class _FailingCSVDataset(CSVDataset):
    """Writes half of the file, then fails (a full disk, a crash inside the library)."""

    def save(self, data: pd.DataFrame) -> None:
        path = Path(str(self._get_save_path()))
        path.write_text(data.to_csv(index=False)[:10])
        raise OSError("disk full")


class _FolderDataset(AbstractDataset):
    """A directory of one file per key (like ``save_pretrained``)."""

    def __init__(self, filepath: str) -> None:
        self._filepath = PurePosixPath(filepath)

    def load(self) -> dict[str, str]:
        folder = Path(str(self._filepath))
        return {p.name: p.read_text() for p in folder.iterdir()}

    def save(self, data: dict[str, str]) -> None:
        folder = Path(str(self._filepath))
        folder.mkdir(parents=True)
        for name, text in data.items():
            (folder / name).write_text(text)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


def _stages(folder: Path) -> list[Path]:
    return sorted(folder.rglob(f"{STAGE_PREFIX}*"))


def test_a_failed_save_leaves_the_old_file(tmp_path):
    target = tmp_path / "out" / "table.csv"
    target.parent.mkdir()
    target.write_text("old,complete\n1,2\n")
    dataset = _FailingCSVDataset(filepath=str(target))
    assert make_atomic(dataset)
    with pytest.raises(DatasetError, match="disk full"):
        dataset.save(pd.DataFrame({"new": range(100)}))
    assert target.read_text() == "old,complete\n1,2\n"
    assert not _stages(tmp_path)


def test_a_versioned_save_adds_its_version_whole(tmp_path):
    target = tmp_path / "report.json"
    for n in (1, 2):
        dataset = JSONDataset(filepath=str(target), version=Version(None, None))
        make_atomic(dataset)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Kedro warns when the saved version is not the newest
            dataset.save({"run": n})
        assert dataset.load() == {"run": n}
        time.sleep(0.002)  # distinct version timestamps
    versions = sorted(target.iterdir())
    assert len(versions) == 2 and all((v / "report.json").is_file() for v in versions)
    assert not _stages(tmp_path)


def test_a_directory_is_replaced_whole_and_a_dead_run_s_stage_is_removed(tmp_path):
    target = tmp_path / "models" / "adapter"
    dead = target.parent / f"{STAGE_PREFIX}999999999-0000"  # no such process
    live = target.parent / f"{STAGE_PREFIX}{os.getpid()}-0000"  # this run's own (kept)
    dataset = _FolderDataset(filepath=str(target))
    make_atomic(dataset)
    dataset.save({"a.bin": "1", "b.bin": "1"})
    dead.mkdir()
    live.mkdir()
    dataset.save({"c.bin": "2"})
    assert dataset.load() == {"c.bin": "2"}  # no mix of the old and the new directory
    assert _stages(tmp_path) == [live]


def _save_three(tmp_path: Path, journal: list, n: int) -> tuple:
    table = CSVDataset(filepath=str(tmp_path / "table.csv"), save_args={"index": False})
    report = JSONDataset(filepath=str(tmp_path / "report.json"), version=Version(None, None))
    adapter = _FolderDataset(filepath=str(tmp_path / "adapter"))
    for dataset in (table, report, adapter):
        make_atomic(dataset, journal)
    table.save(pd.DataFrame({"run": [n]}))
    report.save({"run": n})
    adapter.save({f"{n}.bin": str(n)})
    return table, report, adapter


def test_roll_back_puts_back_what_the_run_replaced_and_finish_keeps_it(tmp_path):
    journal: list = []
    _save_three(tmp_path, journal, 1)
    finish(journal)
    time.sleep(0.002)  # distinct version timestamps
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    table, report, adapter = _save_three(tmp_path, journal, 2)
    assert (table.load()["run"].tolist(), report.load(), adapter.load()) == (
        [2],
        {"run": 2},
        {"2.bin": "2"},
    )
    roll_back(journal)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    report = JSONDataset(filepath=str(tmp_path / "report.json"), version=Version(None, None))
    assert (table.load()["run"].tolist(), report.load(), adapter.load()) == (
        [1],
        {"run": 1},
        {"1.bin": "1"},
    )
    roll_back([])  # a run that saved nothing


def _snapshot(project: Path) -> dict[str, str]:
    return {
        str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((project / "data").rglob("*"))
        if p.is_file() and "01_raw" not in p.parts
    }


HALF_WRITTEN = '''
import os, time
from pathlib import Path
from kedro_datasets.pandas import ParquetDataset

class HalfWrittenParquetDataset(ParquetDataset):
    """Writes half of the Parquet file, says where, then waits to be killed."""

    def save(self, data):
        path = str(self._get_save_path())
        body = data.to_parquet()
        with open(path, "wb") as out:
            out.write(body[: len(body) // 2])
        Path(os.environ["HALF_WRITTEN_AT"]).write_text(path)
        time.sleep(300)
'''


@pytest.mark.slow
def test_a_killed_run_leaves_no_partial_output_and_a_failed_run_changes_nothing(tmp_path):
    (tmp_path / "half_written.py").write_text(HALF_WRITTEN)
    marker = tmp_path / "half-written-at"
    with in_project_copy(tmp_path / "project") as project:
        target = project / "data" / "03_primary" / "fedcycle_cycles.parquet"
        override = project / "conf" / "local" / "catalog_half_written.yml"
        override.write_text(
            textwrap.dedent(f"""\
                fedcycle_cycles:
                  type: half_written.HalfWrittenParquetDataset
                  filepath: {target.relative_to(project)}
            """)
        )
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
            "HALF_WRITTEN_AT": str(marker),
        }
        run = subprocess.Popen(
            [str(KEDRO), "run", "--pipelines=ingestion"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 240
        while not marker.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        run.send_signal(signal.SIGKILL)
        output = run.communicate()[0]
        assert marker.exists(), f"the run never reached the save:\n{output}"

        half = Path(marker.read_text())
        assert half.is_file() and half.parent.name.startswith(STAGE_PREFIX), half
        assert not target.exists(), "a half-written file is where the next run reads it"

        override.unlink()
        with KedroSession.create(project_path=project) as session:
            session.run(pipeline_name="ingestion")
        assert pd.read_parquet(target)["woman_id"].nunique() == 159
        assert not _stages(project / "data"), "the killed run's staging folder is left"

        # a bad Q&A file: the FedCycle tables are saved (again) before it is read
        done = _snapshot(project)
        target.unlink()
        medquad = project / MEDQUAD
        medquad.write_text(medquad.read_text(encoding="utf-8") + '{"broken\n', encoding="utf-8")
        with pytest.raises(DatasetError, match="not valid JSON") as raised:
            with KedroSession.create(project_path=project) as session:
                session.run(pipeline_name="ingestion")
        assert data_error(raised.value) is not None  # a bad-input error, not a bug
        assert not target.exists(), "the run that failed on bad input left an output it wrote"
        del done[str(target.relative_to(project))]
        assert _snapshot(project) == done, "the run that failed on bad input changed outputs"
        assert not _stages(project / "data")
