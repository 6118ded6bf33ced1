"""The extractive system: the passage sentences that best answer the question, copied as they are."""

from __future__ import annotations

from cycle_kedro.assistant.extractive import extract_answer, question_types

OPTIONS = {"max_sentences": 1, "max_words": 60, "cue_weight": 0.5, "lead_weight": 0.25}
PASSAGES = [
    {"focus": "Endometriosis", "url": "u1",
     "text": "Endometriosis is tissue like the uterine lining growing elsewhere. Signs include pelvic pain "
             "and heavy periods. Surgery may help."},
    {"focus": "Fibroids", "url": "u2", "text": "Fibroids are benign tumors of the uterus."},
]  # fmt: skip


def test_the_sentence_of_the_questions_type_is_picked():
    assert question_types("What are the signs of endometriosis?") == ["symptoms"]
    assert extract_answer("What are the signs of endometriosis?", PASSAGES, OPTIONS) == (
        "Signs include pelvic pain and heavy periods."
    )
    assert extract_answer("What is endometriosis?", PASSAGES, OPTIONS).startswith(
        "Endometriosis is"
    )
    assert extract_answer("How is it treated?", PASSAGES, OPTIONS) == "Surgery may help."


def test_several_sentences_keep_passage_order_and_the_word_cap():
    two = extract_answer("signs of fibroids", PASSAGES, {**OPTIONS, "max_sentences": 2})
    assert two.index("Signs include") < two.index("Fibroids are")
    short = extract_answer(
        "signs of endometriosis", PASSAGES, {**OPTIONS, "max_sentences": 3, "max_words": 8}
    )
    assert short == "Signs include pelvic pain and heavy periods."
    assert extract_answer("anything", [], OPTIONS) == ""
