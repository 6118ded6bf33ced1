"""Model helpers: chat formatting, answer-masked encoding, the LoRA training loop, scoring, decoding.

``torch``/``transformers`` are imported inside the functions (style rule 8).
"""

from __future__ import annotations

import logging
import math
import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

IGNORE = -100


def resolve_device(name: str) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; anything else unchanged.

    torch's CPU threads are not set here: :func:`cycle_kedro.hooks.set_torch_threads` sets them
    from ``runtime.yml`` (for a pipeline run and for ``cycle-ask``).
    """
    import torch  # noqa: PLC0415

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def chat_pair(
    tokenizer: PreTrainedTokenizerBase, system: str, question: str, answer: str
) -> tuple[str, str]:
    """(prompt, completion) from the tokenizer's chat template; prompt ends with the assistant turn."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": answer}], tokenize=False
    )
    if not full.startswith(prompt):
        raise ValueError(
            "the chat template does not extend the prompt with the answer; cannot mask it"
        )
    return prompt, full[len(prompt) :]


def encode_pair(
    tokenizer: PreTrainedTokenizerBase,
    prompt: str,
    completion: str,
    max_length: int,
    min_answer: int = 16,
) -> tuple[list[int], list[int]]:
    """Token ids and labels (prompt tokens masked with -100), at most ``max_length`` tokens.

    The completion is cut at the end; a prompt too long to leave ``min_answer`` answer tokens
    is cut from the left.
    """
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    c_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    room = max(max_length - min(len(c_ids), min_answer), 1)
    p_ids = p_ids[-room:]
    c_ids = c_ids[: max_length - len(p_ids)]
    return p_ids + c_ids, [IGNORE] * len(p_ids) + c_ids


def encode_rows(
    tokenizer: PreTrainedTokenizerBase, df: pd.DataFrame, max_length: int
) -> list[tuple[list[int], list[int]]]:
    """:func:`encode_pair` of every (``prompt``, ``completion``) row of ``df``."""
    return [
        encode_pair(tokenizer, p, c, max_length)
        for p, c in zip(df["prompt"], df["completion"], strict=True)
    ]


