"""Corpus helpers: text normalisation, de-duplication; forecast explanations come from cycles.explain.

Pure functions on strings and pandas tables (no model, no I/O), shared by the nodes and the
``cycle-ask`` CLI.
"""

from __future__ import annotations

import math
import re
import unicodedata

import pandas as pd

from cycle_kedro.cycles.contracts import NEXT_CYCLE_COLUMNS
from cycle_kedro.cycles.explain import ASKS, explain_forecast, forecast_question  # noqa: F401 (the one copy)
from cycle_kedro.validation import DataValidationError

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
