"""Know when you know: a retrieval-confidence score, the gate on it, and the "not covered" answer.

CRAG-style gating (Yan et al. 2024): a question whose retrieved passages score below the threshold
(``llm.gating.threshold``, fixed on the dev set by :func:`~cycle_kedro.assistant.selection.choose_threshold`)
is not answered: the assistant says that its sources do not cover the question, lists the nearest
sources and points to a clinician, with no medical claim of its own.

:func:`with_confidence` is the one place the score is computed (for the evaluation and for
``cycle-ask``). It computes every candidate of :data:`SCORES` and gates on the one that
``llm.gating.score`` names (picked on the dev set by
:func:`~cycle_kedro.assistant.selection.choose_score`, the best ROC AUC of covered vs uncovered):

* ``word_share`` (:func:`confidence`): the share of the question's content words, weighted by
  their rarity in the index (BM25 IDF; a word the index has never seen weighs most), that the best
  retrieved passage (its focus, question and text) holds, words compared by a light stem;
* ``focus_match`` (:func:`focus_match`): the same share held by the best passage's focus and
  question only: is the question's topic the passage's topic?
* ``dense``: the fine-tuned retriever's cosine of the question and its top passage
  (:func:`~cycle_kedro.assistant.retrieval.confidence`).

:func:`tradeoff` tabulates answered share against faithfulness over thresholds.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .metrics import STOP_WORDS, tokens

if TYPE_CHECKING:
    from .retrieval import RetrievalIndex

# question words that carry no topic ("what is going on?", "should I worry?")
QUESTION_WORDS = frozenset(
    "going worry normal thing something really actually okay ok safe know tell get got getting "
    "bad happen happening still want need anything way wrong mean means im ive id dont cant "
    "information people affected".split()
)
_SUFFIXES = (
    "ations",
    "ation",
    "ings",
    "ing",
    "ness",
    "ancy",
    "ant",
    "ies",
    "ied",
    "es",
    "ed",
    "ly",
    "s",
)


def stem(token: str) -> str:
    """A light stem: one common suffix off (keeping 4+ letters, 3 for "ing"), a final "e" off, 5 letters.

    "pregnant", "pregnancy" -> "pregn"; "bleeding", "bleed" -> "bleed"; "cause", "causes" -> "caus".
    """
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= (3 if suffix == "ing" else 4):  # noqa: PLR2004
            token = token[: -len(suffix)]
            break
    return token.removesuffix("e")[:5] if len(token) > 3 else token  # noqa: PLR2004 (short words whole)


def content_stems(text: str) -> list[str]:
    """Stems of the normalised tokens of ``text`` that are neither stop words nor question words."""
    return [
        stem(t)
        for t in tokens(text)
        if t not in STOP_WORDS and t not in QUESTION_WORDS and len(t) > 1
    ]


def term_weights(index: RetrievalIndex) -> dict[str, float]:
    """Rarity of each word of the index: its BM25 IDF (the index's own vocabulary)."""
    return {t: float(index.bm25.idf[i]) for t, i in index.bm25.vocabulary.items()}


def _held_share(
    question: str,
    passages: list[dict[str, str]],
    weights: dict[str, float],
    stop_words: frozenset[str],
    fields: tuple[str, ...],
) -> float:
    """The IDF-weighted share of the question's content words whose stem the best passage's ``fields`` hold."""
    skip = STOP_WORDS | QUESTION_WORDS | stop_words
    words = list(dict.fromkeys(t for t in tokens(question) if t not in skip))
    if not words or not passages:
        return 0.0
    unseen = max(weights.values(), default=1.0)
    w = np.array([weights.get(t, unseen) for t in words])
    stems = [stem(t) for t in words]
    best = 0.0
    for p in passages:
        held = set(content_stems(" ".join(str(p.get(k, "")) for k in fields)))
        best = max(best, float(w[[s in held for s in stems]].sum() / w.sum()))
    return best


def confidence(
    question: str,
    passages: list[dict[str, str]],
    weights: dict[str, float],
    stop_words: frozenset[str] = frozenset(),
) -> float:
    """The ``word_share`` score in [0, 1] (0 without passages or content words).

    The IDF-weighted share of the question's content words whose stem the best passage holds
    (``focus``, ``question`` and ``text`` of each passage); words the index has never seen get the
    largest weight of the index. Content words: not in :data:`STOP_WORDS`, :data:`QUESTION_WORDS`
    nor ``stop_words`` (the index's own stop list, whose words it never counts).
    """
    return _held_share(question, passages, weights, stop_words, ("focus", "question", "text"))


def focus_match(
    question: str,
    passages: list[dict[str, str]],
    weights: dict[str, float],
    stop_words: frozenset[str] = frozenset(),
) -> float:
    """The ``focus_match`` score: as :func:`confidence`, but held by a passage's ``focus`` and ``question`` only."""
    return _held_share(question, passages, weights, stop_words, ("focus", "question"))


#: the candidate gating scores (``llm.gating.scores``); ``dense`` is read from the retrieval
SCORES = ("word_share", "focus_match", "dense")


def with_confidence(contexts: pd.DataFrame, index: RetrievalIndex, score: str) -> pd.DataFrame:
    """``contexts`` with a ``confidence_<name>`` column per score of :data:`SCORES` and ``confidence`` = ``score``'s.

    ``contexts``: :func:`~cycle_kedro.assistant.retrieval.retrieve_contexts` rows, whose
    ``confidence`` is the dense cosine of the top passage. The one place the gating score is
    computed. Forecast questions (no passages) get NaN.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # noqa: PLC0415 (BM25's stop list)

    if score not in SCORES:
        raise ValueError(f"unknown gating score {score!r}; known: {', '.join(SCORES)}")
    weights, stop = term_weights(index), frozenset(ENGLISH_STOP_WORDS)
    by_id = index.passages.set_index("passage_id")
    words, focus = [], []
    for r in contexts.itertuples(index=False):
        if r.kind == "forecast" or not len(r.passage_ids):
            words.append(np.nan)
            focus.append(np.nan)
            continue
        shown = by_id.loc[list(r.passage_ids), ["focus", "question", "text"]].to_dict("records")
        words.append(confidence(r.question, shown, weights, stop))
        focus.append(focus_match(r.question, shown, weights, stop))
    dense = contexts.get("confidence_dense", contexts["confidence"]).astype(float)
    found = {"word_share": words, "focus_match": focus, "dense": dense.to_numpy()}
    return contexts.assign(
        **{f"confidence_{name}": found[name] for name in SCORES}, confidence=found[score]
    )


def is_gated(score: float, threshold: float) -> bool:
    """Whether a question is below the gate (a NaN score, as for forecast questions, is never gated)."""
    return bool(np.isfinite(score) and score < threshold)


def not_covered(gating: dict[str, Any]) -> str:
    """The answer below the gate: the sources do not cover the question; see a clinician."""
    return str(gating["not_covered"])


def nearest_sources(passages: list[dict[str, str]], n: int) -> list[str]:
    """The URLs of the first ``n`` distinct retrieved passages (the nearest sources)."""
    return list(dict.fromkeys(p["url"] for p in passages if p.get("url")))[:n]


def strip_templates(answer: str, texts: list[str]) -> str:
    """``answer`` without the fixed texts the assistant adds (pointer, abstention): the model's claim."""
    for text in sorted((t for t in texts if t), key=len, reverse=True):
        answer = answer.replace(text, " ")
    return re.sub(r"\s+", " ", answer).strip()


def tradeoff(
    scores: pd.DataFrame, system: str, thresholds: list[float], kp_min: float
) -> pd.DataFrame:
    """Answered share against faithfulness for ``system`` at each threshold, per setting (``subset``).

    ``scores``: per-answer rows with ``subset``, ``confidence``, ``raw_abstained`` (the answer before
    the gate abstained), ``raw_k_precision`` and ``raw_on_target`` (the ungated answer's
    K-Precision and whether it cites the answering document; NaN without one). At threshold ``t`` a
    question is answered when its confidence is at least ``t`` and the ungated answer did not
    abstain. ``faithful``: answered with K-Precision >= ``kp_min``; ``grounded``: faithful and on
    target (questions with an answering document in the index). Shares are of all questions
    (``answered``, ``faithful_or_abstained``) or of the answered ones (``faithfulness``,
    ``precision``). ``utility``: per question +1 for a grounded answer, -1 for any other answer
    (an answer to a question the sources do not cover is wrong), 0 for an abstention, averaged.
    Where ``covered`` says which questions the index answers (the dev set has both kinds):
    ``answered_covered`` and ``answered_uncovered`` (the shares of each answered) and
    ``youden`` (their difference, Youden's J of the gate as a "covered?" test); NaN otherwise.
    """
    part = scores[scores["system"] == system]
    rows = []
    for subset, g in part.groupby("subset", sort=False):
        conf = g["confidence"].to_numpy(float)
        ungated_answer = ~g["raw_abstained"].to_numpy(bool)
        faithful = g["raw_k_precision"].to_numpy(float) >= kp_min
        on_target = g["raw_on_target"].astype(float).fillna(0.0).to_numpy() > 0
        good = faithful & on_target
        covered = g["covered"].astype(bool).to_numpy() if "covered" in g else np.ones(len(g), bool)
        both = covered.any() and (~covered).any()
        for t in thresholds:
            answered = ungated_answer & (conf >= t)
            n_ans = int(answered.sum())
            hit = float(answered[covered].mean()) if both else np.nan
            false_alarm = float(answered[~covered].mean()) if both else np.nan
            rows.append({
                "system": system, "subset": subset, "threshold": float(t), "n": len(g),
                "answered": float(answered.mean()),
                "faithfulness": float((answered & faithful).sum() / n_ans) if n_ans else np.nan,
                "precision": float((answered & good).sum() / n_ans) if n_ans else np.nan,
                "faithful_or_abstained": float(((answered & faithful) | ~answered).mean()),
                "utility": (int((answered & good).sum()) - int((answered & ~good).sum())) / len(g),
                "answered_covered": hit, "answered_uncovered": false_alarm, "youden": hit - false_alarm,
            })  # fmt: skip
    return pd.DataFrame(rows)
