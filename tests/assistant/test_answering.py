"""One question answered as cycle-ask answers it: greedy generation, retrieval, safety pass, sources."""

from __future__ import annotations

from cycle_kedro.assistant import retrieval
from cycle_kedro.assistant.answering import answer, generate


def test_generate_is_greedy_and_bounded(tiny_model, tiny_tokenizer):
    opts = {"max_new_tokens": 4, "max_length": 64, "device": "cpu"}
    first = generate(tiny_model, tiny_tokenizer, "what is menopause", "be careful", opts)
    again = generate(tiny_model, tiny_tokenizer, "what is menopause", "be careful", opts)
    assert first == again and len(tiny_tokenizer(first, add_special_tokens=False)["input_ids"]) <= 4


def test_answer_cites_retrieved_urls_and_adds_the_clinician_pointer(
    tiny_model, tiny_tokenizer, knowledge_base, minilm, llm_params
):
    index = retrieval.build_index(retrieval.split_passages(knowledge_base, 12, 2), minilm, {})
    resources = {"tokenizer": tiny_tokenizer, "index": index, "encoder": minilm, "params": llm_params,
                 "options": {"max_new_tokens": 4, "max_length": 256, "device": "cpu"}}  # fmt: skip
    top = answer("What is osteoporosis?", "retrieval", model=None, **resources)
    assert top["answer"].lower().startswith("osteoporosis")
    assert top["sources"] and set(top["sources"]) <= set(knowledge_base["url"])
    keep = {**llm_params["evaluation"]["safety"], "unsupported": {"min_support": 0.5, "action": "flag"}}
    params = {**llm_params, "evaluation": {**llm_params["evaluation"], "safety": keep},
              "gating": {**llm_params["gating"], "threshold": 0.0}}  # fmt: skip
    rag = answer(
        "What are the symptoms of menopause?", "base_rag", model=tiny_model, **{**resources, "params": params}
    )
    assert rag["flags"]["clinician_pointer"] and rag["answer"].endswith(
        "Please see a doctor or nurse."
    )


def test_below_the_gate_the_sources_do_not_cover_the_question(knowledge_base, minilm, llm_params):
    index = retrieval.build_index(retrieval.split_passages(knowledge_base, 12, 2), minilm, {})
    resources = {"tokenizer": None, "index": index, "encoder": minilm, "params": llm_params,
                 "options": {"max_new_tokens": 4, "max_length": 256, "device": "cpu"}}  # fmt: skip
    covered = answer("What is osteoporosis?", "extractive", model=None, **resources)
    assert not covered["flags"]["gated"] and covered["flags"]["confidence"] >= 0.3
    assert covered["answer"].lower().startswith("osteoporosis") and covered["sources"]
    uncovered = answer("Which tattoo ink is safe?", "extractive", model=None, **resources)
    assert uncovered["flags"]["gated"] and uncovered["flags"]["abstained"]
    assert uncovered["answer"] == llm_params["gating"]["not_covered"]  # no claim of its own
    assert len(uncovered["sources"]) == 2  # the nearest sources
