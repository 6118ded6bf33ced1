"""The assistant's systems: which model answers and whether it sees the retrieved passages.

``base`` and ``base_rag`` (the base model without / with retrieved passages), ``lora`` and
``lora_rag`` (base + the RAFT-trained adapter, attached to a merged copy: the base model is never
changed), ``lora_grounded`` (the RAFT LoRA with the passages, its decoding restricted to the words of
the question and passages: it can only answer from them), ``extractive`` (the passage sentences that
best answer the question, no model) and ``retrieval`` (the top passage, no model). Every table, the
pipeline and ``cycle-ask`` name them so, in this order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .adapter import attach_adapter

if TYPE_CHECKING:
    from .adapter import LoraAdapter

SYSTEMS = ("base", "base_rag", "lora", "lora_rag", "lora_grounded", "extractive", "retrieval")
# systems that answer without a language model (the passages are the answer)
WITHOUT_MODEL = ("extractive", "retrieval")


def check_systems(systems: Iterable[str]) -> None:
    """Raise ``ValueError`` naming any system that is not one of :data:`SYSTEMS`."""
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise ValueError(f"unknown system(s) {unknown}; choose from {list(SYSTEMS)}")


def model_of(system: str) -> str:
    """The model a system answers with: ``base``, ``lora`` (the systems without one: their own name)."""
    return system.split("_", maxsplit=1)[0]


def uses_retrieval(system: str) -> bool:
    """Whether the system sees the retrieved passages (all but ``base`` and ``lora``)."""
    return system not in {"base", "lora"}


def is_restricted(system: str) -> bool:
    """Whether the system's decoding may use only the words of the question and passages."""
    return system == "lora_grounded"


def system_models(
    base_model: Any, adapter: LoraAdapter | None, systems: Iterable[str]
) -> dict[str, Any]:
    """The models ``systems`` answer with, by :func:`model_of` name, in that order.

    ``base`` is ``base_model`` itself; ``lora`` is a merged copy of it with ``adapter`` (see
    :func:`~cycle_kedro.assistant.adapter.attach_adapter`; ``base_model`` is unchanged).
    """
    needed = {model_of(s) for s in systems}
    models: dict[str, Any] = {}
    if "base" in needed:
        models["base"] = base_model
    if "lora" in needed:
        models["lora"] = attach_adapter(base_model, adapter, merge=True)
    return models
