"""Hybrid retrieval over knowledge-base passages: MiniLM dense vectors + BM25, fused by reciprocal rank.

* :func:`split_passages` — answers cut into passages of a few sentences, each keeping its question,
  focus, MedQuAD document and source URL.
* :class:`TextEncoder` — a sentence encoder (mean-pooled, L2-normalised token states of a local BERT
  directory such as all-MiniLM-L6-v2), loaded by a catalog dataset.
* :class:`Bm25` — Okapi BM25 on a scikit-learn count matrix (k1, b as in Robertson & Zaragoza).
* :class:`RetrievalIndex` — passages + dense matrix + BM25; ``search`` fuses the two rankings with
  reciprocal-rank fusion (RRF, Cormack et al. 2009: score = sum 1 / (k + rank)); optionally the
  question's plain words are expanded for BM25 and passages of the question's MedQuAD type are
  boosted (:mod:`~cycle_kedro.assistant.question_types`).
* :func:`confidence` — how sure a search is: the top passage's dense cosine.
* :func:`document_recall` — recall@k of the answering document for any question table
  (:func:`answer_ranks`, :func:`recall_at`).
* :func:`retrieve_contexts` — a question table with its top-``k`` passages and recall hits;
  :func:`context_passages` — one row's passages as the prompt shows them.

``torch``/``transformers``/``sklearn`` are imported inside the functions (style rule 8).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .question_types import expand_lay_terms, passage_type, question_types
from .topics import focus_key

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger(__name__)

PASSAGE_COLUMNS = ["passage_id", "doc_id", "row_id", "question", "focus", "url", "text"]
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'-])")
_TOKEN = r"(?u)\b\w\w+\b"


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (a split after . ! ? followed by a capital, digit or bullet)."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def chunk_text(text: str, max_words: int, max_passages: int | None = None) -> list[str]:
    """Greedy chunks of whole sentences of at most ``max_words`` words (a longer sentence is cut)."""
    chunks: list[str] = []
    current: list[str] = []
    for sentence in split_sentences(text):
        words = sentence.split()
        while len(words) > max_words:  # one overlong sentence: its own chunks
            if current:
                chunks.append(" ".join(current))
                current = []
            chunks.append(" ".join(words[:max_words]))
            words = words[max_words:]
        if current and len(current) + len(words) > max_words:
            chunks.append(" ".join(current))
            current = []
        current += words
    if current:
        chunks.append(" ".join(current))
    return chunks[:max_passages] if max_passages else chunks


def split_passages(kb: pd.DataFrame, max_words: int, max_passages: int | None) -> pd.DataFrame:
    """One row per passage of each answer, with its question, focus, document and URL.

    ``kb`` needs ``row_id``, ``doc_id``, ``question``, ``answer``, ``focus``, ``url``.
    """
    rows = []
    for r in kb.itertuples(index=False):
        for text in chunk_text(r.answer, max_words, max_passages):
            rows.append((r.doc_id, r.row_id, r.question, r.focus, r.url, text))
    df = pd.DataFrame(rows, columns=PASSAGE_COLUMNS[1:])
    return df.assign(passage_id=np.arange(len(df)))[PASSAGE_COLUMNS]


def passage_text(passages: pd.DataFrame) -> list[str]:
    """What is embedded and matched: the focus, the passage's question and the passage."""
    return (passages["focus"] + ". " + passages["question"] + " " + passages["text"]).tolist()


@dataclass
class TextEncoder:
    """A sentence encoder: tokenizer + BERT-like model; ``encode`` gives unit vectors.

    ``tuned_layers``: the transformer layers fine-tuned for questions (empty: the pretrained
    encoder; see :mod:`~cycle_kedro.assistant.retriever_training`).
    """

    tokenizer: Any
    model: Any
    max_length: int = 256
    path: str = ""
    tuned_layers: tuple[int, ...] = ()

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        """Mean-pooled last hidden states (padding masked), L2-normalised, float32."""
        import torch  # noqa: PLC0415
        from tqdm.auto import tqdm  # noqa: PLC0415

        self.model.eval()
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths: less padding
        out = []
        starts = range(0, len(texts), batch_size)
        for start in tqdm(starts, desc="embed", unit="batch", disable=not progress, leave=False):
            batch = self.tokenizer(
                [texts[i] for i in order[start : start + batch_size]], padding=True,
                truncation=True, max_length=self.max_length, return_tensors="pt",
            )  # fmt: skip
            with torch.no_grad():
                hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        if out:
            vectors = np.concatenate(out).astype(np.float32)
            result = np.empty_like(vectors)
            result[order] = vectors
            return result
        return np.zeros((0, getattr(self.model.config, "hidden_size", 0)), np.float32)


