"""Data errors that fit on one screen: file, column, row/line, the value (truncated), what is expected, a hint.

Every raw and primary table is checked against its contract in :mod:`cycle_kedro.schemas` and by
plausibility checks; on failure they raise :class:`DataValidationError`. Its ``str()`` is one line
per problem, starting with the source, e.g.::

    data/01_raw/fedcycle/FedCycleData071012.csv: column 'LengthofCycle', row 17 (file line 19):
    value 1.0 is outside the plausible range; expected whole days in [10, 120]

and :meth:`DataValidationError.block` is the short block the CLI prints instead of a traceback
(see :mod:`cycle_kedro.errors`, the Kedro hook). Rows are 0-based data rows; file lines are
1-based and count the header.

This module holds the error type; the package has one module per job:

* :mod:`.messages` — the text: ``str()``, the one-screen block, values truncated.
* :mod:`.file_lines` — which file and line a loaded row came from (readers' ``attrs``).
* :mod:`.schema_checks` — :func:`~.schema_checks.validate`: a pandera schema's failures as this error.
* :mod:`.plausibility` — range, id-case and row checks that raise this error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kedro.io import DatasetError

from .messages import UNSET, block, compose


@dataclass
class Problem:
    """One bad cell, line or file: where it is, what it holds and what was expected."""

    column: str | None = None
    row: int | None = None
    line: int | None = None
    value: Any = UNSET
    expected: str | None = None
    detail: str | None = None


@dataclass
class Details:
    """Everything the messages are written from: the source and its problems (first few kept)."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    n_problems: int = 0
    summary: str | None = None
    hint: str | None = None


class DataValidationError(DatasetError, ValueError):
    """Bad input: names the source, the column and the row; :meth:`block` is the one-screen form.

    A ``DatasetError`` so that Kedro passes it on unchanged when a dataset fails to load. Build it
    with keywords (``source=``, ``problems=`` or the fields of one :class:`Problem`, ``summary=``,
    ``hint=``) or, as before, with a ready message.
    """

    source_label = "file"

    def __init__(  # noqa: PLR0913
        self,
        message: str | None = None,
        *,
        source: str | None = None,
        problems: list[Problem] | None = None,
        n_problems: int | None = None,
        summary: str | None = None,
        hint: str | None = None,
        **one: Any,
    ) -> None:
        problems = list(problems or [])
        if one:
            problems.append(Problem(**one))
        self.details = Details(
            source=str(source) if source is not None else "",
            problems=problems,
            n_problems=max(n_problems or 0, len(problems)),
            summary=summary,
            hint=hint,
        )
        self._message = message
        super().__init__(message if message is not None else compose(self.details))

    def __reduce__(self):  # picklable with its details (Dask workers raise it)
        return (_rebuild, (self._message, self.details))

    @property
    def source(self) -> str:
        return self.details.source

    @property
    def hint(self) -> str | None:
        return self.details.hint

    def block(self) -> str:
        """The short block printed instead of a traceback: file, column, row/line, value, expected, hint."""
        return block(self.details, self._message, self.source_label)


def _rebuild(message: str | None, details: Details) -> DataValidationError:
    return DataValidationError(
        message,
        source=details.source,
        problems=details.problems,
        n_problems=details.n_problems,
        summary=details.summary,
        hint=details.hint,
    )
