"""Grounded prompts: reference heads, cited sources, abstentions."""

from __future__ import annotations

from cycle_kedro.assistant import prompting


def test_reference_head_and_citations():
    text = "First sentence here. Second one is longer than that. Third."
    assert prompting.reference_head(text, 6) == "First sentence here."
    assert prompting.reference_head(text, 100) == text
    passages = [
        {"focus": "A", "text": "cramps happen before a period", "url": "u1"},
        {"focus": "B", "text": "bones get weak", "url": "u2"},
    ]
    assert prompting.cited_sources("Cramps happen before your period.", passages, 0.5) == ["u1"]
    assert prompting.cited_sources("Something else entirely.", passages, 0.5) == [
        "u1"
    ]  # top passage
    assert prompting.cited_sources("anything", [], 0.5) == []
    assert prompting.is_abstention(
        "I don't know; please ask a clinician.", "I don't know; please ask a clinician."
    )
    assert not prompting.is_abstention(
        "Cramps are common.", "I don't know; please ask a clinician."
    )
