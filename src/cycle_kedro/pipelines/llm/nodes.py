"""Nodes of the ``llm`` pipeline: base-model conversion, forecast explanations, LoRA training.

Grounding (topics, held-out split, index, RAFT data) is in ``grounding.py``; answering and
evaluation in ``assessment.py``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import corpus as C
from . import modeling as T

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


def convert_base_model(options: dict[str, Any]) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load the base model (GGUF from a package, or a local HF directory) for saving as safetensors.

    The default GGUF file is Q4_1: "base" then means those 4-bit weights de-quantised to
    ``options["dtype"]``.
    """
    model, tokenizer = T.load_base(options["source"], options["dtype"])
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("Base model %s: %.1fM parameters", type(model).__name__, n_params / 1e6)
    return model, tokenizer


def write_forecast_qa(forecast: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
    """Question/answer pairs explaining each woman's predicted next cycle, from the numbers only.

    Rows without a finite prediction or interval are skipped (logged). ``options``: ``cohort``
    (label), ``max_rows`` and ``seed`` (which women and which question wording).
    """
    name = f"{options['cohort']}.next_cycle_forecast"
    C.check_forecast(forecast, name)
    needed = ["predicted_length", "lower_80", "upper_80", "history_mean", "last_cycle_length"]
    usable = forecast[forecast[needed].apply(lambda c: c.map(C.is_finite)).all(axis=1)]
    if len(usable) < len(forecast):
        logger.warning(
            "%s: %d row(s) without finite numbers skipped", name, len(forecast) - len(usable)
        )
    usable = usable.sample(frac=1.0, random_state=options["seed"]).head(options["max_rows"])
    rng = np.random.default_rng(options["seed"])
    asks = rng.integers(0, len(C.ASKS), size=len(usable))
    return pd.DataFrame(
        {
            "question": [
                C.forecast_question(r, C.ASKS[a])
                for (_, r), a in zip(usable.iterrows(), asks, strict=True)
            ],
            "answer": [C.forecast_answer(r) for _, r in usable.iterrows()],
            "focus": f"{options['cohort']} next-cycle forecast",
            "qtype": "forecast explanation",
            "source": [f"{name} ({m})" for m in usable["model"]],
        }
    )


def _encoded(tokenizer: PreTrainedTokenizerBase, df: pd.DataFrame, max_length: int) -> list:
    return [
        T.encode_pair(tokenizer, p, c, max_length)
        for p, c in zip(df["prompt"], df["completion"], strict=True)
    ]


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
    examples = _encoded(
        tokenizer, instructions[instructions["split"] == "train"], training["max_length"]
    )
    losses = T.train_loop(
        model, examples, pad=T.pad_id(tokenizer), epochs=training["epochs"],
        batch_size=training["batch_size"], learning_rate=training["learning_rate"],
        weight_decay=training["weight_decay"], seed=training["seed"], device=T.resolve_device(training["device"], training.get("torch_threads")),
    )  # fmt: skip
    return model.to("cpu"), losses
