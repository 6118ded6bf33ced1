"""The training nodes: the base model from a local directory, LoRA on a tiny random Llama."""

from __future__ import annotations

import copy as copy_module
import math

import numpy as np
import pytest
from kedro.io import DatasetError

from cycle_kedro.assistant.modeling import chat_pair
from cycle_kedro.datasets.pretrained import PretrainedModelDataset, PretrainedTokenizerDataset
from cycle_kedro.pipelines.llm.training import convert_base_model, train_lora_adapter

torch = pytest.importorskip("torch")


@pytest.fixture
def corpus(medquad_qa, tiny_tokenizer):
    """Training instructions (prompt, completion, split) from the fixture Q&A."""
    pairs = [chat_pair(tiny_tokenizer, "be careful", q, " ".join(a.split()[:20]))
             for q, a in zip(medquad_qa["question"], medquad_qa["answer"], strict=True)]  # fmt: skip
    return medquad_qa.assign(
        prompt=[p for p, _ in pairs], completion=[c for _, c in pairs], split="train"
    ).head(16)


@pytest.mark.slow
def test_train_lora_changes_only_adapter_weights(tiny_model, tiny_tokenizer, corpus, llm_params):
    p = llm_params
    inst = corpus
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    model, losses = train_lora_adapter(tiny_model, tiny_tokenizer, inst, p["lora"], p["training"])
    n_train = (inst["split"] == "train").sum()
    assert len(losses) == p["training"]["epochs"] * math.ceil(n_train / p["training"]["batch_size"])
    assert np.mean(losses[-2:]) < np.mean(losses[:2])
    trainable = [n for n, q in model.named_parameters() if q.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert all(".q_proj." in n or ".v_proj." in n for n in trainable)
    lora_b = [q for n, q in model.named_parameters() if "lora_B" in n]
    assert all(float(q.abs().sum()) > 0 for q in lora_b)  # initialised at zero, moved by training
    base = model.get_base_model().state_dict()
    for key, value in before.items():
        merged_key = key.replace(".q_proj.weight", ".q_proj.base_layer.weight").replace(
            ".v_proj.weight", ".v_proj.base_layer.weight"
        )
        assert torch.equal(base[merged_key], value), key


@pytest.mark.slow
def test_training_is_seeded(tiny_model, tiny_tokenizer, corpus, llm_params):
    p = llm_params
    inst = corpus
    copy = copy_module.deepcopy(tiny_model)
    _, first = train_lora_adapter(tiny_model, tiny_tokenizer, inst, p["lora"], p["training"])
    _, second = train_lora_adapter(copy, tiny_tokenizer, inst, p["lora"], p["training"])
    assert first == second


def test_convert_base_model_from_a_local_directory(tmp_path, tiny_model, tiny_tokenizer):
    tiny_model.save_pretrained(tmp_path / "m")
    tiny_tokenizer.save_pretrained(tmp_path / "m")
    source = {"filepath": str(tmp_path / "m")}
    model, tok = convert_base_model(
        PretrainedModelDataset(**source, load_args={"dtype": "float32"}).load(),
        PretrainedTokenizerDataset(**source).load(),
    )
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in tiny_model.state_dict().items())
    assert tok.pad_token_id is not None and tok.chat_template == tiny_tokenizer.chat_template
    with pytest.raises(DatasetError, match="missing does not exist"):
        PretrainedModelDataset(filepath=str(tmp_path / "missing")).load()


def test_raft_never_trains_on_held_out_pairs_nor_shows_their_passages(
    knowledge_base, minilm, tiny_tokenizer, llm_params, fedcycle_forecast
):
    from cycle_kedro.assistant import retrieval  # noqa: PLC0415
    from cycle_kedro.pipelines.llm.curation import write_forecast_qa  # noqa: PLC0415
    from cycle_kedro.pipelines.llm.training import build_raft_instructions  # noqa: PLC0415

    split = np.array(["index"] * len(knowledge_base), dtype=object)
    split[[0, 5]], split[[9, 14]], split[[20, 21]] = "in_kb_test", "dev", "test"
    kb = knowledge_base.assign(split=split)
    indexed = kb[kb["split"] != "test"]
    index = retrieval.build_index(retrieval.split_passages(indexed, 12, 2), minilm, {})
    options = {**llm_params["raft"], "n_medquad": len(kb), "p_no_gold": 0.3, "p_closed_book": 0.0}
    qa = write_forecast_qa(fedcycle_forecast, llm_params["fedcycle"]["forecast_qa"])
    out = build_raft_instructions(kb, index, minilm, tiny_tokenizer, options, llm_params["prompt"], fedcycle_qa=qa)
    held = kb[kb["split"] != "index"]
    assert len(out) > len(qa) // 2 and not set(out["question"]) & set(held["question"])
    texts = index.passages.drop_duplicates("text", keep=False)  # the passages only one pair has
    shown = texts.loc[texts["row_id"].isin(held["row_id"]), "text"]
    assert len(shown) and not any(t in u for t in shown for u in out["user"])
