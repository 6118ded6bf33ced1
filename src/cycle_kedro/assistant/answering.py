"""One question answered the way ``cycle-ask`` answers it: retrieval, generation, safety pass, sources.

:func:`answer` is the one call for a single question (the CLI, and a served model); the
evaluation answers many questions at once (:mod:`~cycle_kedro.assistant.evaluation`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .modeling import chat_pair, resolve_device, score_and_generate
from .prompting import cited_sources, is_abstention, user_message
from .safety import safety_pass
from .systems import check_systems, uses_retrieval

if TYPE_CHECKING:
    from .retrieval import RetrievalIndex, TextEncoder


def generate(
    model: Any, tokenizer: Any, question: str, system: str, options: dict[str, Any]
) -> str:
    """One greedy answer from ``model`` for ``question`` (a full user turn) in the chat format.

    ``system`` is the system prompt; ``options``: ``max_new_tokens``, ``max_length``, ``device``,
    optional ``no_repeat_ngram_size`` (the ``llm.ask`` parameters).
    """
    prompt, _ = chat_pair(tokenizer, system, question, "")
    answers, _ = score_and_generate(
        model,
        tokenizer,
        [prompt],
        [""],  # nothing to score
        max_new_tokens=options["max_new_tokens"],
        batch_size=1,
        device=resolve_device(options["device"]),
        max_length=options["max_length"],
        no_repeat_ngram_size=options.get("no_repeat_ngram_size", 0),
    )
    return answers[0]


def answer(  # noqa: PLR0913 (the resources of one answer)
    question: str,
    system: str,
    *,
    model: Any,
    tokenizer: Any,
    index: RetrievalIndex | None,
    encoder: TextEncoder | None,
    params: dict[str, Any],
    options: dict[str, Any],
    allowed: str = "",
) -> dict[str, Any]:
    """Answer one question with ``system``: retrieval, generation, safety pass, cited sources.

    Args:
        question: the user's question.
        system: one of :data:`~cycle_kedro.assistant.systems.SYSTEMS`.
        model: the system's model (``systems.system_models(...)[systems.model_of(system)]``);
            unused by ``retrieval``.
        tokenizer: the base model's tokenizer (with its chat template).
        index, encoder: the retrieval index and its sentence encoder (for ``*_rag`` and
            ``retrieval``; unused when ``allowed`` is given).
        params: the ``llm`` parameter group (``prompt``, ``retrieval``, ``evaluation``).
        options: generation options (the ``llm.ask`` group, see :func:`generate`).
        allowed: text the answer may take numbers and contacts from instead of retrieved
            passages (a forecast explanation: no retrieval then).

    Returns:
        ``question``, ``system``, ``answer`` (after the safety pass), ``sources`` (URLs of the
        passages it uses) and ``flags`` (``numbers``, ``phones``, ``emails``, ``urls`` flagged;
        ``replaced``, ``clinician_pointer``, ``abstained``).
    """
    check_systems([system])
    prompt = params["prompt"]
    passages = []
    if uses_retrieval(system) and not allowed:
        hits = index.search([question], encoder, k=params["retrieval"]["k"])[0]
        passages = [
            {"focus": f, "text": t, "url": u}
            for f, t, u in zip(
                hits["focus"].tolist(), hits["text"].tolist(), hits["url"].tolist(), strict=True
            )
        ]
    if system == "retrieval":
        raw = passages[0]["text"] if passages else ""
    else:
        raw = generate(
            model, tokenizer, user_message(question, passages, prompt), prompt["system"], options
        )
    text = " ".join([allowed, *(p["text"] for p in passages)])
    res = safety_pass(raw, question, text, params["evaluation"]["safety"])
    abstained = is_abstention(res.answer, prompt["abstain"])
    sources = (
        []
        if abstained
        else cited_sources(res.answer, passages, params["evaluation"]["cite_min_overlap"])
    )
    flags = {"numbers": res.numbers, "phones": res.phones, "emails": res.emails, "urls": res.urls,
             "replaced": res.replaced, "clinician_pointer": res.pointer_added, "abstained": abstained}  # fmt: skip
    return {
        "question": question,
        "system": system,
        "answer": res.answer,
        "sources": sources,
        "flags": flags,
    }
