"""Safety pass on a generated answer: invented numbers and contacts, unsupported sentences, a clinician pointer.

A number, phone number, e-mail address or URL in the answer that appears in none of the *allowed*
texts (the question, the retrieved passages, the forecast row) is flagged. The rule in parameters
(``llm.evaluation.safety.action``) then keeps the answer (``flag``), removes the flagged spans
(``remove``) or replaces the whole answer by a fixed text (``replace``). When the answer was given
with passages, a sentence whose content words the question and passages do not hold (support below
``unsupported.min_support``, :func:`~cycle_kedro.assistant.metrics.unsupported_sentences`) is flagged
too and handled by ``unsupported.action`` (``flag``, ``remove`` the sentence, ``replace`` the
answer); an answer left empty is for the caller to turn into its "not covered" answer. Symptom
questions get a fixed pointer to a clinician at the end. Pure functions on strings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .metrics import unsupported_sentences
from .retrieval import split_sentences

PHONE = re.compile(
    r"(?<![\w.])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w])"
    r"|(?<![\w.])1-8\d\d-[A-Z0-9-]{7,}"
)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
URL = re.compile(
    r"\bhttps?://[^\s)\]>\"']+|\bwww\.[^\s)\]>\"']+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:gov|org|com|net|edu|info)(?:/[^\s)\]>\"']*)?",
    re.IGNORECASE,
)
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:\.\d+)?(?![\w])")
# not claims: list enumerators ("1. ", "2) " at a line start) and source markers ("[2]")
MARKERS = re.compile(r"(?m)^\s*\d{1,2}[.)](?=\s|$)|\[\d{1,2}\]")


def _norm_contact(text: str) -> str:
    return re.sub(r"[^0-9a-z@]", "", text.lower().removeprefix("https://").removeprefix("http://"))


def _norm_url(text: str) -> str:
    t = text.lower().rstrip(".,;:")
    t = re.sub(r"^https?://", "", t)
    return t.removeprefix("www.").rstrip("/")


def _number_values(text: str) -> set[float]:
    """Every number in ``text`` and its whole-number roundings (a row's 28.7 supports "29")."""
    values: set[float] = set()
    for raw in NUMBER.findall(text):
        try:
            x = float(raw.replace(",", ""))
        except ValueError:
            continue
        values |= {x, float(math.floor(x)), float(math.floor(x + 0.5)), float(math.ceil(x))}
        values.add(round(x, 1))
    return values


@dataclass
class SafetyResult:
    """The answer after the pass, and what was flagged in the original."""

    answer: str
    numbers: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    replaced: bool = False
    pointer_added: bool = False

    @property
    def flagged(self) -> bool:
        """Whether anything was flagged."""
        return bool(self.numbers or self.phones or self.emails or self.urls)

    @property
    def flagged_unsupported(self) -> bool:
        """Whether a sentence without support in the question and passages was flagged."""
        return bool(self.unsupported)

    @property
    def contacts(self) -> list[str]:
        """Flagged phone numbers, e-mail addresses and URLs."""
        return self.phones + self.emails + self.urls


def find_invented(answer: str, allowed: str) -> dict[str, list[str]]:
    """Phones, e-mails, URLs and numbers of ``answer`` that ``allowed`` does not contain.

    Contacts are compared without punctuation/scheme; a number is supported when ``allowed`` has
    the same value (or one that rounds to it). Digits inside a flagged contact are not counted again;
    list enumerators ("1." at a line start) and source markers ("[2]") are not numbers.
    """
    allowed_contacts = {_norm_contact(m) for m in PHONE.findall(allowed) + EMAIL.findall(allowed)}
    allowed_urls = {_norm_url(m) for m in URL.findall(allowed)}
    phones = [m for m in PHONE.findall(answer) if _norm_contact(m) not in allowed_contacts]
    emails = [m for m in EMAIL.findall(answer) if _norm_contact(m) not in allowed_contacts]
    rest = EMAIL.sub(" ", PHONE.sub(" ", answer))
    urls = [
        m for m in URL.findall(rest)
        if not any(_norm_url(m) in a or a in _norm_url(m) for a in allowed_urls if a)
    ]  # fmt: skip
    rest = MARKERS.sub(" ", URL.sub(" ", rest))
    values = _number_values(allowed)
    numbers = [n for n in NUMBER.findall(rest) if float(n.replace(",", "")) not in values]
    return {"phones": phones, "emails": emails, "urls": urls, "numbers": numbers}


def claimed_numbers(answer: str) -> list[str]:
    """The numbers an answer states (outside contacts, URLs, list enumerators and source markers)."""
    rest = MARKERS.sub(" ", URL.sub(" ", EMAIL.sub(" ", PHONE.sub(" ", answer))))
    return NUMBER.findall(rest)


def is_symptom_question(question: str, qtype: str | None, rule: dict[str, Any]) -> bool:
    """A question about symptoms: MedQuAD ``qtype`` in ``rule['qtypes']`` or a keyword in it."""
    if qtype and str(qtype).lower() in {q.lower() for q in rule.get("qtypes", [])}:
        return True
    words = rule.get("keywords", [])
    return (
        bool(words)
        and re.search(r"\b(" + "|".join(map(re.escape, words)) + r")", question, re.IGNORECASE)
        is not None
    )


def _remove(answer: str, spans: list[str]) -> str:
    """``answer`` without ``spans``; spaces tidied, line breaks kept (a list stays a list)."""
    text = answer
    for span in sorted(set(spans), key=len, reverse=True):
        text = re.sub(r"(?<![\w.])" + re.escape(span) + r"(?![\w])", "", text)
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"[ \t]+([.,;:])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"[ \t]*\n[ \t]*", "\n", text).strip()


def answer_sentences(text: str) -> list[str]:
    """The sentences of an answer: each line split into sentences (a list item is a sentence)."""
    return [s for line in text.splitlines() for s in split_sentences(line)]


def _check_action(action: str, what: str) -> str:
    if action not in {"flag", "remove", "replace"}:
        raise ValueError(f"llm safety {what} must be flag, remove or replace, got {action!r}")
    return action


def safety_pass(  # noqa: PLR0913 (the texts and the rule of one answer)
    answer: str,
    question: str,
    allowed: str,
    rule: dict[str, Any],
    qtype: str | None = None,
    *,
    check_support: bool = False,
) -> SafetyResult:
    """Flag invented numbers/contacts (and, with ``check_support``, unsupported sentences) against ``question`` + ``allowed``.

    ``rule``: ``action`` (``flag`` | ``remove`` | ``replace``), ``replace_text``,
    ``unsupported: {min_support, action}`` and ``symptoms: {qtypes, keywords, pointer}``. Pass
    ``check_support=True`` when ``allowed`` holds the passages the answer was given with.
    """
    found = find_invented(answer, f"{question}\n{allowed}")
    result = SafetyResult(answer=answer, **found)
    action = _check_action(rule.get("action", "remove"), "action")
    support = rule.get("unsupported", {})
    if check_support and support:
        result.unsupported = unsupported_sentences(
            answer_sentences(answer), f"{question}\n{allowed}", support["min_support"]
        )
    support_action = _check_action(support.get("action", "flag"), "unsupported.action")
    text = answer
    if result.unsupported and support_action == "remove":
        for sentence in result.unsupported:
            text = text.replace(sentence, " ")
        text = _remove(text, [])
    if result.flagged and action == "remove":
        text = _remove(text, result.contacts + result.numbers)
    if (result.flagged and action == "replace") or (result.unsupported and support_action == "replace"):
        text, result.replaced = rule["replace_text"], True
    result.answer = text
    symptoms = rule.get("symptoms", {})
    pointer = symptoms.get("pointer", "")
    if pointer and is_symptom_question(question, qtype, symptoms) and pointer not in result.answer:
        result.answer = f"{result.answer.rstrip()} {pointer}".strip()
        result.pointer_added = True
    return result
