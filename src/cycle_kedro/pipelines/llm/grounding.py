"""Nodes that ground the assistant in the knowledge base: topics, held-out split, index, held-out questions.

The helpers are in :mod:`cycle_kedro.assistant` (heavy libraries imported inside them, style rule 8).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cycle_kedro.assistant.evaluation import questions_table
from cycle_kedro.assistant.retrieval import build_index, retrieve_contexts, split_passages
from cycle_kedro.assistant.topics import cluster_topics, held_out_split
from cycle_kedro.validation import DataValidationError

if TYPE_CHECKING:
    from cycle_kedro.assistant.retrieval import RetrievalIndex, TextEncoder

logger = logging.getLogger(__name__)


def model_question_topics(
    knowledge_base: pd.DataFrame, encoder: TextEncoder, options: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Embedding topics of the knowledge-base questions (MiniLM + k-means + c-TF-IDF terms).

    Returns the knowledge base with ``row_id`` and ``topic``, and a table of each topic's size,
    terms and an example question.
    """
    kb = knowledge_base.reset_index(drop=True).assign(row_id=lambda d: d.index.astype(int))
    text = (kb["focus"] + ". " + kb["question"]).tolist()
    embeddings = encoder.encode(text, batch_size=options.get("batch_size", 64), progress=True)
    labels, terms = cluster_topics(embeddings, text, options)
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
    topics (see :func:`cycle_kedro.assistant.topics.held_out_split`).
    """
    out = kb_topics.assign(split=held_out_split(kb_topics, options))
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
    kb_split: pd.DataFrame, encoder: TextEncoder, options: dict[str, Any]
) -> RetrievalIndex:
    """Passages of every answer outside the held-out set, embedded and BM25-indexed."""
    indexed = kb_split[kb_split["split"] != "test"]
    passages = split_passages(indexed, options["passage_words"], options.get("max_passages"))
    passages["topic"] = passages["row_id"].map(
        dict(zip(indexed["row_id"], indexed["topic"], strict=True))
    )
    logger.info("Index: %d passages from %d answers", len(passages), len(indexed))
    return build_index(passages, encoder, options)


def build_eval_questions(
    kb_split: pd.DataFrame, options: dict[str, Any], **forecast_qa: pd.DataFrame
) -> pd.DataFrame:
    """The held-out real questions (kind ``medquad``) and held-out forecast explanations (``forecast``).

    ``forecast_qa``: each cohort's forecast Q&A table (``<cohort>_qa``), pooled in the given order.
    Forecast questions are the half of the template pairs never used for training, capped at
    ``n_forecast``; their ``allowed`` text is the explanation written from the row's numbers.
    """
    test = kb_split[kb_split["split"] == "test"]
    real = questions_table(test, "medquad", options["reference_words"]).assign(
        topic=test["topic"].to_numpy()
    )
    forecasts = pd.concat(list(forecast_qa.values()), ignore_index=True)
    held = forecasts.sample(frac=1.0, random_state=options["seed"]).iloc[len(forecasts) // 2 :]
    fc = questions_table(
        held.head(options["n_forecast"]), "forecast", options["reference_words"] * 4
    )
    return pd.concat([real, fc.assign(topic=np.nan)], ignore_index=True)


def retrieve_passages(
    questions: pd.DataFrame,
    index: RetrievalIndex,
    encoder: TextEncoder,
    options: dict[str, Any],
) -> pd.DataFrame:
    """The top-``k`` passages of every question (hybrid dense + BM25 retrieval), with recall hits."""
    contexts = retrieve_contexts(questions, index, encoder, options["k"])
    hit = contexts["hit_topic"].dropna()
    logger.info(
        "Retrieval: topic recall@%d %.2f on %d questions", options["k"], hit.mean(), len(hit)
    )
    return contexts
