"""Nodes of the ``llm`` pipeline that build the data: forecast Q&A, the curated corpus, topics, the held-out split."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.validation import DataValidationError

from . import corpus as C

logger = logging.getLogger(__name__)

CORPUS_COLUMNS = ["row_id", "kind", "question", "answer", "focus", "qtype", "source"]
_TEMPLATE_WORDS = [
    "information", "symptoms", "symptom", "signs", "treatments", "treatment", "causes", "cause",
    "inherited", "diagnose", "diagnosis", "risk", "prevent", "outlook", "research", "studies",
    "clinical", "trials", "complications", "genetic", "changes", "related", "people", "affected",
    "frequency", "stages", "need", "know", "having", "does", "condition",
]  # fmt: skip


def write_forecast_qa(forecast: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
    """Question/answer pairs explaining each woman's predicted next cycle, from the numbers only.

    Rows without a finite prediction or interval are skipped (logged). ``options``: ``cohort``
    (label), ``max_rows`` and ``seed`` (which women and which question wording).
    """
    name = f"forecasting.{options['cohort']}.next_cycle_forecast"
    C.check_forecast(forecast, name)
    needed = ["predicted_length", "lower_80", "upper_80", "history_mean", "last_cycle_length"]
    usable = forecast[forecast[needed].apply(lambda c: c.map(C.is_finite)).all(axis=1)]
    if len(usable) < len(forecast):
        logger.warning(
            "%s: %d row(s) without finite numbers skipped", name, len(forecast) - len(usable)
        )
    usable = usable.sample(frac=1.0, random_state=options["seed"]).head(options["max_rows"])
    rng = np.random.default_rng(options["seed"])
    asks = rng.integers(0, len(C.ASKS), size=len(usable))
    return pd.DataFrame(
        {
            "question": [
                C.forecast_question(r, C.ASKS[a])
                for (_, r), a in zip(usable.iterrows(), asks, strict=True)
            ],
            "answer": [C.forecast_answer(r) for _, r in usable.iterrows()],
            "focus": f"{options['cohort']} next-cycle forecast",
            "qtype": "forecast explanation",
            "source": [f"{name} ({m})" for m in usable["model"]],
        }
    )


def curate_corpus(
    medquad_qa: pd.DataFrame,
    fedcycle_qa: pd.DataFrame,
    synthetic_qa: pd.DataFrame,
    options: dict[str, Any],
) -> pd.DataFrame:
    """Normalise, drop exact and near duplicates, filter by length and truncate long answers."""
    parts = [
        medquad_qa.assign(kind="medquad"),
        fedcycle_qa.assign(kind="forecast"),
        synthetic_qa.assign(kind="forecast"),
    ]
    df = pd.concat([p.reindex(columns=CORPUS_COLUMNS[1:]) for p in parts], ignore_index=True)
    for col in ("question", "answer"):
        df[col] = df[col].fillna("").map(C.normalise_text)
    df["focus"] = df["focus"].fillna(df["question"]).map(C.normalise_text)
    n0 = len(df)
    df = df[(df["question"] != "") & (df["answer"] != "")]
    key = df["question"].str.lower() + "\n" + df["answer"].str.lower()
    df = df[~key.duplicated()].reset_index(drop=True)
    n_exact = len(df)
    near = C.near_duplicates(
        (df["question"] + " " + df["answer"]).tolist(),
        options["near_duplicate_threshold"],
        options["shingle_size"],
    )
    df = df.drop(index=near).reset_index(drop=True)
    words = df["answer"].map(C.word_count)
    df = df[
        (words >= options["min_answer_words"])
        & (df["question"].map(C.word_count) <= options["max_question_words"])
    ]
    df = df.assign(
        answer=df["answer"].map(lambda a: C.truncate_words(a, options["max_answer_words"]))
    )
    logger.info(
        "Corpus: %d pairs -> %d after exact dedup -> %d after near dedup -> %d after length filter",
        n0, n_exact, n_exact - len(near), len(df),
    )  # fmt: skip
    if df.empty:
        raise DataValidationError(
            "llm corpus: no question/answer pair left after curation (check llm_curation)"
        )
    return df.reset_index(drop=True).assign(row_id=lambda d: d.index.astype(int))[CORPUS_COLUMNS]


def _top_terms(weights: np.ndarray, vocab: np.ndarray, k: int) -> str:
    return ", ".join(vocab[np.argsort(-weights)[:k]])


def cluster_topics(
    corpus: pd.DataFrame, options: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster MedQuAD questions by topic (TF-IDF + seeded KMeans); forecast pairs get one topic per cohort.

    The text clustered is the question plus the first ``answer_words`` words of its answer
    (MedQuAD questions are templates such as "What is (are) X ?"; template words are stop words).
    Returns the corpus with ``topic`` and a table of top terms per topic.
    """
    from sklearn.cluster import KMeans  # noqa: PLC0415
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer  # noqa: PLC0415

    head = corpus["answer"].map(lambda a: " ".join(a.split()[: options["answer_words"]]))
    stop = sorted(ENGLISH_STOP_WORDS.union(_TEMPLATE_WORDS, options.get("extra_stop_words", [])))
    vec = TfidfVectorizer(
        stop_words=stop, min_df=1, sublinear_tf=True, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b"
    )
    x = vec.fit_transform(corpus["question"] + " " + head)
    is_mq = (corpus["kind"] == "medquad").to_numpy()
    topic = np.full(len(corpus), -1, dtype=int)
    n_topics = min(options["n_topics"], int(is_mq.sum()))
    if n_topics > 0:
        km = KMeans(n_clusters=n_topics, random_state=options["seed"], n_init=10)
        topic[is_mq] = km.fit_predict(x[is_mq])
    for j, focus in enumerate(sorted(corpus.loc[~is_mq, "focus"].unique())):
        topic[(~is_mq) & (corpus["focus"] == focus).to_numpy()] = n_topics + j
    out = corpus.assign(topic=topic)
    vocab = np.asarray(vec.get_feature_names_out())
    rows = []
    for t in sorted(set(topic)):
        members = topic == t
        rows.append({
            "topic": int(t), "kind": out.loc[members, "kind"].iloc[0], "n_questions": int(members.sum()),
            "top_terms": _top_terms(np.asarray(x[members].mean(axis=0)).ravel(), vocab, options["top_terms"]),
            "example_question": out.loc[members, "question"].iloc[0],
        })  # fmt: skip
    terms = pd.DataFrame(rows)
    for r in terms.itertuples():
        logger.info("Topic %d (%s, %d questions): %s", r.topic, r.kind, r.n_questions, r.top_terms)
    return out, terms


