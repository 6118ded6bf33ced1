"""Topic modelling of the knowledge-base questions and the held-out split by topic and document.

Topics follow BERTopic's recipe without its UMAP/HDBSCAN dependencies: sentence embeddings
(the local MiniLM encoder) of each question with its focus, seeded k-means on them, and class-based
TF-IDF (c-TF-IDF: term frequency within a topic x log(1 + mean words per topic / term frequency over
topics)) for each topic's terms.

The held-out split never separates rows that share a MedQuAD document or a focus (MedQuAD's topic):
such rows form one *component* (union-find), and whole components are held out, drawn round-robin
over the embedding topics so that every theme is represented. The in-KB test set holds out single
question pairs whose documents stay indexed (:func:`in_kb_pairs`), drawn round-robin over topics too.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.validation import DataValidationError

logger = logging.getLogger(__name__)

TEMPLATE_WORDS = [
    "information", "symptoms", "symptom", "signs", "treatments", "treatment", "causes", "cause",
    "inherited", "diagnose", "diagnosis", "risk", "prevent", "outlook", "research", "studies",
    "clinical", "trials", "complications", "genetic", "changes", "related", "people", "affected",
    "frequency", "stages", "need", "know", "having", "does", "condition", "tests", "exams", "ve",
]  # fmt: skip


def focus_key(focus: str) -> str:
    """Focus compared case- and punctuation-insensitively."""
    return re.sub(r"[^a-z0-9]+", " ", str(focus).lower()).strip()


def ctfidf_terms(texts: list[str], labels: np.ndarray, top: int, stop_words: list[str]) -> dict:
    """Top ``top`` c-TF-IDF terms of each label (BERTopic's topic representation)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer  # noqa: PLC0415

    stop = sorted(ENGLISH_STOP_WORDS.union(TEMPLATE_WORDS, stop_words))
    vec = CountVectorizer(stop_words=stop, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    counts = vec.fit_transform(texts)
    topics = sorted(set(labels.tolist()))
    per_topic = np.vstack([np.asarray(counts[labels == t].sum(axis=0)).ravel() for t in topics])
    tf = per_topic / np.maximum(per_topic.sum(axis=1, keepdims=True), 1)
    idf = np.log1p(per_topic.sum(axis=1).mean() / np.maximum(per_topic.sum(axis=0), 1))
    weights = tf * idf
    vocab = np.asarray(vec.get_feature_names_out())
    return {t: ", ".join(vocab[np.argsort(-weights[i])[:top]]) for i, t in enumerate(topics)}


def cluster_topics(
    embeddings: np.ndarray, texts: list[str], options: dict[str, Any]
) -> tuple[np.ndarray, dict]:
    """Seeded k-means topics of unit ``embeddings`` and their c-TF-IDF terms."""
    from sklearn.cluster import KMeans  # noqa: PLC0415

    n = min(int(options["n_topics"]), len(texts))
    labels = KMeans(n_clusters=n, random_state=options["seed"], n_init=10).fit_predict(embeddings)
    terms = ctfidf_terms(texts, labels, options["top_terms"], options.get("extra_stop_words", []))
    return labels.astype(int), terms


def components(doc_ids: pd.Series, foci: pd.Series) -> np.ndarray:
    """Label rows so that rows sharing a document OR a focus get the same label (union-find)."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent.setdefault(parent[a], parent[a])
            a = parent[a]
        return a

    for d, f in zip(doc_ids, foci.map(focus_key), strict=True):
        parent[find(f"d:{d}")] = find(f"f:{f}")
    return np.array([find(f"d:{d}") for d in doc_ids])


def held_out_split(
    df: pd.DataFrame, options: dict[str, Any], keep_docs: frozenset[str] = frozenset()
) -> pd.Series:
    """``"test"`` for whole components drawn round-robin over topics until ``n_test`` rows, else ``"index"``.

    ``df`` needs ``doc_id``, ``focus``, ``topic``. Components larger than ``max_component_rows``
    stay in the index (one big topic would otherwise fill the held-out set), and so do those holding
    a document of ``keep_docs`` (skipped where drawn: the other draws stay the same).
    """
    comp = pd.Series(components(df["doc_id"], df["focus"]), index=df.index)
    sizes = comp.value_counts()
    topic_of = df.groupby(comp)["topic"].agg(lambda t: t.mode().iloc[0])
    rng = np.random.default_rng(options["seed"])
    pools = {
        t: list(rng.permutation(sorted(c for c in cs if sizes[c] <= options["max_component_rows"])))
        for t, cs in topic_of.groupby(topic_of).groups.items()
    }
    kept = set(comp[df["doc_id"].isin(keep_docs)])
    chosen, n_rows = [], 0
    order = list(rng.permutation(sorted(pools)))
    while n_rows < options["n_test"] and any(pools.values()):
        for t in order:
            if pools[t] and n_rows < options["n_test"]:
                c = pools[t].pop()
                if c in kept:
                    continue
                chosen.append(c)
                n_rows += int(sizes[c])
    split = pd.Series(np.where(comp.isin(chosen), "test", "index"), index=df.index)
    if (split == "test").sum() < options["n_test"] or (split == "index").sum() == 0:
        raise DataValidationError(
            f"llm held-out split: only {(split == 'test').sum()} of {options['n_test']} held-out "
            "rows possible (check llm.split.n_test / max_component_rows)"
        )
    return split


def in_kb_pairs(df: pd.DataFrame, candidates: pd.Series, n: int, seed: int) -> pd.Index:
    """``n`` rows of ``df`` where ``candidates`` is true, drawn round-robin over ``topic`` (seeded).

    Only rows whose question is asked once in ``df`` (compared case- and punctuation-insensitively)
    are drawn: a question asked with several answers has no single reference.
    """
    asked = df["question"].map(focus_key)
    pool = df[candidates & ~asked.duplicated(keep=False)]
    rng = np.random.default_rng(seed)
    queues = {t: list(rng.permutation(g.index.to_numpy())) for t, g in pool.groupby("topic")}
    order = list(rng.permutation(sorted(queues)))
    chosen: list = []
    while len(chosen) < n and any(queues.values()):
        for t in order:
            if queues[t] and len(chosen) < n:
                chosen.append(queues[t].pop())
    if len(chosen) < n:
        raise DataValidationError(
            f"llm in-KB split: only {len(chosen)} of {n} question pairs possible (check llm.split.n_in_kb_test)"
        )
    return pd.Index(sorted(chosen))