@dataclass
class Bm25:
    """Okapi BM25 over a fixed vocabulary (``vocabulary`` token -> column)."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    doc_tf: Any  # scipy CSR (documents x terms) of BM25-weighted term frequencies
    k1: float = 1.5
    b: float = 0.75

    @classmethod
    def fit(cls, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> Bm25:
        """Count terms (lower-cased words of 2+ characters, English stop words dropped)."""
        from sklearn.feature_extraction.text import CountVectorizer  # noqa: PLC0415

        vec = CountVectorizer(lowercase=True, token_pattern=_TOKEN, stop_words="english")
        counts = vec.fit_transform(texts).tocsr().astype(np.float64)
        n_docs = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        length = np.asarray(counts.sum(axis=1)).ravel()
        norm = k1 * (1 - b + b * length / max(length.mean(), 1e-9))
        tf = counts.copy()
        rows = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
        tf.data = tf.data * (k1 + 1) / (tf.data + norm[rows])
        vocab = {t: int(i) for t, i in vec.vocabulary_.items()}
        return cls(vocabulary=vocab, idf=idf, doc_tf=tf, k1=k1, b=b)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """(queries x documents) BM25 scores; a query term counts once."""
        from scipy import sparse  # noqa: PLC0415
        from sklearn.feature_extraction.text import CountVectorizer  # noqa: PLC0415

        vec = CountVectorizer(
            lowercase=True, token_pattern=_TOKEN, vocabulary=self.vocabulary, binary=True
        )
        q = vec.transform(queries).astype(np.float64)
        q = q @ sparse.diags(self.idf)
        return np.asarray((q @ self.doc_tf.T).todense())


def rrf_fuse(score_lists: Sequence[np.ndarray], k: int = 60) -> np.ndarray:
    """Reciprocal-rank fusion of (queries x items) score matrices: sum of 1 / (k + rank), rank from 1."""
    fused = np.zeros_like(score_lists[0], dtype=np.float64)
    for scores in score_lists:
        order = np.argsort(-scores, axis=1, kind="stable")
        ranks = np.empty_like(order)
        rows = np.arange(scores.shape[0])[:, None]
        ranks[rows, order] = np.arange(1, scores.shape[1] + 1)[None, :]
        fused += 1.0 / (k + ranks)
    return fused


@dataclass
class RetrievalIndex:
    """Knowledge-base passages with their dense vectors and a BM25 ranker (a ``06_models`` dataset).

    ``lay_terms``: BM25 also searches the knowledge base's words for a question's plain words
    (:func:`~cycle_kedro.assistant.question_types.expand_lay_terms`). ``type_weight``: added to
    the fused score of a passage whose row's ``qtype`` is the question's type
    (:func:`~cycle_kedro.assistant.question_types.question_type`; needs a ``qtype`` column) and
    whose focus is that of the question's top passage (see :meth:`_type_matches`). One
    rank step near the top of the fused list is about ``1 / (rrf_k + 1)**2`` (0.00027 at k 60).
    """

    passages: pd.DataFrame
    embeddings: np.ndarray = field(repr=False)
    bm25: Bm25 = field(repr=False)
    encoder_path: str = ""
    rrf_k: int = 60
    lay_terms: bool = False
    type_weight: float = 0.0

    def search(
        self, queries: Sequence[str], encoder: TextEncoder, k: int, batch_size: int = 32
    ) -> list[pd.DataFrame]:
        """Top-``k`` passages per query (columns of ``passages`` plus ``rank``, ``score``, ``dense``).

        ``score`` is the fused score the passages are ranked by; ``dense`` the cosine of the
        question and the passage (``encoder`` embeds the questions).
        """
        if len(self.passages) == 0 or not len(queries):
            return [self.passages.head(0).assign(rank=[], score=[], dense=[]) for _ in queries]
        queries = list(queries)
        dense = encoder.encode(queries, batch_size=batch_size) @ self.embeddings.T
        words = [expand_lay_terms(q) for q in queries] if self.lay_terms else queries
        fused = rrf_fuse([dense, self.bm25.scores(words)], self.rrf_k)
        if self.type_weight and "qtype" in self.passages:
            fused += self.type_weight * self._type_matches(queries, fused)
        k = min(k, len(self.passages))
        top = np.argsort(-fused, axis=1, kind="stable")[:, :k]
        return [
            self.passages.iloc[idx].assign(
                rank=np.arange(1, k + 1), score=fused[i, idx], dense=dense[i, idx]
            )
            for i, idx in enumerate(top)
        ]

    def _type_matches(self, queries: list[str], fused: np.ndarray) -> np.ndarray:
        """(queries x passages) 1 where a passage is of the question's type and about the condition
        of the question's top passage (same focus): the type picks the answer within a condition,
        never another condition's passage of that type."""
        asked = np.asarray(question_types(queries), dtype=object)[:, None]
        kinds = np.asarray([passage_type(t) for t in self.passages["qtype"]], dtype=object)
        foci = np.asarray([focus_key(f) for f in self.passages["focus"]], dtype=object)
        condition = foci[np.argmax(fused, axis=1)][:, None]
        return ((asked == kinds[None, :]) & (asked != "") & (foci[None, :] == condition)).astype(
            float
        )


