"""Nodes that ground the assistant in the knowledge base: topics, held-out split, index, evaluation questions.

Three settings of real questions are evaluated side by side: ``medquad`` (out-of-KB: held-out
documents and foci, never indexed, never trained on), ``in_kb`` (held-out question pairs whose
documents stay indexed, never trained on: the deployed case) and ``dev`` (our consumer-worded
questions, ``llm.consumer_questions``: they fix the gating threshold and the default system).

The helpers are in :mod:`cycle_kedro.assistant` (heavy libraries imported inside them, style rule 8).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cycle_kedro.assistant.evaluation import questions_table
from cycle_kedro.assistant.metrics import normalize_answer
from cycle_kedro.assistant.retrieval import build_index, retrieve_contexts, split_passages
from cycle_kedro.assistant.topics import cluster_topics, held_out_split, in_kb_pairs
from cycle_kedro.validation import DataValidationError
from cycle_kedro.validation.file_lines import file_line

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


def _answering_rows(kb: pd.DataFrame, dev: pd.DataFrame) -> pd.Index:
    """The knowledge-base row answering each covered dev question: its document, holding its passage."""
    source = dev.attrs.get("source", "llm.consumer_questions")
    answers = kb["answer"].map(normalize_answer)
    rows = []
    for i, q in enumerate(dev.itertuples(index=False)):
        if not q.covered:
            continue
        passage = normalize_answer(q.answer)
        match = kb.index[(kb["doc_id"] == q.doc_id) & answers.map(lambda a, p=passage: p in a)]
        if match.empty:
            raise DataValidationError(
                source=source, row=i, line=file_line(dev, i), value=q.question,
                detail=f"no answer of knowledge-base document {q.doc_id} holds its passage",
                hint="copy the passage word for word from one answer of that document",
            )  # fmt: skip
        rows.append(match[0])
    return pd.Index(rows)


def split_held_out(
    kb_topics: pd.DataFrame, consumer_questions: pd.DataFrame, options: dict[str, Any]
) -> pd.DataFrame:
    """Column ``split``: ``test``, ``in_kb_test``, ``dev`` or ``index`` (never trained on: all but ``index``).

    ``test``: whole components of rows sharing a document or a focus, drawn round-robin over topics
    (:func:`cycle_kedro.assistant.topics.held_out_split`), never indexed; no component holding a
    dev document is drawn. ``dev``: the pairs whose answers hold the dev questions' passages.
    ``in_kb_test``: ``n_in_kb_test`` other indexed pairs, drawn round-robin over topics. ``dev`` and
    ``in_kb_test`` pairs stay indexed.
    """
    covered = consumer_questions[consumer_questions["covered"].astype(bool)]
    split = held_out_split(kb_topics, options, keep_docs=frozenset(covered["doc_id"]))
    split[_answering_rows(kb_topics, consumer_questions)] = "dev"
    in_kb = in_kb_pairs(kb_topics, split == "index", options["n_in_kb_test"], options["seed"])
    split[in_kb] = "in_kb_test"
    out = kb_topics.assign(split=split)
    test, rest = out[out["split"] == "test"], out[out["split"] != "test"]
    shared = set(test["doc_id"]) & set(rest["doc_id"])
    if shared:  # the split's guarantee; never expected
        raise DataValidationError(f"llm split: documents on both sides: {sorted(shared)[:3]}")
    logger.info(
        "Held out %d questions (%d documents, %d topics); %d indexed, of them %d in-KB test and %d dev pairs",
        len(test), test["doc_id"].nunique(), test["topic"].nunique(), len(rest),
        len(in_kb), int((split == "dev").sum()),
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
    kb_split: pd.DataFrame,
    consumer_questions: pd.DataFrame,
    options: dict[str, Any],
    **forecast_qa: pd.DataFrame,
) -> pd.DataFrame:
    """The evaluation questions: kinds ``medquad`` (out-of-KB), ``in_kb``, ``dev`` and ``forecast``.

    ``medquad``: the held-out documents' questions; ``in_kb``: the held-out pairs whose documents
    are indexed; ``dev``: the consumer-worded questions (reference: the whole answering passage, up
    to ``dev_reference_words``; an uncovered question has none). ``covered``: whether the index
    holds the answer. ``forecast_qa``: each cohort's forecast Q&A table (``<cohort>_qa``), pooled
    in the given order; forecast questions are the half of the template pairs never used for
    training, capped at ``n_forecast``; their ``allowed`` text is the explanation written from the
    row's numbers.
    """
    words = options["reference_words"]
    parts = []
    for kind, split, covered in (("medquad", "test", False), ("in_kb", "in_kb_test", True)):
        rows = kb_split[kb_split["split"] == split]
        parts.append(questions_table(rows, kind, words).assign(topic=rows["topic"].to_numpy(), covered=covered))
    dev = questions_table(consumer_questions, "dev", options["dev_reference_words"])
    parts.append(dev.assign(topic=np.nan, covered=consumer_questions["covered"].astype(bool).to_numpy()))
    forecasts = pd.concat(list(forecast_qa.values()), ignore_index=True)
    held = forecasts.sample(frac=1.0, random_state=options["seed"]).iloc[len(forecasts) // 2 :]
    fc = questions_table(held.head(options["n_forecast"]), "forecast", words * 4)
    parts.append(fc.assign(topic=np.nan, covered=False))
    return pd.concat(parts, ignore_index=True)


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
