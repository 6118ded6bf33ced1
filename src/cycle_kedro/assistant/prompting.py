"""Grounded prompts: sources blocks, retrieval-augmented fine-tuning (RAFT) examples, citations.

RAFT (Zhang et al. 2024): each training question is shown with retrieved passages. In ``gold``
examples the passage its answer comes from is mixed with distractors (the best-ranked passages of
*other* documents); in ``no_gold`` examples only passages of other topics are shown and the target
is a short "I don't know; please ask a clinician"; ``closed_book`` examples have no sources (for
the LoRA-without-retrieval system). Pure functions on tables and strings.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .retrieval import RetrievalIndex, TextEncoder

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def reference_head(text: str, max_words: int) -> str:
    """The first ``max_words`` words of ``text``, cut at the last sentence end when there is one."""
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    head = " ".join(words[:max_words])
    sentences = _SENTENCE_END.split(head)
    return " ".join(sentences[:-1]) if len(sentences) > 1 else head


def sources_block(passages: list[dict[str, str]]) -> str:
    """``[1] focus: text`` lines, one per passage."""
    return "\n".join(f"[{i}] {p['focus']}: {p['text']}" for i, p in enumerate(passages, start=1))


def user_message(question: str, passages: list[dict[str, str]], prompt: dict[str, Any]) -> str:
    """The user turn: the sources (if any), the question and the grounding instruction."""
    if not passages:
        return question
    return f"Sources:\n{sources_block(passages)}\n\nQuestion: {question}\n{prompt['instruction']}"


def restricted_text(question: str, passages: list[dict[str, str]]) -> str:
    """What a restricted decoding may say: the words of the question and of the sources shown.

    Not the abstention: whether the sources cover the question is the gate's decision
    (:mod:`~cycle_kedro.assistant.gating`), so a restricted answer always reads from them.
    """
    return "\n".join([question, sources_block(passages)])


def _records(frame: pd.DataFrame) -> list[dict[str, str]]:
    return frame[["focus", "text"]].to_dict("records")


def raft_examples(
    train: pd.DataFrame,
    index: RetrievalIndex,
    encoder: TextEncoder,
    options: dict[str, Any],
    prompt: dict[str, Any],
    *,
    exclude_rows: frozenset[int] = frozenset(),
) -> pd.DataFrame:
    """RAFT examples for ``train`` rows (``row_id``, ``doc_id``, ``question``, ``answer``, ``topic``).

    ``options``: ``k`` passages, shares ``p_no_gold`` / ``p_closed_book``, ``answer_words``, ``seed``.
    The passages of ``exclude_rows`` (indexed pairs never to train on) are never shown.
    Returns ``question``, ``raft_mode``, ``user`` (the user turn), ``target``.
    """
    rng = np.random.default_rng(options["seed"])
    k = int(options["k"])
    passages = index.passages[~index.passages["row_id"].isin(exclude_rows)]
    hits = [
        h[~h["row_id"].isin(exclude_rows)]
        for h in index.search(train["question"].tolist(), encoder, k=k + 8)
    ]
    topic_of_row = dict(zip(train["row_id"], train["topic"], strict=True))
    p_topic = passages["row_id"].map(topic_of_row)
    modes = rng.choice(
        ["gold", "no_gold", "closed_book"], size=len(train),
        p=[1 - options["p_no_gold"] - options["p_closed_book"], options["p_no_gold"], options["p_closed_book"]],
    )  # fmt: skip
    rows = []
    for (_, r), found, mode in zip(train.iterrows(), hits, modes, strict=True):
        if mode == "gold":
            gold = passages[passages["row_id"] == r["row_id"]].head(1)
            shown = pd.concat([gold, found[found["doc_id"] != r["doc_id"]].head(k - 1)])
            shown = shown.iloc[rng.permutation(len(shown))]
            target = reference_head(r["answer"], options["answer_words"])
        elif mode == "no_gold":
            others = passages[(p_topic != r["topic"]) & (passages["doc_id"] != r["doc_id"])]
            shown = others.iloc[rng.choice(len(others), size=min(k, len(others)), replace=False)]
            target = prompt["abstain"]
        else:
            shown, target = passages.head(0), reference_head(r["answer"], options["answer_words"])
        rows.append({
            "question": r["question"], "raft_mode": str(mode),
            "user": user_message(r["question"], _records(shown), prompt), "target": target,
        })  # fmt: skip
    return pd.DataFrame(rows)


def cited_sources(answer: str, passages: list[dict[str, str]], min_overlap: float) -> list[str]:
    """URLs of the passages the answer uses: share of the answer's words found in the passage >= ``min_overlap``.

    Falls back to the top passage's URL when none passes; no URL for an abstention (empty list of
    passages).
    """
    words = set(_WORD.findall(answer.lower()))
    if not passages or not words:
        return []
    used = []
    for p in passages:
        overlap = len(words & set(_WORD.findall(p["text"].lower()))) / len(words)
        if overlap >= min_overlap and p["url"] not in used:
            used.append(p["url"])
    return used or [passages[0]["url"]]


def is_abstention(answer: str, abstain: str) -> bool:
    """Whether the answer is (or starts with) the abstention text, or says it does not know."""
    a = answer.strip().lower()
    return a.startswith(abstain.strip().lower()[:12]) or a.startswith("i don't know")
