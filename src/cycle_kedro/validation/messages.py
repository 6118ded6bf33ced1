"""The text of a data error: one line per problem for ``str()``, and the one-screen block for the CLI.

Values are truncated (:data:`MAX_VALUE_CHARS`) so a 5 MB field never floods the console; at most
:data:`MAX_PROBLEMS_SHOWN` problems are listed, the rest counted. The functions read the fields of
:class:`cycle_kedro.validation.Problem` and ``Details`` (duck-typed, so this module imports nothing
of the error type).
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_VALUE_CHARS = 60
MAX_PROBLEMS_SHOWN = 5
HEADLINE = "cycle_kedro: bad input, the run stopped (nothing was written from it)."
#: a problem with no value to show (``None`` is a value: an empty cell)
UNSET: Any = object()


def truncate(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, with the full length when it was cut."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = repr(value)
    if len(text) <= limit:
        return text
    size = len(value) if isinstance(value, str | bytes) else len(text)
    return f"{text[: limit - 1]}… ({size:,} characters)"


def where(problem: Any) -> str:
    """``column 'x', row 3 (file line 5)``: the parts of the place that are known."""
    parts = []
    if problem.column is not None:
        parts.append(f"column '{problem.column}'")
    if problem.row is not None:
        row = f"row {problem.row}"
        parts.append(f"{row} (file line {problem.line})" if problem.line is not None else row)
    elif problem.line is not None:
        parts.append(f"line {problem.line}")
    return ", ".join(parts)


def what(problem: Any) -> str:
    """``value 'x'; detail; expected ...``: what the place holds and what was expected."""
    parts = []
    if problem.value is not UNSET:
        parts.append(f"value {truncate(problem.value)}")
    if problem.detail:
        parts.append(problem.detail)
    if problem.expected:
        parts.append(f"expected {problem.expected}")
    return "; ".join(parts)


def compose(details: Any) -> str:
    """The error's ``str()``: the summary, then one line per problem (first few), then the hint."""
    d = details
    lines = []
    if d.summary:
        lines.append(f"{d.source}: {d.summary}" if d.source else d.summary)
    for p in d.problems[:MAX_PROBLEMS_SHOWN]:
        place = where(p)
        head = f"{d.source}: {place}" if place else d.source
        lines.append(f"{head}: {what(p)}" if head else what(p))
    more = d.n_problems - min(len(d.problems), MAX_PROBLEMS_SHOWN)
    if more > 0:
        lines.append(f"... and {more} more problem(s) of this kind")
    if d.hint:
        lines.append(f"Hint: {d.hint}")
    return "\n".join(lines)


def block(details: Any, message: str | None = None, source_label: str = "file") -> str:
    """The short block printed instead of a traceback: file, column, row/line, value, expected, hint.

    ``message`` is the ready text of an error built without problems (its first 12 lines are shown).
    """
    d = details
    if message is not None and not d.problems:
        body = [f"  {line}" for line in message.splitlines()[:12]]
        return "\n".join([HEADLINE, *body])
    label = f"{source_label}:".ljust(9)
    out = [HEADLINE, f"  {label} {d.source or '(unknown)'}"]
    shown = d.problems[:MAX_PROBLEMS_SHOWN]
    common = {
        name: values.pop()
        for name in ("column", "detail", "expected")
        if len(values := {getattr(p, name) for p in shown}) == 1 and None not in values
    }
    if d.summary or "detail" in common:
        out.append(f"  problem:  {d.summary or common['detail']}")
    if "column" in common:
        out.append(f"  column:   {common['column']}")
    if "expected" in common:
        out.append(f"  expected: {common['expected']}")
    for i, p in enumerate(shown):
        place = where(p)
        parts = [place] if place and "column" not in common else []
        if "column" in common and place:
            parts = [place.split(", ", 1)[-1]] if p.row is not None or p.line is not None else []
        if p.value is not UNSET:
            parts.append(f"value {truncate(p.value)}")
        if p.detail and "detail" not in common and p.detail != d.summary:
            parts.append(p.detail)
        if p.expected and "expected" not in common:
            parts.append(f"expected {p.expected}")
        if parts:
            out.append(f"  {'at:' if i == 0 else '':9} {'; '.join(parts)}")
    more = d.n_problems - len(shown)
    if more > 0:
        out.append(f"  {'':9} ... and {more:,} more")
    if d.hint:
        out.append(f"  hint:     {d.hint}")
    return "\n".join(out)
