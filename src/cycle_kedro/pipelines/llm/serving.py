"""The node that packages the assistant as the served MLflow model ``cycle_assistant``.

The model's catalog dataset (``llm.cycle_assistant``) logs it with its resources as artifacts and
registers a new version, in every run that contains the ``llm`` pipeline (the default run too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cycle_kedro.assistant.served import AssistantModel

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from cycle_kedro.assistant.adapter import LoraAdapter
    from cycle_kedro.assistant.retrieval import RetrievalIndex, TextEncoder


def package_assistant_model(  # noqa: PLR0917 (a node: inputs are positional)
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    adapter: LoraAdapter,
    index: RetrievalIndex,
    encoder: TextEncoder,
    prompt: dict[str, Any],
    retrieval: dict[str, Any],
    evaluation: dict[str, Any],
    gating: dict[str, Any],
    extractive: dict[str, Any],
    ask: dict[str, Any],
    serving: dict[str, Any],
) -> AssistantModel:
    """The served assistant: ``cycle-ask``'s resources and parameters behind a typed ``predict``.

    Args:
        base_model, tokenizer, adapter, index, encoder: what ``cycle-ask`` loads (the model's
            artifacts: ``base_model``, ``tokenizer``, ``lora_adapter``, ``retrieval_index``,
            ``text_encoder``).
        prompt, retrieval, evaluation, gating, extractive: the parameter groups an answer reads.
        ask: generation options and the default ``system`` (``cycle-ask``'s, chosen by the dev rule).
        serving: ``max_question_chars`` (the longest question served).
    """
    resources = {
        "base_model": base_model,
        "tokenizer": tokenizer,
        "lora_adapter": adapter,
        "retrieval_index": index,
        "text_encoder": encoder,
    }
    params = {
        "prompt": prompt, "retrieval": retrieval, "evaluation": evaluation, "gating": gating,
        "extractive": extractive,
    }  # fmt: skip
    served = {**serving, "default_system": ask["system"]}  # a request without a system: cycle-ask's default
    return AssistantModel(resources, params=params, options=ask, serving=served)
