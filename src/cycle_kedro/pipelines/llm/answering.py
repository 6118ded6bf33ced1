"""Nodes that answer the held-out questions with every system (raw answers and reference NLL).

Systems (:data:`cycle_kedro.assistant.SYSTEMS`): ``base`` and ``base_rag`` (the base model without /
with retrieved passages), ``lora`` and ``lora_rag`` (base + the RAFT-trained adapter, which is
attached to a copy: the base model is never changed), ``retrieval`` (the top passage). One node per
model, so each model's answers are a dataset of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cycle_kedro.assistant.evaluation import answer_questions, answer_with_retrieval
from cycle_kedro.assistant.systems import system_models

if TYPE_CHECKING:
    import pandas as pd
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from cycle_kedro.assistant.adapter import LoraAdapter


def answer_base(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    contexts: pd.DataFrame,
    options: dict[str, Any],
    prompt: dict[str, Any],
) -> pd.DataFrame:
    """Raw answers and reference NLL of the base model, without and with retrieved passages."""
    systems = ("base", "base_rag")
    return answer_questions(
        contexts, systems, models=system_models(base_model, None, systems), tokenizer=tokenizer,
        options=options, prompt=prompt,
    )  # fmt: skip


def answer_lora(  # noqa: PLR0917 (a node: inputs are positional)
    base_model: PreTrainedModel,
    adapter: LoraAdapter,
    tokenizer: PreTrainedTokenizerBase,
    contexts: pd.DataFrame,
    options: dict[str, Any],
    prompt: dict[str, Any],
) -> pd.DataFrame:
    """Raw answers and reference NLL of base + LoRA adapter, without and with retrieved passages."""
    systems = ("lora", "lora_rag")
    return answer_questions(
        contexts, systems, models=system_models(base_model, adapter, systems), tokenizer=tokenizer,
        options=options, prompt=prompt,
    )  # fmt: skip


def answer_retrieval_only(contexts: pd.DataFrame) -> pd.DataFrame:
    """The top retrieved passage as the answer."""
    return answer_with_retrieval(contexts)