def _components(df: pd.DataFrame) -> np.ndarray:
    """Label rows so that rows sharing a topic OR a focus get the same label (union-find)."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a

    for t, f in zip(df["topic"], df["focus"].str.lower(), strict=True):
        parent[find(f"t:{t}")] = find(f"f:{f}")
    return np.array([find(f"t:{t}") for t in df["topic"]])


def _balanced_head(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Up to ``n`` rows, seeded, alternating between kinds so each kind is represented."""
    shuffled = df.sample(frac=1.0, random_state=seed)
    rank = shuffled.groupby("kind").cumcount()
    return (
        shuffled.assign(_r=rank.to_numpy())
        .sort_values(["_r", "kind"], kind="stable")
        .head(n)
        .drop(columns="_r")
    )


def split_by_topic(corpus_topics: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
    """Hold out whole topic clusters (and every pair sharing their MedQuAD focus), per kind.

    Within each kind, seeded whole components go to test until ``test_fraction`` of its rows is
    reached, always leaving one component in train. Then each split is capped at
    ``max_train_examples`` / ``max_test_examples`` rows, alternating kinds.
    """
    df = corpus_topics.assign(component=_components(corpus_topics), split="train")
    rng = np.random.default_rng(options["seed"])
    for _kind, rows in df.groupby("kind"):
        comps = rows["component"].unique()
        sizes = rows["component"].value_counts()
        n_test = 0
        for comp in rng.permutation(comps)[: max(len(comps) - 1, 0)]:
            if n_test >= options["test_fraction"] * len(rows):
                break
            df.loc[df["component"] == comp, "split"] = "test"
            n_test += sizes[comp]
    train = _balanced_head(
        df[df["split"] == "train"], options["max_train_examples"], options["seed"]
    )
    test = _balanced_head(df[df["split"] == "test"], options["max_test_examples"], options["seed"])
    if train.empty or test.empty:
        raise DataValidationError("llm corpus: too few topics to hold any out (need 2+ components)")
    logger.info(
        "Split: %d train, %d test rows; test topics %s",
        len(train),
        len(test),
        sorted(test["topic"].unique()),
    )
    return pd.concat([train, test]).drop(columns="component").reset_index(drop=True)
