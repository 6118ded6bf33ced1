"""Nodes of the ``llm`` pipeline that build the models: the base model and the LoRA adapter (RAFT examples: ``grounding.py``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import modeling as T

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


def convert_base_model(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The pretrained base model and its tokenizer (pad token set), for saving as safetensors.

    The default source is a Q4_1 GGUF file: "base" then means those 4-bit weights de-quantised to
    the ``dtype`` of the ``llm_source_model`` catalog entry.
    """
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("Base model %s: %.1fM parameters", type(model).__name__, n_params / 1e6)
    return model, tokenizer


def train_lora_adapter(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    instructions: pd.DataFrame,
    lora: dict[str, Any],
    training: dict[str, Any],
) -> tuple[PeftModel, list[float]]:
    """LoRA-tune the base model on the training split (loss on answer tokens only).

    Returns the PEFT model (the catalog saves only the adapter) and the loss of every step.
    """
    from peft import LoraConfig, get_peft_model  # noqa: PLC0415

    T.seed_everything(training["seed"])
    config = LoraConfig(
        r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
        target_modules=list(lora["target_modules"]), bias="none", task_type="CAUSAL_LM",
    )  # fmt: skip
    model = get_peft_model(base_model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info(
        "LoRA: %d trainable parameters of %d", trainable, sum(p.numel() for p in model.parameters())
    )
    examples = T.encode_rows(
        tokenizer, instructions[instructions["split"] == "train"], training["max_length"]
    )
    losses = T.train_loop(
        model, examples, pad=T.pad_id(tokenizer), epochs=training["epochs"],
        batch_size=training["batch_size"], learning_rate=training["learning_rate"],
        weight_decay=training["weight_decay"], seed=training["seed"], device=T.resolve_device(training["device"]),
    )  # fmt: skip
    return model.to("cpu"), losses
