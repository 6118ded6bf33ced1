"""Model helpers on a tiny random Llama: NLL and perplexity, chat format and masking, loss, one-pass decoding."""

from __future__ import annotations

import math

import pytest

from cycle_kedro.assistant import modeling
from cycle_kedro.assistant.adapter import attach_adapter

torch = pytest.importorskip("torch")


def test_token_nll_uniform_logits_gives_vocab_size_perplexity():
    vocab = 7
    logits = torch.zeros(2, 5, vocab)
    labels = torch.tensor([[-100, -100, 3, 4, 5], [-100, 1, 2, -100, -100]])
    nll, n = modeling.token_nll(logits, labels)
    assert n.tolist() == [3, 2]  # position 0 is never predicted; -100 is not scored
    assert modeling.perplexity(float(nll.sum()), int(n.sum())) == pytest.approx(vocab)


def test_token_nll_hand_computed():
    # two-token vocabulary, p(token 1) = sigmoid(log 3) = 0.75 at the only scored position
    logits = torch.tensor([[[0.0, math.log(3.0)], [0.0, 0.0]]])
    nll, n = modeling.token_nll(logits, torch.tensor([[-100, 1]]))
    assert float(nll) == pytest.approx(-math.log(0.75)) and int(n) == 1
    assert modeling.perplexity(float(nll), 1) == pytest.approx(4 / 3)
    assert math.isnan(modeling.perplexity(0.0, 0))


def test_chat_pair_and_answer_masking(tiny_tokenizer):
    prompt, completion = modeling.chat_pair(
        tiny_tokenizer, "sys", "what is menopause", "menopause periods stop"
    )
    assert prompt.endswith("<|im_start|>assistant\n") and completion.startswith(
        "menopause periods stop<|im_end|>"
    )
    ids, labels = modeling.encode_pair(tiny_tokenizer, prompt, completion, max_length=64)
    n_prompt = len(tiny_tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert labels[:n_prompt] == [-100] * n_prompt and labels[n_prompt:] == ids[n_prompt:]
    short_ids, short_labels = modeling.encode_pair(
        tiny_tokenizer, prompt, completion, max_length=n_prompt + 2, min_answer=2
    )
    assert len(short_ids) == n_prompt + 2 and sum(x != -100 for x in short_labels) == 2


def test_answer_loss_is_the_causal_lm_loss(tiny_model, tiny_tokenizer, random_adapter):
    """Output layer on the scored positions only: the same loss (and gradients) as transformers'."""
    pairs = [modeling.chat_pair(tiny_tokenizer, "you are a careful", q, a) for q, a in
             [("what is menopause", "periods stop"), ("what is pcos", "a cause of irregular periods in my cycle")]]  # fmt: skip
    batch = modeling.pad_batch(
        [modeling.encode_pair(tiny_tokenizer, p, c, max_length=64) for p, c in pairs], 0
    )
    model = attach_adapter(tiny_model, random_adapter).train()  # the LoRA weights are trainable
    ours = modeling.answer_loss(model, batch)
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
def test_one_prompt_pass_scores_and_decodes_like_two(
    tiny_model, tiny_tokenizer, random_adapter, with_adapter
):
    """The shared pass gives the NLL of a plain teacher-forced pass and plain greedy decoding."""
    model = attach_adapter(tiny_model, random_adapter) if with_adapter else tiny_model
    questions = ["what is menopause", "what causes endometriosis in my cycle", "what is pcos"]
    answers = ["menopause periods stop", "endometriosis", "the model predicts my next period"]
    pairs = [
        modeling.chat_pair(tiny_tokenizer, "you are a careful", q, a)
        for q, a in zip(questions, answers, strict=True)
    ]
    prompts, refs = [p for p, _ in pairs], [c for _, c in pairs]
    got, scores = modeling.score_and_generate(
        model,
        tiny_tokenizer,
        prompts,
        refs,
        max_new_tokens=6,
        batch_size=2,
        device="cpu",
        max_length=256,
    )
    expected = []
    for p in (
        prompts
    ):  # transformers' own greedy decoding, one prompt at a time (no padding, no cache reuse)
        ids = torch.tensor([tiny_tokenizer(p, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            out = model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=6, do_sample=False,
                pad_token_id=modeling.pad_id(tiny_tokenizer), eos_token_id=tiny_tokenizer.eos_token_id,
            )  # fmt: skip
        expected.append(
            tiny_tokenizer.decode(out[0, ids.shape[1] :].tolist(), skip_special_tokens=True).strip()
        )
    assert got == expected and any(expected)
    for i, (p, c) in enumerate(pairs):
        ids, labels = modeling.encode_pair(tiny_tokenizer, p, c, max_length=256)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits
        nll, n = modeling.token_nll(logits, torch.tensor([labels]))
        assert (
            scores.loc[i, "n_tokens"]
            == int(n[0])
            == len(tiny_tokenizer(c, add_special_tokens=False)["input_ids"])
        )
        assert scores.loc[i, "nll"] == pytest.approx(float(nll[0]), rel=1e-4)
    assert scores["ref_tokens_cut"].sum() == 0
    # a pair given twice (a question two systems share) is computed once and returned twice
    again, again_scores = modeling.score_and_generate(
        model, tiny_tokenizer, [*prompts, prompts[0]], [*refs, refs[0]], max_new_tokens=6,
        batch_size=2, device="cpu", max_length=256,
    )  # fmt: skip
    assert again == [*got, got[0]]
    assert again_scores["nll"].tolist() == pytest.approx(
        [*scores["nll"], scores.loc[0, "nll"]], rel=1e-4
    )


def test_restricted_decoding_uses_only_the_allowed_words(tiny_model, tiny_tokenizer):
    prompt, _ = modeling.chat_pair(tiny_tokenizer, "sys", "what is menopause", "")
    allowed = "menopause estrogen decline"
    free, scores = modeling.score_and_generate(
        tiny_model, tiny_tokenizer, [prompt, prompt], ["", ""], max_new_tokens=6, batch_size=2,
        device="cpu", max_length=64, restrict_to=[allowed, None],
    )  # fmt: skip
    kept = scores["restricted_answer"].tolist()
    assert kept[1] == "" and set(kept[0].split()) <= set(allowed.split())
    assert len(tiny_tokenizer(kept[0], add_special_tokens=False)["input_ids"]) >= 1
    only, _ = modeling.score_and_generate(
        tiny_model, tiny_tokenizer, [prompt], [""], max_new_tokens=6, batch_size=1, device="cpu",
        max_length=64, restrict_to=[allowed], free=False,
    )  # fmt: skip
    assert only == kept[:1]  # the same cache gives the same restricted answer with or without free decoding
    assert free[0] == free[1] and free[0] == modeling.score_and_generate(
        tiny_model, tiny_tokenizer, [prompt], [""], max_new_tokens=6, batch_size=1, device="cpu",
        max_length=64,
    )[0][0]  # free decoding is unchanged by the second, restricted one
