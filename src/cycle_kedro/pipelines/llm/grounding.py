"""Nodes that ground the assistant in the knowledge base: topics, held-out split, index, RAFT data.

Heavy libraries are imported inside the helpers they use (style rule 8).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cycle_kedro.validation import DataValidationError

from . import evaluation as E
from . import modeling as T
from . import rag as G
from . import retrieval as R
from . import topics as TP

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


def model_question_topics(
    knowledge_base: pd.DataFrame, encoder: R.TextEncoder, options: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Embedding topics of the knowledge-base questions (MiniLM + k-means + c-TF-IDF terms).

    Returns the knowledge base with ``row_id`` and ``topic``, and a table of each topic's size,
    terms and an example question.
    """
    kb = knowledge_base.reset_index(drop=True).assign(row_id=lambda d: d.index.astype(int))
    text = (kb["focus"] + ". " + kb["question"]).tolist()
    embeddings = encoder.encode(text, batch_size=options.get("batch_size", 64), progress=True)
    labels, terms = TP.cluster_topics(embeddings, text, options)
    kb = kb.assign(topic=labels)
    table = pd.DataFrame([
        {"topic": int(t), "n_questions": int((labels == t).sum()),
         "n_documents": int(kb.loc[labels == t, "doc_id"].nunique()), "terms": terms[t],
         "example_question": kb.loc[labels == t, "question"].iloc[0]}
        for t in sorted(terms)
    ]).sort_values("n_questions", ascending=False)  # fmt: skip
    for r in table.itertuples():
        logger.info("Topic %d (%d questions): %s", r.topic, r.n_questions, r.terms)
    return kb, table


def split_held_out(kb_topics: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
    """Column ``split``: ``test`` (held out: never indexed, never trained on) or ``index``.

    Whole components of rows sharing a document or a focus are held out, drawn round-robin over
    topics (see :func:`topics.held_out_split`).
    """
    out = kb_topics.assign(split=TP.held_out_split(kb_topics, options))
    test, rest = out[out["split"] == "test"], out[out["split"] != "test"]
    shared = set(test["doc_id"]) & set(rest["doc_id"])
    if shared:  # the split's guarantee; never expected
        raise DataValidationError(f"llm split: documents on both sides: {sorted(shared)[:3]}")
    logger.info(
        "Held out %d questions (%d documents, %d topics); %d indexed",
        len(test), test["doc_id"].nunique(), test["topic"].nunique(), len(rest),
    )  # fmt: skip
    return out


def build_retrieval_index(
    kb_split: pd.DataFrame, encoder: R.TextEncoder, options: dict[str, Any]
) -> R.RetrievalIndex:
    """Passages of every answer outside the held-out set, embedded and BM25-indexed."""
    indexed = kb_split[kb_split["split"] != "test"]
    passages = R.split_passages(indexed, options["passage_words"], options.get("max_passages"))
    passages["topic"] = passages["row_id"].map(
        dict(zip(indexed["row_id"], indexed["topic"], strict=True))
    )
    logger.info("Index: %d passages from %d answers", len(passages), len(indexed))
    return R.build_index(passages, encoder, options)


def build_raft_instructions(  # noqa: PLR0917 (a node: inputs are positional)
    kb_split: pd.DataFrame,
    fedcycle_qa: pd.DataFrame,
    synthetic_qa: pd.DataFrame,
    index: R.RetrievalIndex,
    encoder: R.TextEncoder,
    tokenizer: PreTrainedTokenizerBase,
    options: dict[str, Any],
    prompt: dict[str, Any],
) -> pd.DataFrame:
    """Training examples (``prompt``, ``completion``): RAFT on indexed Q&A plus forecast explanations.

    ``options``: ``n_medquad`` and ``n_forecast`` examples (seeded), ``k``, ``p_no_gold``,
    ``p_closed_book``, ``answer_words``, ``seed``. Forecast explanations are trained without sources:
    their numbers are in the question.
    """
    pool = kb_split[kb_split["split"] != "test"]
    train = pool.sample(n=min(options["n_medquad"], len(pool)), random_state=options["seed"])
    raft = G.raft_examples(train, index, encoder, options, prompt).assign(kind="medquad")
    forecasts = pd.concat([fedcycle_qa, synthetic_qa], ignore_index=True)
    n_fc = min(options["n_forecast"], len(forecasts) // 2)
    fc = forecasts.sample(frac=1.0, random_state=options["seed"]).head(n_fc)  # the other half: test
    fc = pd.DataFrame({"question": fc["question"], "raft_mode": "closed_book", "user": fc["question"],
                       "target": fc["answer"], "kind": "forecast"})  # fmt: skip
    df = pd.concat([raft, fc], ignore_index=True)
    pairs = [
        T.chat_pair(tokenizer, prompt["system"], u, t)
        for u, t in zip(df["user"], df["target"], strict=True)
    ]
    logger.info("RAFT examples: %s", df["raft_mode"].value_counts().to_dict())
    return df.assign(prompt=[p for p, _ in pairs], completion=[c for _, c in pairs], split="train")


def build_eval_questions(
    kb_split: pd.DataFrame,
    fedcycle_qa: pd.DataFrame,
    synthetic_qa: pd.DataFrame,
    options: dict[str, Any],
) -> pd.DataFrame:
    """The held-out real questions (kind ``medquad``) and held-out forecast explanations (``forecast``).

    Forecast questions are the half of the template pairs never used for training, capped at
    ``n_forecast``; their ``allowed`` text is the explanation written from the row's numbers.
    """
    test = kb_split[kb_split["split"] == "test"]
    real = E.questions_table(test, "medquad", options["reference_words"]).assign(
        topic=test["topic"].to_numpy()
    )
    forecasts = pd.concat([fedcycle_qa, synthetic_qa], ignore_index=True)
    held = forecasts.sample(frac=1.0, random_state=options["seed"]).iloc[len(forecasts) // 2 :]
    fc = E.questions_table(
        held.head(options["n_forecast"]), "forecast", options["reference_words"] * 4
    )
    return pd.concat([real, fc.assign(topic=np.nan)], ignore_index=True)


def retrieve_passages(
    questions: pd.DataFrame,
    index: R.RetrievalIndex,
    encoder: R.TextEncoder,
    options: dict[str, Any],
) -> pd.DataFrame:
    """The top-``k`` passages of every question (hybrid dense + BM25 retrieval), with recall hits."""
    contexts = E.retrieve_contexts(questions, index, encoder, options["k"])
    hit = contexts["hit_topic"].dropna()
    logger.info(
        "Retrieval: topic recall@%d %.2f on %d questions", options["k"], hit.mean(), len(hit)
    )
    return contexts
