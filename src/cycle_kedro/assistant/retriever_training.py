"""Fine-tuning the retriever's question encoder on knowledge-base question -> passage pairs.

Query-side contrastive fine-tuning of the MiniLM encoder: the passages keep the pretrained
encoder's vectors (the index is not re-embedded), and a copy of the encoder whose top ``layers``
transformer layers are trained embeds the questions. Only the training side of the knowledge
base is used (:func:`question_roles`).

* Pairs (:func:`training_pairs`): for each training row, its MedQuAD question, ``n_consumer``
  rewrites of it the way people ask (:func:`~cycle_kedro.assistant.question_types.consumer_rewrites`)
  and ``n_sentences`` sentences of its answer with the condition's name masked: a description
  without the name, as people describe what they feel (the inverse cloze task, Lee et al. 2019).
* Loss: softmax cross-entropy over scaled cosines (scale 20), as sentence-transformers'
  ``MultipleNegativesRankingLoss`` (Henderson et al. 2017); the passage vectors are fixed, so the
  negatives are every passage of the training rows, not only the batch's. A passage of the
  query's row is a positive (log-sum-exp over them); other rows of its document are left out.
* Speed on a CPU: the frozen lower layers run once, without gradients, and their hidden states
  are cached; a step runs only the top layers on the batch of questions.

Seeded (``torch``, ``numpy``). ``torch`` is imported inside the functions (style rule 8).
"""

from __future__ import annotations

import copy
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .question_types import consumer_rewrites
from .retrieval import TextEncoder, split_sentences

if TYPE_CHECKING:
    from .retrieval import RetrievalIndex

logger = logging.getLogger(__name__)

PAIR_COLUMNS = ["query", "kind", "row_id", "doc_id"]


def question_roles(kb_split: pd.DataFrame, options: dict[str, Any]) -> pd.Series:
    """Each knowledge-base row's role for the retriever: ``train``, ``eval``, ``dev`` or ``excluded``.

    ``excluded``: ``split`` in ``options["exclude_splits"]`` (held-out documents, held-out
    question pairs, dev: never trained on). ``eval``: ``split`` in ``options["eval_splits"]`` when
    such rows exist, else a seeded sample of ``n_eval`` of the other rows. ``dev``: a seeded sample
    of ``n_dev`` of the rest (the type weight is chosen on it). Everything else: ``train``.
    """
    split = kb_split["split"].astype(str)
    roles = pd.Series("train", index=kb_split.index)
    roles[split.isin(options["exclude_splits"])] = "excluded"
    held = split.isin(options["eval_splits"])
    rng = np.random.default_rng(options["seed"])
    if held.any():
        roles[held] = "eval"
    else:
        free = roles.index[roles == "train"]
        roles[rng.choice(free, size=min(options["n_eval"], len(free)), replace=False)] = "eval"
    free = roles.index[roles == "train"]
    roles[rng.choice(free, size=min(options["n_dev"], len(free)), replace=False)] = "dev"
    return roles


def mask_focus(text: str, focus: str) -> str:
    """``text`` with the focus and its parts (split at , : ( )) of 4+ letters replaced by "it"."""
    names = {focus, *re.split(r"[,:()]", str(focus))}
    for name in sorted((n.strip() for n in names), key=len, reverse=True):
        if len(name) > 3:
            text = re.sub(re.escape(name), "it", text, flags=re.IGNORECASE)
    return text