def confidence(hits: pd.DataFrame) -> float:
    """How sure one search is: the dense cosine of the question and its top passage.

    ``hits`` is one :meth:`RetrievalIndex.search` result. The range is [-1, 1] (unit vectors).
    With the fine-tuned question encoder on the evaluation index (10th-90th percentiles):
    held-out MedQuAD questions whose document is indexed 0.64-0.83, the same reworded by a
    consumer template 0.54-0.76, questions whose document is held out 0.34-0.62, off-topic
    questions about 0.0-0.15; plain-language questions about indexed conditions can score as low
    as out-of-KB ones, so a threshold is a trade-off to fix on a dev set. NaN when nothing was
    retrieved.
    """
    if hits.empty or "dense" not in hits:
        return float("nan")
    return float(hits["dense"].iloc[0])


def answer_ranks(
    questions: pd.DataFrame, index: RetrievalIndex, encoder: TextEncoder, depth: int = 10
) -> pd.DataFrame:
    """``questions`` with the rank of the first passage of the answering document, and its search's confidence.

    ``questions`` needs ``question`` and ``doc_id`` (any question table: held-out knowledge-base
    pairs, a consumer-worded set); ``rank`` is NaN when no passage of ``doc_id`` is in the top
    ``depth``. With a ``row_id`` column, ``row_rank`` is the rank of the answering row's own
    first passage (the passage of the question's type).
    """
    hits = index.search(questions["question"].tolist(), encoder, k=depth)
    keys = {"rank": "doc_id"} | ({"row_rank": "row_id"} if "row_id" in questions else {})
    ranks: dict[str, list[float]] = {name: [] for name in keys}
    for i, h in enumerate(hits):
        for name, key in keys.items():
            found = np.flatnonzero(h[key].to_numpy() == questions[key].iloc[i])
            ranks[name].append(float(found[0] + 1) if len(found) else np.nan)
    return questions.assign(**ranks, confidence=[confidence(h) for h in hits])


def recall_at(ranks: pd.Series, ks: Sequence[int]) -> dict[int, float]:
    """``{k: share of ranks <= k}`` (NaN ranks count as misses; NaN for no questions)."""
    return {k: float((ranks <= k).mean()) if len(ranks) else np.nan for k in ks}


def document_recall(
    questions: pd.DataFrame,
    index: RetrievalIndex,
    encoder: TextEncoder,
    ks: Sequence[int] = (1, 3, 10),
) -> tuple[pd.DataFrame, dict[int, float]]:
    """Recall@k of the answering document (a passage of the question's ``doc_id`` in the top k).

    Returns the per-question :func:`answer_ranks` table and ``{k: recall@k}``.
    """
    per_question = answer_ranks(questions, index, encoder, depth=max(ks))
    return per_question, recall_at(per_question["rank"], ks)


def build_index(
    passages: pd.DataFrame, encoder: TextEncoder, options: dict[str, Any]
) -> RetrievalIndex:
    """Embed every passage (progress bar) and fit BM25 on the same texts."""
    texts = passage_text(passages)
    embeddings = encoder.encode(texts, batch_size=options.get("batch_size", 32), progress=True)
    bm25 = Bm25.fit(texts, k1=options.get("bm25_k1", 1.5), b=options.get("bm25_b", 0.75))
    return RetrievalIndex(
        passages=passages.reset_index(drop=True), embeddings=embeddings, bm25=bm25,
        encoder_path=encoder.path, rrf_k=options.get("rrf_k", 60),
    )  # fmt: skip


