"""One question answered the way ``cycle-ask`` answers it: retrieval, the gate, generation, safety pass, sources.

:func:`answer` is the one call for a single question (the CLI, and a served model); the
evaluation answers many questions at once (:mod:`~cycle_kedro.assistant.evaluation`). Both finish
every raw answer with :func:`finish_answer`: the safety pass, then either the answer with the
passages it cites or, below the gate or when nothing supported is left, the "not covered" answer
with the nearest sources.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from .extractive import extract_answer
from .gating import is_gated, nearest_sources, not_covered, strip_templates, with_confidence
from .modeling import chat_pair, resolve_device, score_and_generate
from .prompting import cited_sources, is_abstention, restricted_text, user_message
from .retrieval import context_passages, retrieve_contexts
from .safety import safety_pass
from .systems import check_systems, is_restricted, uses_retrieval

if TYPE_CHECKING:
    from .retrieval import RetrievalIndex, TextEncoder


def generate(
    model: Any,
    tokenizer: Any,
    question: str,
    system: str,
    options: dict[str, Any],
    *,
    restrict_to: str | None = None,
) -> str:
    """One greedy answer from ``model`` for ``question`` (a full user turn) in the chat format.

    ``system`` is the system prompt; ``options``: ``max_new_tokens``, ``max_length``, ``device``,
    optional ``no_repeat_ngram_size`` (the ``llm.ask`` parameters). ``restrict_to``: decode only
    the tokens of this text (see :func:`~cycle_kedro.assistant.modeling.score_and_generate`).
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
        restrict_to=None if restrict_to is None else [restrict_to],
        free=restrict_to is None,
    )
    return answers[0]


def finish_answer(  # noqa: PLR0913 (the texts and rules of one answer)
    raw: str,
    question: str,
    passages: list[dict[str, str]],
    *,
    prompt: dict[str, Any],
    evaluation: dict[str, Any],
    gating: dict[str, Any],
    gated: bool = False,
    qtype: str | None = None,
    allowed: str = "",
) -> dict[str, Any]:
    """The answer a user sees from a raw answer: safety pass, then the cited answer or "not covered".

    ``passages``: those the answer was given with (none for a closed-book system); ``allowed``:
    extra text numbers may come from (a forecast row). Below the gate (``gated``), or when the
    answer abstains or nothing supported is left, a system with passages answers
    ``gating['not_covered']`` (which points to a clinician) and lists the nearest
    ``gating['n_nearest']`` sources; other answers to symptom questions end with the clinician
    pointer. Returns ``answer``, ``sources`` and ``flags``.
    """
    rule = evaluation["safety"]
    knowledge = " ".join([allowed, *(f"{p['focus']}: {p['text']}" for p in passages)]).strip()
    res = safety_pass(raw, question, knowledge, rule, qtype=qtype, check_support=bool(passages))
    pointer = rule.get("symptoms", {}).get("pointer", "")
    claim = strip_templates(res.answer, [pointer])
    abstained = gated or not claim or is_abstention(claim, prompt["abstain"])
    text, sources = res.answer, []
    if abstained and passages:  # the "not covered" text points to a clinician itself
        text, sources = not_covered(gating), nearest_sources(passages, gating["n_nearest"])
    elif not abstained:
        sources = cited_sources(res.answer, passages, evaluation["cite_min_overlap"])
    flags = {"numbers": res.numbers, "phones": res.phones, "emails": res.emails, "urls": res.urls,
             "unsupported": res.unsupported, "replaced": res.replaced,
             "clinician_pointer": res.pointer_added or (abstained and bool(passages)),
             "abstained": abstained, "gated": gated}  # fmt: skip
    return {"answer": text, "sources": sources, "flags": flags}


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
    """Answer one question with ``system``: retrieval, the gate, generation, safety pass, cited sources.

    Args:
        question: the user's question.
        system: one of :data:`~cycle_kedro.assistant.systems.SYSTEMS`.
        model: the system's model (``systems.system_models(...)[systems.model_of(system)]``);
            unused by ``extractive`` and ``retrieval``.
        tokenizer: the base model's tokenizer (with its chat template).
        index, encoder: the retrieval index and its sentence encoder (for the systems that
            retrieve; unused when ``allowed`` is given).
        params: the ``llm`` parameter group (``prompt``, ``retrieval``, ``evaluation``,
            ``gating``, ``extractive``).
        options: generation options (the ``llm.ask`` group, see :func:`generate`).
        allowed: text the answer may take numbers and contacts from instead of retrieved
            passages (a forecast explanation: no retrieval then).

    Returns:
        ``question``, ``system``, ``answer`` (after the safety pass), ``sources`` (URLs of the
        passages it uses; the nearest ones when the sources do not cover the question) and
        ``flags`` (``numbers``, ``phones``, ``emails``, ``urls``, ``unsupported`` (sentences)
        flagged; ``replaced``, ``clinician_pointer``, ``abstained``, ``gated`` and the retrieval
        ``confidence``).
    """
    check_systems([system])
    prompt, gating = params["prompt"], params["gating"]
    passages, score = [], math.nan
    if uses_retrieval(system) and not allowed:
        asked = pd.DataFrame({"question": [question], "kind": "user", "focus": ""})
        contexts = with_confidence(
            retrieve_contexts(asked, index, encoder, params["retrieval"]["k"]), index, gating["score"]
        )
        passages, score = context_passages(contexts.iloc[0]), float(contexts["confidence"].iloc[0])
    gated = bool(passages) and is_gated(score, gating["threshold"])
    if gated:
        raw = ""  # nothing is generated below the gate
    elif system == "retrieval":
        raw = passages[0]["text"] if passages else ""
    elif system == "extractive":
        raw = extract_answer(question, passages, params["extractive"])
    else:
        raw = generate(
            model, tokenizer, user_message(question, passages, prompt), prompt["system"], options,
            restrict_to=restricted_text(question, passages) if is_restricted(system) else None,
        )  # fmt: skip
    done = finish_answer(
        raw, question, passages, prompt=prompt, evaluation=params["evaluation"], gating=gating,
        gated=gated, allowed=allowed,
    )  # fmt: skip
    done["flags"]["confidence"] = score
    return {"question": question, "system": system, **done}
