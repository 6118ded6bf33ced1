"""Nodes that answer the evaluation questions with every system (raw answers and reference NLL).

Systems (:data:`cycle_kedro.assistant.SYSTEMS`): ``base`` and ``base_rag`` (the base model without /
with retrieved passages), ``lora``, ``lora_rag`` and ``lora_grounded`` (base + the RAFT-trained
adapter, which is attached to a copy: the base model is never changed; ``lora_grounded`` decodes
``lora_rag``'s prompts restricted to the words of the question and passages), ``extractive`` (the
best-answering passage sentences) and ``retrieval`` (the top passage). One node per model, so each
model's answers are a dataset of their own; ``answered_by`` (``llm.answered_by``) says which
systems answer which kind of question.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cycle_kedro.assistant.evaluation import answer_questions, answer_without_model
from cycle_kedro.assistant.systems import system_models

if TYPE_CHECKING:
    import pandas as pd
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from cycle_kedro.assistant.adapter import LoraAdapter


def answer_base(  # noqa: PLR0917 (a node: inputs are positional)
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    contexts: pd.DataFrame,
    options: dict[str, Any],
    prompt: dict[str, Any],
    answered_by: dict[str, list[str]],
) -> pd.DataFrame:
    """Raw answers and reference NLL of the base model, without and with retrieved passages."""
    systems = ("base", "base_rag")
    return answer_questions(
        contexts, systems, models=system_models(base_model, None, systems), tokenizer=tokenizer,
        options=options, prompt=prompt, answered_by=answered_by,
    )  # fmt: skip


def answer_lora(  # noqa: PLR0917 (a node: inputs are positional)
    base_model: PreTrainedModel,
    adapter: LoraAdapter,
    tokenizer: PreTrainedTokenizerBase,
    contexts: pd.DataFrame,
    options: dict[str, Any],
    prompt: dict[str, Any],
    answered_by: dict[str, list[str]],
) -> pd.DataFrame:
    """Raw answers and reference NLL of base + LoRA adapter: closed book, with passages, restricted to them."""
    systems = ("lora", "lora_rag", "lora_grounded")
    return answer_questions(
        contexts, systems, models=system_models(base_model, adapter, systems), tokenizer=tokenizer,
        options=options, prompt=prompt, answered_by=answered_by,
    )  # fmt: skip


def answer_retrieval_only(
    contexts: pd.DataFrame, answered_by: dict[str, list[str]]
) -> pd.DataFrame:
    """The top retrieved passage as the answer."""
    return answer_without_model(contexts, "retrieval", answered_by=answered_by)


def answer_extractive(
    contexts: pd.DataFrame, options: dict[str, Any], answered_by: dict[str, list[str]]
) -> pd.DataFrame:
    """The passage sentences that best answer each question (the extractive system)."""
    return answer_without_model(contexts, "extractive", options, answered_by)