def extend_index(
    index: RetrievalIndex, passages: pd.DataFrame, encoder: TextEncoder, options: dict[str, Any]
) -> RetrievalIndex:
    """``index`` with more ``passages`` (embedded by ``encoder``, ids continued), BM25 refit on all.

    The index's own passages keep their vectors; its ``lay_terms``, ``type_weight``, RRF k and
    encoder path carry over.
    """
    start = int(index.passages["passage_id"].max()) + 1 if len(index.passages) else 0
    extra = passages.reset_index(drop=True).assign(passage_id=lambda d: start + d.index)
    vectors = encoder.encode(passage_text(extra), batch_size=options.get("batch_size", 32))
    combined = pd.concat([index.passages, extra], ignore_index=True)
    bm25 = Bm25.fit(
        passage_text(combined), k1=options.get("bm25_k1", 1.5), b=options.get("bm25_b", 0.75)
    )
    return replace(
        index,
        passages=combined,
        embeddings=np.concatenate(
            [index.embeddings, vectors.reshape(-1, index.embeddings.shape[1])]
        ),
        bm25=bm25,
    )


def retrieve_contexts(
    questions: pd.DataFrame, index: RetrievalIndex, encoder: TextEncoder, k: int
) -> pd.DataFrame:
    """Add the top-``k`` passages (ids, texts, foci, URLs, documents) of every non-forecast question.

    ``confidence``: :func:`confidence` of the question's search (NaN for forecast questions).
    """
    ask = questions["kind"] != "forecast"
    hits = index.search(questions.loc[ask, "question"].tolist(), encoder, k=k)
    empty: list = []
    cols = {
        "passage_ids": [],
        "passage_texts": [],
        "passage_foci": [],
        "passage_urls": [],
        "passage_docs": [],
    }
    sure = []
    it = iter(hits)
    for use in ask:
        h = next(it) if use else None
        for key, src in (("passage_ids", "passage_id"), ("passage_texts", "text"), ("passage_foci", "focus"),
                         ("passage_urls", "url"), ("passage_docs", "doc_id")):  # fmt: skip
            cols[key].append(h[src].tolist() if h is not None else list(empty))
        sure.append(confidence(h) if h is not None else np.nan)
    out = questions.assign(**cols, confidence=sure)
    return out.assign(**_retrieval_hits(out, index))


def context_passages(row: pd.Series) -> list[dict[str, str]]:
    """The passages of one :func:`retrieve_contexts` row as the prompt shows them (focus, text, URL)."""
    return [
        {"focus": f, "text": t, "url": u}
        for f, t, u in zip(
            row["passage_foci"], row["passage_texts"], row["passage_urls"], strict=True
        )
    ]


def _siblings(a: str, b: str) -> bool:
    """Two foci about the same condition: one's words contain the other's ("ovarian cancer",
    "childhood ovarian cancer"), compared case- and punctuation-insensitively."""
    x, y = set(focus_key(a).split()), set(focus_key(b).split())
    return bool(x) and bool(y) and (x <= y or y <= x)


def _retrieval_hits(contexts: pd.DataFrame, index: RetrievalIndex) -> dict[str, list]:
    """Per question: does the index hold a sibling document, and did the top k retrieve one?

    A sibling is a passage whose focus is the question's focus, broader or narrower (see
    :func:`_siblings`; the held-out split never leaves the very same focus in the index).
    ``hit_topic``: a passage of the question's embedding topic was retrieved (needs ``topic`` on
    both the questions and the index passages; NaN otherwise).
    """
    foci = sorted(set(index.passages["focus"]))
    has_sibling, hit_focus, hit_topic = [], [], []
    topic_of = dict(
        zip(
            index.passages["passage_id"],
            index.passages.get("topic", pd.Series(dtype=float)),
            strict=False,
        )
    )
    for _, r in contexts.iterrows():
        focus = r["focus"] or ""
        sib = r["kind"] != "forecast" and bool(focus) and any(_siblings(focus, f) for f in foci)
        has_sibling.append(sib)
        hit_focus.append(
            float(any(_siblings(focus, f) for f in r["passage_foci"])) if sib else np.nan
        )
        t = r.get("topic", np.nan)
        found = [topic_of.get(p) for p in r["passage_ids"]]
        hit_topic.append(
            float(t in found) if pd.notna(t) and topic_of and r["kind"] != "forecast" else np.nan
        )
    return {"has_sibling": has_sibling, "hit_focus": hit_focus, "hit_topic": hit_topic}
