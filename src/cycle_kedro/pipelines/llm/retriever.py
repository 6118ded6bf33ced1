"""Nodes of the retriever that understands how people ask: fine-tuning, tuned and deployment indexes, recall.

The training side is the knowledge base without its held-out rows; the recall of the answering
document is measured on held-out question pairs whose documents stay indexed (the in-KB setting),
before (MiniLM + BM25) and after (fine-tuned question encoder, plain-word expansion, question
types). The helpers are in :mod:`cycle_kedro.assistant.retriever_training` and
:mod:`cycle_kedro.assistant.retrieval`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from cycle_kedro.assistant.question_types import consumer_rewrites
from cycle_kedro.assistant.retrieval import answer_ranks, extend_index, recall_at, split_passages
from cycle_kedro.assistant.retriever_training import fine_tune, question_roles, training_pairs
from cycle_kedro.tables import mlflow_metrics
from cycle_kedro.validation import DataValidationError

if TYPE_CHECKING:
    from cycle_kedro.assistant.retrieval import RetrievalIndex, TextEncoder

logger = logging.getLogger(__name__)

QUESTION_COLUMNS = ["set", "question", "doc_id", "row_id", "qtype", "focus"]


def build_retriever_sets(
    kb_split: pd.DataFrame, options: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fine-tuning pairs (training rows only) and the questions recall is measured on.

    Questions (column ``set``): ``in_kb`` (held-out pairs as asked), ``in_kb_consumer`` (each
    rewritten by its type's last consumer template, one the training pairs never use when
    ``n_consumer`` is smaller), ``dev`` and ``dev_consumer`` (the same for the dev rows that fix
    the type weight). A question of an eval or dev row in the pairs raises :class:`DataValidationError`.
    """
    roles = question_roles(kb_split, options)
    pairs = training_pairs(kb_split[roles == "train"], options)
    sets = []
    for role in ("eval", "dev"):
        rows = kb_split[roles == role]
        name = "in_kb" if role == "eval" else "dev"
        asked = rows.assign(set=name)
        rewritten = rows.assign(
            set=f"{name}_consumer",
            question=[(consumer_rewrites(f, t) or [q])[-1] for f, t, q in zip(rows["focus"], rows["qtype"], rows["question"], strict=True)],
        )  # fmt: skip
        sets += [asked, rewritten]
    questions = pd.concat(sets, ignore_index=True)[QUESTION_COLUMNS]
    leaked = set(questions["row_id"]) & set(pairs["row_id"])
    if leaked:  # the roles' guarantee; never expected
        raise DataValidationError(f"retriever pairs hold evaluated rows: {sorted(leaked)[:3]}")
    logger.info(
        "Retriever: %d training pairs from %d rows; %s",
        len(pairs), pairs["row_id"].nunique(), questions["set"].value_counts().to_dict(),
    )  # fmt: skip
    return pairs, questions


def train_retriever(
    pairs: pd.DataFrame, index: RetrievalIndex, encoder: TextEncoder, options: dict[str, Any]
) -> tuple[TextEncoder, list[float]]:
    """The question encoder fine-tuned on the pairs against the index's (pretrained) passage vectors."""
    return fine_tune(encoder, pairs, index, options["training"])