def pad_batch(examples: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad ids/labels into tensors with an attention mask."""
    import torch  # noqa: PLC0415

    width = max(len(ids) for ids, _ in examples)
    ids = [i + [pad_id] * (width - len(i)) for i, _ in examples]
    labels = [lab + [IGNORE] * (width - len(lab)) for _, lab in examples]
    mask = [[1] * len(i) + [0] * (width - len(i)) for i, _ in examples]
    return {
        "input_ids": torch.tensor(ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(mask),
    }


def token_nll(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sequence summed negative log-likelihood and number of scored tokens.

    Position ``t`` predicts token ``t+1``; labels equal to -100 are not scored.
    """
    import torch  # noqa: PLC0415

    shift_logits = logits[:, :-1, :].float()
    shift_labels = labels[:, 1:]
    losses = torch.nn.functional.cross_entropy(
        shift_logits.reshape(-1, shift_logits.size(-1)),
        shift_labels.reshape(-1),
        ignore_index=IGNORE,
        reduction="none",
    ).view(shift_labels.shape)
    scored = shift_labels != IGNORE
    return (losses * scored).sum(dim=1), scored.sum(dim=1)


def perplexity(total_nll: float, total_tokens: int) -> float:
    """exp(mean NLL per token); NaN when no token was scored."""
    return math.exp(total_nll / total_tokens) if total_tokens > 0 else float("nan")


def pad_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The padding token id (falls back to EOS)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def answer_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean next-token cross-entropy over the answer tokens (labels != -100).

    The causal-LM loss of transformers (logits in fp32, mean over scored tokens), with the output
    layer applied only where a token is scored: the prompt positions' logits (most of an example,
    and a 49k-word vocabulary) are never computed. For Llama-family models (no logit scaling);
    ``model`` may be a peft model.
    """
    import torch  # noqa: PLC0415

    core = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = core.get_decoder()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    labels = batch["labels"][:, 1:]
    scored = labels != IGNORE
    logits = core.get_output_embeddings()(hidden[:, :-1][scored]).float()
    return torch.nn.functional.cross_entropy(logits, labels[scored])


def train_loop(
    model: Any,
    examples: list[tuple[list[int], list[int]]],
    *,
    pad: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    seed: int,
    device: str,
) -> list[float]:
    """Plain AdamW loop over shuffled mini-batches; returns the loss of every step."""
    import torch  # noqa: PLC0415
    from tqdm.auto import tqdm  # noqa: PLC0415

    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay)
    order = torch.Generator().manual_seed(seed)
    model.to(device).train()
    losses: list[float] = []
    steps_per_epoch = -(-len(examples) // batch_size)
    bar = tqdm(total=epochs * steps_per_epoch, desc="LoRA training", unit="step", leave=False)
    for epoch in range(epochs):
        perm = torch.randperm(len(examples), generator=order).tolist()
        for start in range(0, len(perm), batch_size):
            batch = pad_batch([examples[i] for i in perm[start : start + batch_size]], pad)
            batch = {k: v.to(device) for k, v in batch.items()}
            loss = answer_loss(model, batch)
            loss.backward()
            optimiser.step()
            optimiser.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        logger.info("LoRA epoch %d/%d: last loss %.4f", epoch + 1, epochs, losses[-1])
    bar.close()
    model.eval()
    return losses


def score_and_generate(  # noqa: PLR0914, PLR0915 (one batch loop: encode, score, decode twice)
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    references: list[str],
    *,
    max_new_tokens: int,
    batch_size: int,
    device: str,
    max_length: int,
    no_repeat_ngram_size: int = 0,
    progress: str | None = None,
    restrict_to: list[str] | None = None,
    free: bool = True,
) -> tuple[list[str], pd.DataFrame]:
    """Greedy answers and the reference-token NLL given each prompt, from one prompt pass.

    Each batch (sorted by length: less padding) is one forward pass over left-padded prompt +
    right-padded reference: its logits score the reference (teacher forcing; only the reference
    positions' logits are computed) and its key/value cache, cut back to the prompt, is where
    greedy decoding starts, so no prompt is encoded twice. No reference token is cut unless the
    reference alone exceeds ``max_length``; the prompt is cut from the left to fit (both cuts are
    counted, and decoding sees the same cut prompt). A (prompt, reference) pair given more than
    once is computed once. Returns the answers and a frame with ``nll``, ``n_tokens``,
    ``ref_tokens``, ``ref_tokens_cut``, ``prompt_tokens_cut`` in the input order. With empty
    references it is plain greedy answering (``cycle-ask``); ``no_repeat_ngram_size`` > 0 forbids
    repeating n-grams (``cycle-ask``, not the evaluation). ``progress``: a tqdm bar (on stderr).

    ``restrict_to`` (one text or None per prompt): a batch with a text is decoded a second time from
    the same cache, greedy over only the tokens of each row's text (and the end of turn): the answer
    can use no word its text lacks. Those answers are the ``restricted_answer`` column ("" for a
    None); with ``free=False`` the free decoding is skipped and the returned answers are the
    restricted ones.
    """
    allowed = restrict_to if restrict_to is not None else [None] * len(prompts)
    pairs = list(zip(prompts, references, allowed, strict=True))
    unique = list(dict.fromkeys(pairs))
    if len(unique) < len(pairs):
        answers, scores = score_and_generate(
            model, tokenizer, [p for p, _, _ in unique], [c for _, c, _ in unique],
            max_new_tokens=max_new_tokens, batch_size=batch_size, device=device,
            max_length=max_length, no_repeat_ngram_size=no_repeat_ngram_size, progress=progress,
            restrict_to=None if restrict_to is None else [a for _, _, a in unique], free=free,
        )  # fmt: skip
        position = {pair: i for i, pair in enumerate(unique)}
        at = [position[pair] for pair in pairs]
        return [answers[i] for i in at], scores.iloc[at].reset_index(drop=True)
    import pandas as pd  # noqa: PLC0415
    import torch  # noqa: PLC0415
    from tqdm.auto import tqdm  # noqa: PLC0415
    from transformers import LogitsProcessorList  # noqa: PLC0415

    model.to(device).eval()
    pad, stop = pad_id(tokenizer), _stop_ids(model, tokenizer)
    rows = []
    for p, c in zip(prompts, references, strict=True):
        p_ids = tokenizer(p, add_special_tokens=False)["input_ids"]
        c_ids = tokenizer(c, add_special_tokens=False)["input_ids"]
        keep_c = c_ids[: max_length - 1]
        keep_p = p_ids[-max(max_length - len(keep_c), 1) :]
        rows.append(
            (keep_p, keep_c, len(p_ids) - len(keep_p), len(c_ids) - len(keep_c), len(c_ids))
        )
    order = sorted(range(len(rows)), key=lambda i: (len(rows[i][0]) + len(rows[i][1]), i))
    answers, nll, count = [""] * len(rows), [0.0] * len(rows), [0] * len(rows)
    restricted = [""] * len(rows)
    decode = {"pad_token_id": pad, "eos_token_id": stop, "max_new_tokens": max_new_tokens,
              "do_sample": False, "no_repeat_ngram_size": no_repeat_ngram_size}  # fmt: skip
    starts = range(0, len(order), batch_size)
    for start in tqdm(starts, desc=progress, unit="batch", disable=progress is None, leave=False):
        idx = order[start : start + batch_size]
        width = max(len(rows[i][0]) for i in idx)
        ref_width = max(len(rows[i][1]) for i in idx)
        ids, mask, labels = [], [], []
        for i in idx:
            p_ids, c_ids = rows[i][0], rows[i][1]
            left, right = width - len(p_ids), ref_width - len(c_ids)
            ids.append([pad] * left + p_ids + c_ids + [pad] * right)
            mask.append([0] * left + [1] * (len(p_ids) + len(c_ids)) + [0] * right)
            labels.append(c_ids + [IGNORE] * right)
        ids_t = torch.tensor(ids, device=device)
        mask_t = torch.tensor(mask, device=device)
        positions = (mask_t.cumsum(-1) - 1).clamp(min=0)
        with torch.no_grad():
            out = model(
                input_ids=ids_t, attention_mask=mask_t, position_ids=positions, use_cache=True,
                logits_to_keep=ref_width + 1,
            )  # fmt: skip
            # logits at positions width-1 … width+ref_width-1 predict the reference tokens
            s, n = token_nll(
                out.logits, torch.tensor([[IGNORE, *lab] for lab in labels], device=device)
            )
            cache = out.cache
            cache.crop(-(ref_width + 1))  # keep the prompt minus its last token (decoding feeds it)
            prompt_ids, prompt_mask = ids_t[:, :width], mask_t[:, :width]
            if free:
                generated = model.generate(
                    input_ids=prompt_ids, attention_mask=prompt_mask, cache=cache, **decode
                )
                extra = cache.get_seq_length() - (width - 1)
                if extra > 0:  # back to the prompt for the restricted decoding
                    cache.crop(-extra)
            if restrict_to is not None and any(restrict_to[i] is not None for i in idx):
                only = _AllowedTokens(tokenizer, [restrict_to[i] for i in idx], stop)
                kept = model.generate(
                    input_ids=prompt_ids, attention_mask=prompt_mask, cache=cache,
                    logits_processor=LogitsProcessorList([only]), **decode,
                )  # fmt: skip
        for j, i in enumerate(idx):
            nll[i], count[i] = float(s[j]), int(n[j])
            if free:
                answers[i] = tokenizer.decode(generated[j, width:].tolist(), skip_special_tokens=True).strip()
            if restrict_to is not None and restrict_to[i] is not None:
                restricted[i] = tokenizer.decode(kept[j, width:].tolist(), skip_special_tokens=True).strip()
    scores = pd.DataFrame({
        "nll": nll, "n_tokens": count, "ref_tokens": [r[4] for r in rows],
        "ref_tokens_cut": [r[3] for r in rows], "prompt_tokens_cut": [r[2] for r in rows],
    })  # fmt: skip
    if restrict_to is not None:
        scores["restricted_answer"] = restricted
    return (answers if free else restricted), scores


class _AllowedTokens:
    """A logits processor: each row of the batch may only produce the tokens of its own text (or stop).

    A text is tokenised as it is and after a space, so a word may start a sentence or follow one.
    """

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, texts: list[str | None], stop: list[int]
    ) -> None:
        self.ids = [
            None if t is None else sorted({*tokenizer(t, add_special_tokens=False)["input_ids"],
                                           *tokenizer(" " + t, add_special_tokens=False)["input_ids"], *stop})
            for t in texts
        ]  # fmt: skip
        self.mask: torch.Tensor | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """Scores of every other token set to -inf."""
        import torch  # noqa: PLC0415

        if self.mask is None:
            self.mask = torch.full_like(scores, float("-inf"))
            for row, ids in enumerate(self.ids):
                self.mask[row, slice(None) if ids is None else ids] = 0.0  # None: any token
        return scores + self.mask


def _stop_ids(model: Any, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """End-of-turn ids: the tokenizer's EOS plus the model's generation-config EOS ids."""
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = configured if isinstance(configured, list) else [configured]
    return sorted({i for i in [*ids, tokenizer.eos_token_id] if i is not None})
