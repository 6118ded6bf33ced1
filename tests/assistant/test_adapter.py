"""A LoRA adapter attached to a copy of the base model (merged or not), the base unchanged."""

from __future__ import annotations

import pytest

from cycle_kedro.assistant.adapter import attach_adapter

torch = pytest.importorskip("torch")
pytest.importorskip("peft")


def test_base_model_unchanged_after_the_adapter_is_loaded(tiny_model, random_adapter):
    adapter = random_adapter
    ids = torch.tensor([[1, 5, 7, 9, 4]])
    before_state = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    before = tiny_model(input_ids=ids).logits
    adapted = attach_adapter(tiny_model, adapter)
    # the base keeps its own modules and weights, and answers as before, in the same process
    assert not any("lora" in name for name, _ in tiny_model.named_modules())
    assert tiny_model.state_dict().keys() == before_state.keys()
    assert all(torch.equal(v, before_state[k]) for k, v in tiny_model.state_dict().items())
    assert torch.equal(tiny_model(input_ids=ids).logits, before)
    assert not torch.allclose(adapted(input_ids=ids).logits, before)
    # merged (for inference): a plain model computing the adapted function; the base is untouched
    merged = attach_adapter(tiny_model, adapter, merge=True)
    assert not any("lora" in name for name, _ in merged.named_modules())
    assert torch.allclose(merged(input_ids=ids).logits, adapted(input_ids=ids).logits, atol=1e-5)
    assert torch.equal(tiny_model(input_ids=ids).logits, before)
    # in place (opt-in) wraps the base itself
    attach_adapter(tiny_model, adapter, inplace=True)
    assert any("lora" in name for name, _ in tiny_model.named_modules())
