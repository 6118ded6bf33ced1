"""MedQuAD question types read from the wording, consumer rewrites and plain-word expansion."""

from __future__ import annotations

import pytest

from cycle_kedro.assistant.question_types import (
    CONSUMER_TEMPLATES,
    TYPES,
    consumer_rewrites,
    expand_lay_terms,
    passage_type,
    question_type,
)


@pytest.mark.parametrize(
    ("question", "qtype"),
    [
        ("What is (are) Kallmann syndrome?", "information"),
        ("What are the symptoms of Turner syndrome?", "symptoms"),
        ("What causes Catamenial pneumothorax?", "causes"),
        ("What are the treatments for Hereditary hemorrhagic telangiectasia?", "treatment"),
        ("Who is at risk for Endometrial Cancer?", "susceptibility"),
        ("How to prevent Ovarian Epithelial Cancer?", "prevention"),
        ("How to diagnose Hereditary multiple osteochondromas?", "exams and tests"),
        ("What is the outlook for Vulvar Cancer?", "outlook"),
        ("Is Kallmann syndrome inherited?", "inheritance"),
        ("What are the genetic changes related to aromatase deficiency?", "genetic changes"),
        ("How many people are affected by Kallmann syndrome?", "frequency"),
        ("Do you have information about Hysterectomy", "information"),
        ("how do I get rid of yeast infections?", "treatment"),
        ("am I likely to get breast cancer if my aunt had it?", "susceptibility"),
        ("does endometriosis run in families?", "inheritance"),
        ("why are my periods so heavy", "causes"),
        ("what is pcos", "information"),
        ("I'm pregnant, my face is swelling and my blood pressure is up, what is going on?", ""),
    ],
)
def test_question_type_reads_the_frame_not_the_focus(question, qtype):
    # "hereditary" in a focus does not make a treatment or diagnosis question about inheritance
    assert question_type(question) == qtype


def test_every_consumer_template_is_read_as_its_own_type():
    assert set(CONSUMER_TEMPLATES) == set(TYPES)
    for qtype in TYPES:
        rewrites = consumer_rewrites("Endometriosis", qtype)
        assert len(rewrites) == len(CONSUMER_TEMPLATES[qtype]) >= 3
        assert all("endometriosis" in q for q in rewrites)
        assert [question_type(q) for q in rewrites] == [qtype] * len(rewrites)


def test_rewrites_drop_a_parenthesis_and_unknown_types_have_none():
    assert consumer_rewrites("Von Hippel-Lindau Disease (VHL)", "outlook")[0] == (
        "will i get better from von hippel-lindau disease?"
    )
    assert consumer_rewrites("Endometriosis", "forecast explanation") == []
    assert passage_type(" Exams and Tests") == "exams and tests"
    assert passage_type(None) == ""


def test_plain_words_get_the_knowledge_base_words():
    expanded = expand_lay_terms("growths in my womb and I pee a lot")
    assert expanded.startswith("growths in my womb and I pee a lot (")
    assert {"uterus", "uterine", "urinary", "fibroids"} <= set(expanded.strip(")").split())
    assert (
        expand_lay_terms("What is (are) Kallmann syndrome?") == "What is (are) Kallmann syndrome?"
    )
