"""Plain-words template explanation of a next-cycle forecast, written only from its numbers.

One copy, used by the served model (:func:`cycle_kedro.cycles.forecaster.predict_next`), the
``forecasting`` pipeline's ``next_cycle_forecast``, the llm corpus and ``cycle-ask --explain``.

* :func:`forecast_question` — the user's question: her forecast numbers, then an ``ask``.
* :func:`forecast_answer` — the day-1 explanation (length, 80% interval, what drives it).
* :func:`incycle_sentence` — what the current cycle has shown so far (days elapsed, a detected
  ovulation), empty on day 1 with nothing detected.
* :func:`explain_forecast` — :func:`forecast_answer` plus :func:`incycle_sentence`.

A row is a mapping with the :data:`~cycle_kedro.cycles.contracts.NEXT_CYCLE_COLUMNS` (and,
optionally, :data:`~cycle_kedro.cycles.incycle.INCYCLE_FIELDS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["ASKS", "explain_forecast", "forecast_answer", "forecast_question", "incycle_sentence"]

ASKS = (
    "What does this mean for my next period?",
    "Can you explain this prediction in plain words?",
    "How long will my next cycle probably be, and how sure is that?",
)

_CAVEAT = (
    "This is a statistical estimate, not a diagnosis: if your cycles change suddenly or "
    "often fall outside about 21 to 35 days, talk to a doctor or nurse."
)


def _days(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _whole(value: float) -> int:
    """Round half up (28.5 -> 29), unlike Python's round-half-even."""
    return math.floor(value + 0.5)


def forecast_question(row: Mapping[str, Any], ask: str = ASKS[0]) -> str:
    """The user's question: her forecast numbers as context, then ``ask``."""
    sd = row["history_sd"]
    spread = f" (SD {sd:.1f})" if pd.notna(sd) else ""
    return (
        f"My cycle forecast: {int(row['n_cycles_used'])} recorded cycles averaging "
        f"{_days(row['history_mean'])} days{spread}; my last cycle was "
        f"{_days(row['last_cycle_length'])} days. The {row['model']} model predicts "
        f"{_days(row['predicted_length'])} days for the next cycle, 80% interval "
        f"{_days(row['lower_80'])} to {_days(row['upper_80'])} days. {ask}"
    )


def _driver(pred: float, mean: float, last: float) -> str:
    if abs(pred - mean) < 1:
        return f"The prediction stays close to your average of {_days(mean)} days"
    direction = "longer" if pred > mean else "shorter"
    text = f"The prediction is {_days(abs(pred - mean))} days {direction} than your average of {_days(mean)} days"
    if (last - mean) * (pred - mean) > 0:
        text += f", pulled that way by your last cycle of {_days(last)} days"
    return text


def forecast_answer(row: Mapping[str, Any]) -> str:
    """A plain-words explanation of one day-1 forecast, written only from the row's numbers."""
    pred, lo, hi = row["predicted_length"], row["lower_80"], row["upper_80"]
    n, mean, sd, last = (
        int(row["n_cycles_used"]),
        row["history_mean"],
        row["history_sd"],
        row["last_cycle_length"],
    )
    parts = [
        f"Your next cycle is expected to last about {_whole(pred)} days. In 8 out of 10 cases like "
        f"yours it would last between {_whole(lo)} and {_whole(hi)} days.",
        f"{_driver(pred, mean, last)}, based on {n} recorded cycle{'s' if n != 1 else ''}.",
    ]
    width = f"The range is {_days(hi - lo)} days wide"
    if pd.notna(sd) and n > 1:
        width += f" because your cycle length has varied by about {sd:.1f} days from cycle to cycle"
    if n < 4:
        width += f", and with only {n} cycle{'s' if n != 1 else ''} the estimate is uncertain"
    parts.append(width + ".")
    parts.append(_CAVEAT)
    return " ".join(parts)


def _span(lo: float, hi: float) -> str:
    lo_d, hi_d = _whole(lo), _whole(hi)
    return f"day {lo_d}" if lo_d == hi_d else f"day {lo_d}–{hi_d}"


def incycle_sentence(row: Mapping[str, Any]) -> str:
    """What the current cycle has shown so far, in plain words ('' on day 1 with nothing detected).

    Cycle days count from day 1 = the first day of the current period; the next period starts on
    day ``length + 1``, so the 80% range of start days is ``incycle_lower_80 + 1`` to
    ``incycle_upper_80 + 1``.
    """
    method = row.get("incycle_method")
    if method is None or (isinstance(method, float) and math.isnan(method)) or method == "history":
        return ""
    day = _whole(row["days_since_start"])
    start = _whole(row["incycle_predicted_start_day"])
    span = _span(row["incycle_lower_80"] + 1, row["incycle_upper_80"] + 1)
    if method == "ovulation":
        head = f"Now that ovulation was detected on day {_whole(row['ovulation_day'])}"
    elif method == "no_ovulation_yet":
        head = f"You are on day {day} and no ovulation has been detected yet, so"
    else:
        head = f"You are on day {day} of this cycle without a new period, so"
    sep = "," if method == "ovulation" else ""
    return (
        f"{head}{sep} your period is expected on {span} of this cycle "
        f"(most likely day {start}; 8 out of 10 cases like yours)."
    )


def explain_forecast(row: Mapping[str, Any]) -> str:
    """The full template explanation: the day-1 forecast, then what the current cycle has shown."""
    extra = incycle_sentence(row)
    base = forecast_answer(row)
    if not extra:
        return base
    head, _, _ = base.rpartition(_CAVEAT)
    return f"{head}{extra} {_CAVEAT}"
