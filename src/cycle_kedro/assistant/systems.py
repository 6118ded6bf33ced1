"""The assistant's systems: which model answers and whether it sees the retrieved passages.

``base`` and ``base_rag`` (the base model without / with retrieved passages), ``lora`` and
``lora_rag`` (base + the RAFT-trained adapter, attached to a merged copy: the base model is never
changed), ``retrieval`` (the top passage, no model). Every table, the pipeline and ``cycle-ask``
name them so, in this order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .adapter import attach_adapter

if TYPE_CHECKING:
    from .adapter import LoraAdapter

SYSTEMS = ("base", "base_rag", "lora", "lora_rag", "retrieval")


def check_systems(systems: Iterable[str]) -> None:
    """Raise ``ValueError`` naming any system that is not one of :data:`SYSTEMS`."""
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise ValueError(f"unknown system(s) {unknown}; choose from {list(SYSTEMS)}")


def model_of(system: str) -> str:
    """The model a system answers with: ``base``, ``lora`` (``retrieval`` has none: ``retrieval``)."""
    return system.split("_", maxsplit=1)[0]


def uses_retrieval(system: str) -> bool:
    """Whether the system sees the retrieved passages (``*_rag``; ``retrieval`` answers with one)."""
    return system.endswith("_rag") or system == "retrieval"


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
