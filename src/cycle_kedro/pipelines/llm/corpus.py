"""Corpus helpers: forecast explanations written from numbers, text normalisation, de-duplication.

Pure functions on strings and pandas tables (no model, no I/O), shared by the nodes and the
``cycle-ask`` CLI.
"""

from __future__ import annotations

import math
import re
import unicodedata

import pandas as pd

from cycle_kedro.cycles.contracts import NEXT_CYCLE_COLUMNS
from cycle_kedro.validation import DataValidationError

ASKS = (
    "What does this mean for my next period?",
    "Can you explain this prediction in plain words?",
    "How long will my next cycle probably be, and how sure is that?",
)

_SPACES = re.compile(r"\s+")
_DOUBLE_Q = re.compile(r"\s*\?(\s*\?)+")
_SPACE_PUNCT = re.compile(r"\s+([?.!,;:])")
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def check_forecast(forecast: pd.DataFrame, source: str) -> None:
    """Raise :class:`DataValidationError` naming ``source`` if a forecast column is missing."""
    missing = [c for c in NEXT_CYCLE_COLUMNS if c not in forecast.columns]
    if missing:
        raise DataValidationError(
            f"{source}: missing column(s) {missing}; expected {NEXT_CYCLE_COLUMNS}"
        )


def _days(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _whole(value: float) -> int:
    """Round half up (28.5 -> 29), unlike Python's round-half-even."""
    return math.floor(value + 0.5)


def forecast_question(row: pd.Series | dict, ask: str = ASKS[0]) -> str:
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


def forecast_answer(row: pd.Series | dict) -> str:
    """A plain-words explanation of one forecast, written only from the row's numbers."""
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
    parts.append(
        "This is a statistical estimate, not a diagnosis: if your cycles change suddenly or "
        "often fall outside about 21 to 35 days, talk to a doctor or nurse."
    )
    return " ".join(parts)


def normalise_text(text: str) -> str:
    """Unicode NFKC, one space between words, no space before punctuation, one final ``?``."""
    text = unicodedata.normalize("NFKC", str(text))
    text = _SPACES.sub(" ", text).strip()
    text = _DOUBLE_Q.sub("?", text)
    return _SPACE_PUNCT.sub(r"\1", text)


def truncate_words(text: str, max_words: int) -> str:
    """Cut ``text`` to at most ``max_words`` words, at the last sentence end if there is one."""
    words = text.split(" ")
    if len(words) <= max_words:
        return text
    head = " ".join(words[:max_words])
    sentences = _SENTENCE_END.split(head)
    if len(sentences) > 1:
        return " ".join(sentences[:-1])
    return head + " ..."


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    """Word ``n``-grams of the lower-cased text (the whole text if it has fewer words)."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    """Jaccard similarity of two sets (1.0 for two empty sets)."""
    union = len(a | b)
    return 1.0 if union == 0 else len(a & b) / union


def near_duplicates(texts: list[str], threshold: float, n: int = 3) -> list[int]:
    """Positions of texts whose shingle Jaccard with an EARLIER kept text is >= ``threshold``."""
    kept: list[set] = []
    dropped = []
    for i, text in enumerate(texts):
        sh = shingles(text, n)
        if any(jaccard(sh, other) >= threshold for other in kept):
            dropped.append(i)
        else:
            kept.append(sh)
    return dropped


def word_count(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())


def is_finite(value: object) -> bool:
    """True for a real, finite number."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
