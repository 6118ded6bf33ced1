"""Text-generation metrics: BLEU (sacrebleu), ROUGE-L (rouge-score), BERTScore (bert-score).

BLEU and ROUGE-L are on a 0-100 scale (as in the study's table), BERTScore F1 on 0-1.
"""

from __future__ import annotations

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
