"""Nodes of the ``llm`` pipeline that build the models: the base model, the RAFT examples, the LoRA adapter."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from cycle_kedro.assistant.modeling import (
    chat_pair,
    encode_rows,
    pad_id,
    resolve_device,
    seed_everything,
    train_loop,
)
from cycle_kedro.assistant.prompting import raft_examples

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from cycle_kedro.assistant.retrieval import RetrievalIndex, TextEncoder

logger = logging.getLogger(__name__)


def convert_base_model(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The pretrained base model and its tokenizer (pad token set), for saving as safetensors.

    The default source is a Q4_1 GGUF file: "base" then means those 4-bit weights de-quantised to
    the ``dtype`` of the ``llm.source_model`` catalog entry.
    """
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("Base model %s: %.1fM parameters", type(model).__name__, n_params / 1e6)
    return model, tokenizer


def build_raft_instructions(  # noqa: PLR0917 (a node: inputs are positional)
    kb_split: pd.DataFrame,
    index: RetrievalIndex,
    encoder: TextEncoder,
    tokenizer: PreTrainedTokenizerBase,
    options: dict[str, Any],
    prompt: dict[str, Any],
    **forecast_qa: pd.DataFrame,
) -> pd.DataFrame:
    """Training examples (``prompt``, ``completion``): RAFT on indexed Q&A plus forecast explanations.

    Only ``split == "index"`` pairs are trained on, and the passages of the other pairs (in-KB
    test and dev pairs are indexed) are never shown as distractors.

    ``options``: ``n_medquad`` and ``n_forecast`` examples (seeded), ``k``, ``p_no_gold``,
    ``p_closed_book``, ``answer_words``, ``seed``. ``forecast_qa``: each cohort's forecast Q&A table
    (``<cohort>_qa``), pooled in the given order. Forecast explanations are trained without sources:
    their numbers are in the question.
    """
    pool = kb_split[kb_split["split"] == "index"]  # never the test, in-KB test or dev pairs
    train = pool.sample(n=min(options["n_medquad"], len(pool)), random_state=options["seed"])
    held = frozenset(kb_split.loc[kb_split["split"] != "index", "row_id"])
    raft = raft_examples(train, index, encoder, options, prompt, exclude_rows=held).assign(kind="medquad")
    forecasts = pd.concat(list(forecast_qa.values()), ignore_index=True)
    n_fc = min(options["n_forecast"], len(forecasts) // 2)
    fc = forecasts.sample(frac=1.0, random_state=options["seed"]).head(n_fc)  # the other half: test
    fc = pd.DataFrame({"question": fc["question"], "raft_mode": "closed_book", "user": fc["question"],
                       "target": fc["answer"], "kind": "forecast"})  # fmt: skip
    df = pd.concat([raft, fc], ignore_index=True)
    pairs = [
        chat_pair(tokenizer, prompt["system"], u, t)
        for u, t in zip(df["user"], df["target"], strict=True)
    ]
    logger.info("RAFT examples: %s", df["raft_mode"].value_counts().to_dict())
    return df.assign(prompt=[p for p, _ in pairs], completion=[c for _, c in pairs], split="train")


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

    seed_everything(training["seed"])
    config = LoraConfig(
        r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
        target_modules=list(lora["target_modules"]), bias="none", task_type="CAUSAL_LM",
    )  # fmt: skip
    model = get_peft_model(base_model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info(
        "LoRA: %d trainable parameters of %d", trainable, sum(p.numel() for p in model.parameters())
    )
    examples = encode_rows(
        tokenizer, instructions[instructions["split"] == "train"], training["max_length"]
    )
    losses = train_loop(
        model, examples, pad=pad_id(tokenizer), epochs=training["epochs"],
        batch_size=training["batch_size"], learning_rate=training["learning_rate"],
        weight_decay=training["weight_decay"], seed=training["seed"], device=resolve_device(training["device"]),
    )  # fmt: skip
    return model.to("cpu"), losses
