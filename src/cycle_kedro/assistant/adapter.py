"""A LoRA adapter in memory and how it is put on a base model.

:class:`LoraAdapter` is what the ``llm.lora_adapter`` dataset loads (its ``peft`` config and
weights); :func:`attach_adapter` puts it on a copy of a loaded base model. ``peft`` is imported on use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cycle_kedro.validation import DataValidationError

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel


@dataclass
class LoraAdapter:
    """A LoRA adapter in memory: its ``peft`` config and its weights (``state_dict``)."""

    config: Any
    state_dict: dict[str, Any] = field(repr=False)


def attach_adapter(
    base: PreTrainedModel, adapter: LoraAdapter, *, inplace: bool = False, merge: bool = False
) -> PeftModel | PreTrainedModel:
    """A copy of ``base`` with the adapter's LoRA layers and weights (eval mode).

    ``base`` itself is left unchanged (peft injects its layers into the model it wraps, so the
    wrap is done on a deep copy), so base and adapted models can be used in one process;
    ``inplace=True`` skips the copy (saves memory when ``base`` is not used again).
    ``merge=True`` folds the LoRA weights into the copy's layers (peft ``merge_and_unload``): the
    same function as a plain model, which answers as fast as the base model (for inference).
    Weights that do not fit the base model raise :class:`DataValidationError` (a ``DatasetError``).
    """
    import copy  # noqa: PLC0415

    from peft import get_peft_model, set_peft_model_state_dict  # noqa: PLC0415

    model = get_peft_model(base if inplace else copy.deepcopy(base), copy.deepcopy(adapter.config))
    result = set_peft_model_state_dict(model, adapter.state_dict)
    if getattr(result, "unexpected_keys", None):
        raise DataValidationError(
            f"adapter weights do not fit the base model: {result.unexpected_keys[:3]}"
        )
    return model.merge_and_unload().eval() if merge else model.eval()
