"""Text-generation metrics: BLEU (sacrebleu), ROUGE-L (rouge-score), BERTScore (bert-score), token metrics.

BLEU and ROUGE-L are on a 0-100 scale (as in the study's table), BERTScore F1 on 0-1. The token
metrics of Adlakha et al. (2024) are shares on 0-1: :func:`token_recall` (correctness: the
reference's tokens in the answer), :func:`k_precision` (faithfulness: the answer's tokens in the
passages shown) and :func:`unsupported_sentences` (sentences whose content words the question and
passages do not hold).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bert_score import BERTScorer


def bleu(predictions: list[str], references: list[str]) -> float:
    """Corpus BLEU (sacrebleu defaults: 13a tokeniser, 4-grams, brevity penalty), 0-100."""
    import sacrebleu  # noqa: PLC0415

    if not predictions:
        return float("nan")
    return float(sacrebleu.corpus_bleu(predictions, [references]).score)


def bleu_statistics(predictions: list[str], references: list[str]) -> np.ndarray:
    """Per-pair sufficient statistics of :func:`bleu` (lengths, n-gram matches and totals).

    The sum of the rows of any subset, given to :func:`bleu_from_statistics`, is that subset's
    corpus BLEU: a bootstrap resamples rows instead of re-tokenising.
    """
    from sacrebleu.metrics import BLEU  # noqa: PLC0415

    stats = BLEU()._extract_corpus_statistics(predictions, [references])  # noqa: SLF001
    return np.asarray(stats, dtype=np.int64).reshape(len(predictions), -1)


def bleu_from_statistics(total: np.ndarray) -> float:
    """Corpus BLEU (0-100) from summed :func:`bleu_statistics` rows."""
    from sacrebleu.metrics import BLEU  # noqa: PLC0415

    return float(BLEU()._compute_score_from_stats([int(v) for v in total]).score)  # noqa: SLF001


def rouge_l_scores(predictions: list[str], references: list[str]) -> list[float]:
    """ROUGE-L F-measure of each pair (no stemming), 0-100."""
    from rouge_score import rouge_scorer  # noqa: PLC0415

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return [
        100.0 * scorer.score(ref, pred)["rougeL"].fmeasure
        for pred, ref in zip(predictions, references, strict=True)
    ]


def bertscore_f1_scores(
    predictions: list[str], references: list[str], encoder: BERTScorer, batch_size: int = 32
) -> list[float]:
    """BERTScore F1 of each pair with a loaded encoder (dataset ``llm.bertscore_encoder``; no baseline rescaling).

    Score every model's answers in one call: the sentences are embedded in length-sorted batches.
    """
    if not predictions:
        return []
    # bert-score cannot embed an empty candidate
    cands = [p if p.strip() else "." for p in predictions]
    _, _, f1 = encoder.score(cands, references, batch_size=batch_size)
    return [float(v) for v in f1]


# Token metrics of Adlakha et al. (TACL 2024, "Evaluating Correctness and Faithfulness of
# Instruction-Following Models for Question Answering"): SQuAD-style normalisation, then bags of
# tokens compared with multiset intersection (as their instruct-qa code does).
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, punctuation and articles (a, an, the) removed, spaces collapsed."""
    return " ".join(_ARTICLES.sub(" ", _PUNCTUATION.sub("", str(text).lower())).split())


def tokens(text: str) -> list[str]:
    """The normalised tokens of ``text`` (:func:`normalize_answer`, split on spaces)."""
    return normalize_answer(text).split()


def _common(a: list[str], b: list[str]) -> int:
    return sum((Counter(a) & Counter(b)).values())


def token_recall(answer: str, reference: str) -> float:
    """Correctness: share of the reference's tokens that the answer holds (NaN: empty reference)."""
    ref = tokens(reference)
    return _common(tokens(answer), ref) / len(ref) if ref else float("nan")


def k_precision(answer: str, knowledge: str) -> float:
    """Faithfulness: share of the answer's tokens found in the knowledge shown (NaN: empty answer)."""
    ans = tokens(answer)
    return _common(ans, tokens(knowledge)) / len(ans) if ans else float("nan")


# function words left out when a sentence's support is counted (its claim is in its content words)
STOP_WORDS = frozenset(
    "a an the and or but if then so as of in on at to for from by with about into over under "
    "is are was were be been being am do does did done have has had having can could may might "
    "must shall should will would it its this that these those there here which who whom whose "
    "what when where why how i me my we our you your he him his she her they them their not no "
    "also more most other some such than too very only just each any all both many much".split()
)


def sentence_support(
    sentence: str, knowledge_tokens: set[str], stop_words: frozenset[str] = STOP_WORDS
) -> float:
    """Share of a sentence's content tokens (normalised, ``stop_words`` left out) in ``knowledge_tokens``.

    Numbers are not content tokens here (the safety pass checks each number); NaN when the sentence
    has no content token (it claims nothing, as a list's "2.").
    """
    content = [t for t in tokens(sentence) if t not in stop_words and not t.isdigit()]
    if not content:
        return float("nan")
    return sum(t in knowledge_tokens for t in content) / len(content)


def unsupported_sentences(sentences: list[str], knowledge: str, min_support: float) -> list[str]:
    """The sentences whose :func:`sentence_support` in ``knowledge`` is below ``min_support``."""
    known = set(tokens(knowledge))
    supports = [sentence_support(s, known) for s in sentences]
    return [s for s, v in zip(sentences, supports, strict=True) if not math.isnan(v) and v < min_support]
