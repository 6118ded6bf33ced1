"""Text-generation metrics against hand-computed values: BLEU, ROUGE-L, BERTScore."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cycle_kedro.assistant import metrics


def test_bleu_hand_computed():
    assert metrics.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(
        100.0
    )
    # all n-gram precisions 1, brevity penalty exp(1 - 6/4)
    assert metrics.bleu(["a b c d"], ["a b c d e f"]) == pytest.approx(
        100 * math.exp(-0.5), abs=1e-3
    )
    assert math.isnan(metrics.bleu([], []))


def test_bleu_from_summed_statistics_is_the_subsets_corpus_bleu():
    preds = ["the cat sat on the mat", "a dog barked at night", "periods stop at menopause", "x"]
    refs = ["the cat is on the mat", "the dog barked", "menstrual periods stop at menopause", "y z"]
    stats = metrics.bleu_statistics(preds, refs)
    for subset in ([0, 1, 2, 3], [0, 2], [1, 1, 2], [2]):
        expected = metrics.bleu([preds[i] for i in subset], [refs[i] for i in subset])
        assert metrics.bleu_from_statistics(stats[subset].sum(0)) == pytest.approx(expected)


def test_rouge_l_hand_computed():
    # LCS 5; precision 5/5, recall 5/6 -> F = 2*(5/6)/(1+5/6) = 10/11
    assert metrics.rouge_l_scores(
        ["the cat on the mat"], ["the cat sat on the mat"]
    ) == pytest.approx([100 * 10 / 11])
    assert np.mean(metrics.rouge_l_scores(["a b", "x"], ["a b", "y"])) == pytest.approx(50.0)


@pytest.mark.slow
def test_bertscore_local_encoder_ranks_identical_above_unrelated(bertscore_encoder):
    encoder = bertscore_encoder.load()
    [same] = metrics.bertscore_f1_scores(
        ["Periods usually come every 28 days."],
        ["Periods usually come every 28 days."],
        encoder,
    )
    [other] = metrics.bertscore_f1_scores(
        ["The train leaves at noon."], ["Periods usually come every 28 days."], encoder
    )
    assert same == pytest.approx(1.0, abs=1e-4) and other < same - 0.05


def test_squad_normalisation():
    assert metrics.normalize_answer("The Cat, sat  on a MAT!") == "cat sat on mat"
    assert metrics.tokens("An apple's core.") == ["apples", "core"]


def test_token_recall_and_k_precision_hand_computed():
    # reference tokens: periods stop at menopause; the answer holds 2 of the 4
    assert metrics.token_recall("Periods stop.", "Periods stop at menopause.") == pytest.approx(0.5)
    # answer tokens: periods stop then bones weaken; the knowledge holds 2 of the 5
    assert metrics.k_precision(
        "Periods stop, then bones weaken.", "Periods stop at menopause."
    ) == pytest.approx(0.4)
    assert metrics.k_precision("stop stop stop", "stop") == pytest.approx(1 / 3)  # bags of tokens
    assert math.isnan(metrics.token_recall("anything", "")) and math.isnan(metrics.k_precision("", "x"))


def test_a_sentence_without_support_is_found():
    knowledge = "Preeclampsia causes high blood pressure in pregnancy."
    supported, invented = "Preeclampsia causes high blood pressure.", "It is caused by eating cheese."
    known = set(metrics.tokens(knowledge))
    assert metrics.sentence_support(supported, known) == pytest.approx(1.0)
    assert metrics.sentence_support(invented, known) == pytest.approx(0.0)  # caused eating cheese
    assert math.isnan(metrics.sentence_support("It is.", known))  # only stop words: no claim
    assert metrics.unsupported_sentences([supported, invented], knowledge, 0.5) == [invented]