def training_pairs(rows: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
    """Questions (``query``, ``kind``: question | consumer | sentence) of each row, with its ``row_id``, ``doc_id``.

    ``rows``: knowledge-base rows (``row_id``, ``doc_id``, ``question``, ``answer``, ``focus``,
    ``qtype``). Sentences of 6+ words are taken from the answer's start, lower case, focus masked.
    """
    out = []
    for r in rows.itertuples(index=False):
        queries = [(r.question, "question")]
        queries += [
            (q, "consumer") for q in consumer_rewrites(r.focus, r.qtype)[: options["n_consumer"]]
        ]
        sentences = [s for s in split_sentences(r.answer) if len(s.split()) >= 6]
        queries += [
            (mask_focus(s, r.focus).lower(), "sentence")
            for s in sentences[: options["n_sentences"]]
        ]
        out += [(q, kind, r.row_id, r.doc_id) for q, kind in queries]
    return pd.DataFrame(out, columns=PAIR_COLUMNS)


def layer_state(model: Any, layers: tuple[int, ...]) -> dict[str, Any]:
    """The weights of the transformer ``layers`` of a BERT-like model (``encoder.layer.<i>.*``)."""
    prefixes = tuple(f"encoder.layer.{i}." for i in layers)
    return {k: v for k, v in model.state_dict().items() if k.startswith(prefixes)}


def _lower_states(
    encoder: TextEncoder, texts: list[str], first_tuned: int, max_length: int
) -> list:
    """Hidden states entering layer ``first_tuned`` of every text (unpadded, no gradients)."""
    import torch  # noqa: PLC0415

    out: list = [None] * len(texts)
    order = np.argsort([len(t) for t in texts], kind="stable")
    encoder.model.eval()
    for start in range(0, len(texts), 64):
        idx = order[start : start + 64]
        batch = encoder.tokenizer(
            [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length,
            return_tensors="pt",
        )  # fmt: skip
        with torch.no_grad():
            states = encoder.model(**batch, output_hidden_states=True).hidden_states[first_tuned]
        lengths = batch["attention_mask"].sum(1).tolist()
        for j, i in enumerate(idx):
            out[i] = states[j, : lengths[j]].clone()
    return out


def top_layers_forward(layers: Any, states: list) -> Any:
    """Unit mean-pooled outputs of ``layers`` (BERT layers) on a batch of cached hidden states."""
    import torch  # noqa: PLC0415

    length = max(s.shape[0] for s in states)
    hidden = torch.zeros(len(states), length, states[0].shape[1])
    mask = torch.zeros(len(states), length)
    for i, s in enumerate(states):
        hidden[i, : s.shape[0]], mask[i, : s.shape[0]] = s, 1.0
    additive = (1.0 - mask[:, None, None, :]) * torch.finfo(hidden.dtype).min
    for layer in layers:
        out = layer(hidden, attention_mask=additive)
        hidden = out[0] if isinstance(out, tuple) else out
    weights = mask.unsqueeze(-1)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def fine_tune(
    encoder: TextEncoder, pairs: pd.DataFrame, index: RetrievalIndex, options: dict[str, Any]
) -> tuple[TextEncoder, list[float]]:
    """A copy of ``encoder`` with its top ``options["layers"]`` layers trained on ``pairs`` (see module doc).

    ``index``: the passages (``row_id``, ``doc_id``) and their vectors from ``encoder``; only the
    passages of the pairs' rows take part. ``options``: ``layers``, ``epochs``, ``batch_size``,
    ``learning_rate``, ``scale``, ``max_length`` (question tokens), ``seed``. Returns the
    question encoder and the loss of every step.
    """
    import torch  # noqa: PLC0415

    started, cpu = time.perf_counter(), time.process_time()
    torch.manual_seed(options["seed"])
    rng = np.random.default_rng(options["seed"])
    n_layers = len(encoder.model.encoder.layer)
    tuned = tuple(range(n_layers - options["layers"], n_layers))
    keep = index.passages["row_id"].isin(set(pairs["row_id"])).to_numpy()
    passages = index.passages[keep].reset_index(drop=True)
    vectors = torch.from_numpy(np.ascontiguousarray(index.embeddings[keep]))
    same_row = pairs["row_id"].to_numpy()[:, None] == passages["row_id"].to_numpy()[None, :]
    same_doc = pairs["doc_id"].to_numpy()[:, None] == passages["doc_id"].to_numpy()[None, :]
    if not same_row.any(axis=1).all():
        raise ValueError("retriever pairs: a question's row has no passage in the index")
    states = _lower_states(encoder, pairs["query"].tolist(), tuned[0], options["max_length"])
    top = copy.deepcopy(encoder.model.encoder.layer[tuned[0] :]).train()
    optimiser = torch.optim.AdamW(top.parameters(), lr=options["learning_rate"])
    losses = []
    for _ in range(options["epochs"]):
        order = rng.permutation(len(pairs))
        for start in range(0, len(order), options["batch_size"]):
            batch = order[start : start + options["batch_size"]]
            logits = (
                options["scale"] * top_layers_forward(top, [states[i] for i in batch]) @ vectors.T
            )
            positive = torch.from_numpy(same_row[batch])
            counted = torch.from_numpy(same_row[batch] | ~same_doc[batch])
            loss = (
                torch.logsumexp(logits.masked_fill(~counted, -1e9), 1)
                - torch.logsumexp(logits.masked_fill(~positive, -1e9), 1)
            ).mean()
            loss.backward()
            optimiser.step()
            optimiser.zero_grad()
            losses.append(float(loss.detach()))
    model = copy.deepcopy(encoder.model)
    for offset, layer in enumerate(top.eval()):
        model.encoder.layer[tuned[0] + offset] = layer
    logger.info(
        "Retriever: layers %s tuned on %d questions (%d passages), %d steps, loss %.3f -> %.3f, "
        "%.0f s (%.0f s CPU)", tuned, len(pairs), len(passages), len(losses), losses[0], losses[-1],
        time.perf_counter() - started, time.process_time() - cpu,
    )  # fmt: skip
    return (
        TextEncoder(
            tokenizer=encoder.tokenizer,
            model=model.eval(),
            max_length=encoder.max_length,
            path=encoder.path,
            tuned_layers=tuned,
        ),  # fmt: skip
        losses,
    )
