"""The safety pass: invented numbers and contacts flagged, the parameter rule applied, the pointer."""

from __future__ import annotations

import pytest

from cycle_kedro.assistant import safety

RULE = {
    "action": "remove",
    "replace_text": "I can't answer that safely; please ask a clinician.",
    "symptoms": {
        "qtypes": ["symptoms"],
        "keywords": ["symptom", "pain"],
        "pointer": "Please see a clinician.",
    },
}


def test_invented_number_and_phone_are_flagged_and_removed():
    answer = (
        "Up to 80% of women get cramps. Call 1-800-994-9662 for help. Most have 12 cycles a year."
    )
    res = safety.safety_pass(
        answer, "What are cramps?", "Cramps affect many women; 12 cycles a year.", RULE
    )
    assert res.numbers == ["80"]
    assert res.phones == ["1-800-994-9662"]
    assert res.flagged
    assert "80" not in res.answer and "994" not in res.answer and "12 cycles" in res.answer
    assert not res.pointer_added


def test_supported_numbers_contacts_and_roundings_pass():
    allowed = "Predicted 28.6 days (80% interval 24.4 to 32.9). Call (301) 555-1234 or see www.nichd.nih.gov."
    answer = "About 29 days, between 24 and 33, 80% of the time. Call 301-555-1234 or https://www.nichd.nih.gov/."
    res = safety.safety_pass(answer, "When is my next period?", allowed, RULE)
    assert not res.flagged and res.answer == answer


def test_invented_email_and_url_flagged_and_replace_rule():
    answer = "Write to help@clinic.com or visit periodfacts.org today."
    res = safety.safety_pass(answer, "Where can I learn more?", "", {**RULE, "action": "replace"})
    assert res.emails == ["help@clinic.com"] and res.urls == ["periodfacts.org"]
    assert res.replaced and res.answer == RULE["replace_text"]
    flag_only = safety.safety_pass(
        answer, "Where can I learn more?", "", {**RULE, "action": "flag"}
    )
    assert flag_only.flagged and flag_only.answer == answer


def test_symptom_questions_end_with_the_clinician_pointer():
    res = safety.safety_pass(
        "It can cause cramps.", "What are the symptoms of endometriosis?", "", RULE
    )
    assert res.pointer_added and res.answer.endswith("Please see a clinician.")
    by_qtype = safety.safety_pass("It varies.", "What is PCOS?", "", RULE, qtype="symptoms")
    assert by_qtype.pointer_added
    assert not safety.safety_pass("It varies.", "What is PCOS?", "", RULE).pointer_added


def test_unknown_action_is_an_error():
    with pytest.raises(ValueError, match="flag, remove or replace"):
        safety.safety_pass("x 5", "q", "", {**RULE, "action": "drop"})


def test_list_enumerators_and_source_markers_are_not_invented_numbers():
    answer = "Treatments include:\n1. Surgery [1]\n2) Radiation for 6 weeks [2]"
    res = safety.safety_pass(answer, "What are the treatments?", "surgery, radiation", RULE)
    assert res.numbers == ["6"]
    assert res.answer.startswith("Treatments include:\n1. Surgery [1]") and "[2]" in res.answer


def test_claimed_numbers_leave_out_contacts_and_markers():
    assert safety.claimed_numbers("1. Call 301-555-1234 [2]; 35% of 1,200 women") == ["35", "1,200"]


def test_a_sentence_the_passages_do_not_support_is_flagged_and_removed():
    rule = {**RULE, "unsupported": {"min_support": 0.5, "action": "remove"}}
    passages = "Preeclampsia: high blood pressure and protein in the urine after 20 weeks of pregnancy."
    answer = "Preeclampsia means high blood pressure in pregnancy. Eating cheese cures it quickly."
    res = safety.safety_pass(answer, "What is preeclampsia?", passages, rule, check_support=True)
    assert res.unsupported == ["Eating cheese cures it quickly."] and res.flagged_unsupported
    assert res.answer == "Preeclampsia means high blood pressure in pregnancy."
    kept = safety.safety_pass(
        answer, "What is preeclampsia?", passages,
        {**rule, "unsupported": {"min_support": 0.5, "action": "flag"}}, check_support=True,
    )  # fmt: skip
    assert kept.unsupported and kept.answer == answer
    replaced = safety.safety_pass(
        answer, "What is preeclampsia?", passages,
        {**rule, "unsupported": {"min_support": 0.5, "action": "replace"}}, check_support=True,
    )  # fmt: skip
    assert replaced.replaced and replaced.answer == RULE["replace_text"]
    closed_book = safety.safety_pass(answer, "What is preeclampsia?", "", rule)
    assert not closed_book.unsupported  # no passages shown: nothing to support it


def test_a_list_stays_a_list_when_spans_or_sentences_are_removed():
    rule = {**RULE, "unsupported": {"min_support": 0.5, "action": "remove"}}
    answer = "Signs include:\n\n1. Heavy bleeding in 90% of women.\n2. Pelvic pain.\n3. Purple toenails."
    res = safety.safety_pass(
        answer, "What are the signs?", "Heavy bleeding and pelvic pain.", rule, check_support=True
    )
    assert res.numbers == ["90"] and res.unsupported == ["Purple toenails."]
    assert res.answer == "Signs include:\n\n1. Heavy bleeding in % of women.\n2. Pelvic pain.\n3."
    assert safety.find_invented(res.answer, "Heavy bleeding and pelvic pain.")["numbers"] == []