def build_tuned_indexes(
    kb_split: pd.DataFrame,
    index: RetrievalIndex,
    encoder: TextEncoder,
    index_options: dict[str, Any],
    options: dict[str, Any],
) -> tuple[RetrievalIndex, RetrievalIndex]:
    """The evaluation index (held-out documents left out) and the deployment index (every KB row).

    Both keep the pretrained passage vectors of ``index`` (the question encoder is the tuned one),
    add each passage's ``qtype``, expand plain words (``options["lay_terms"]``) and boost the
    question's type (``options["type_weight"]``). The deployment index adds the held-out rows'
    passages, embedded by ``encoder`` (the pretrained passage encoder).
    """
    qtype = dict(zip(kb_split["row_id"], kb_split["qtype"].fillna(""), strict=True))
    tuned = replace(
        index, passages=index.passages.assign(qtype=index.passages["row_id"].map(qtype)),
        lay_terms=options["lay_terms"], type_weight=options["type_weight"],
    )  # fmt: skip
    held = kb_split[kb_split["split"] == "test"]
    extra = split_passages(held, index_options["passage_words"], index_options.get("max_passages"))
    extra = extra.assign(
        topic=extra["row_id"].map(dict(zip(held["row_id"], held["topic"], strict=True))),
        qtype=extra["row_id"].map(qtype),
    )
    deployment = extend_index(tuned, extra, encoder, index_options)
    missing = set(kb_split["doc_id"]) - set(deployment.passages["doc_id"])
    if missing:  # every row has an answer, so at least one passage; never expected
        raise DataValidationError(f"deployment index misses documents: {sorted(missing)[:3]}")
    logger.info(
        "Indexes: evaluation %d passages, deployment %d passages (%d documents)",
        len(tuned.passages), len(deployment.passages), deployment.passages["doc_id"].nunique(),
    )  # fmt: skip
    return tuned, deployment


def evaluate_retrievers(  # noqa: PLR0913, PLR0917 (a node: the two retrievers' inputs)
    questions: pd.DataFrame,
    base_index: RetrievalIndex,
    base_encoder: TextEncoder,
    tuned_index: RetrievalIndex,
    tuned_encoder: TextEncoder,
    options: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Recall@k of the answering document, before and after, and the type weight on the dev rows.

    ``recall_at_<k>``: a passage of the answering document in the top k; ``row_recall_at_<k>``:
    one of the answering row itself (the passage of the question's type). Retrievers: ``minilm_bm25`` (the pretrained index, as before), ``tuned`` (fine-tuned question
    encoder only) and ``tuned_types`` (the tuned index as deployed: plus plain-word expansion and
    the type boost). Returns the recall table (retriever x question set), the dev table of type
    weights (``options["type_weights"]``) and the MLflow metrics
    ``llm.retriever.<retriever>.<set>.recall_at_<k>``.
    """
    ks = tuple(options["recall_at"])
    plain = replace(tuned_index, lay_terms=False, type_weight=0.0)
    retrievers = {"minilm_bm25": (base_index, base_encoder), "tuned": (plain, tuned_encoder),
                  "tuned_types": (tuned_index, tuned_encoder)}  # fmt: skip
    rows = []
    for name, (index, encoder) in retrievers.items():
        for subset, group in questions.groupby("set", sort=False):
            if subset.startswith("dev"):
                continue
            rows.append({"retriever": name, "set": subset, "n_questions": len(group),
                         **_recalls(group, index, encoder, ks)})  # fmt: skip
    table = pd.DataFrame(rows)
    dev = questions[questions["set"].str.startswith("dev")]
    weights = pd.DataFrame([
        {"type_weight": w, **_recalls(dev, replace(tuned_index, type_weight=w), tuned_encoder, ks)}
        for w in options["type_weights"]
    ])  # fmt: skip
    values = {
        f"llm.retriever.{r['retriever']}.{r['set']}.recall_at_{k}": r[f"recall_at_{k}"]
        for r in rows for k in ks
    }  # fmt: skip
    for r in rows:
        logger.info("Retrieval %s on %s: recall@%s %s", r["retriever"], r["set"], ks,
                    [round(r[f"recall_at_{k}"], 3) for k in ks])  # fmt: skip
    return table, weights, mlflow_metrics(values)


def _recalls(
    questions: pd.DataFrame, index: RetrievalIndex, encoder: TextEncoder, ks: tuple[int, ...]
) -> dict[str, float]:
    """``recall_at_<k>`` (answering document) and ``row_recall_at_<k>`` (answering row) of ``questions``."""
    ranks = answer_ranks(questions, index, encoder, depth=max(ks))
    return {**{f"recall_at_{k}": v for k, v in recall_at(ranks["rank"], ks).items()},
            **{f"row_recall_at_{k}": v for k, v in recall_at(ranks["row_rank"], ks).items()}}  # fmt: skip
