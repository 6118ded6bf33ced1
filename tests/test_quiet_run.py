"""A quiet run: no known library warnings, the bad-input error said once, at the end, in 40 lines.

Measured on a failing ``kedro run --pipelines=ingestion`` (a 1-day cycle in the FedCycle file) at
the 80 columns of a non-terminal, where Rich wraps most. Before: library warnings, start-up notes
and the error three times (two log records and the block), about 190 lines.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import pytest

from cycle_kedro.errors import DEBUG_ENV
from cycle_kedro.quiet import HideDataErrorRecords, ignore_known_warnings
from cycle_kedro.validation import DataValidationError

from .conftest import copy_project, run_kedro

FEDCYCLE = Path("data/01_raw/fedcycle/FedCycleData071012.csv")
MAX_LINES = 40


def corrupt_fedcycle(project: Path, row: int = 9, value: str = "1") -> None:
    """Set ``LengthofCycle`` of data row ``row`` (0-based) of the project's FedCycle file."""
    path = project / FEDCYCLE
    lines = path.read_text(encoding="utf-8-sig").split("\n")
    column = lines[0].split(",").index("LengthofCycle")
    cells = lines[row + 1].split(",")
    cells[column] = value
    lines[row + 1] = ",".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8-sig")


@pytest.mark.slow
def test_a_failing_ingestion_run_prints_the_error_once_in_a_short_screen(tmp_path):
    project = copy_project(tmp_path / "project")
    corrupt_fedcycle(project)
    env = {k: v for k, v in os.environ.items() if k not in (DEBUG_ENV, "COLUMNS")}
    done = run_kedro(project, ["run", "--pipelines=ingestion"], env)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert len(out.splitlines()) <= MAX_LINES, out
    assert out.count("whole days in [10, 120]") == 1, out  # the block only, not the log records
    assert out.rstrip().endswith("to see the full traceback)"), out  # the block comes last
    for noise in ("Traceback", "ERROR", "register_new_resolver", "Inferred schema", "synchronous"):
        assert noise not in out, f"{noise!r} in:\n{out}"


def _record(level: int) -> logging.LogRecord:
    return logging.LogRecord("kedro.pipeline.node", level, __file__, 1, "Node failed", (), None)


def test_error_records_of_a_data_error_stay_off_the_console(monkeypatch):
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    hide = HideDataErrorRecords()
    try:
        raise DataValidationError(source="f.csv", summary="bad")
    except DataValidationError:
        assert not hide.filter(_record(logging.ERROR))  # Kedro logs it inside its except block
        assert hide.filter(_record(logging.WARNING))
        monkeypatch.setenv(DEBUG_ENV, "1")
        assert hide.filter(_record(logging.ERROR))
    monkeypatch.delenv(DEBUG_ENV)
    try:
        raise KeyError("a bug")
    except KeyError:
        assert hide.filter(_record(logging.ERROR))  # other errors keep their log record


def test_only_the_known_library_warnings_are_ignored():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ignore_known_warnings()
        for module in ("kedro.config.omegaconf_config", "cycle_kedro.pipelines.x"):
            warnings.warn_explicit(
                "register_new_resolver() is deprecated and will be removed",
                UserWarning,
                "x.py",
                1,
                module=module,
            )
        warnings.warn_explicit("something else", UserWarning, "x.py", 1, module="kedro.io")
    assert [(str(w.message)[:21], w.filename) for w in caught] == [
        ("register_new_resolver", "x.py"),
        ("something else", "x.py"),
    ]
