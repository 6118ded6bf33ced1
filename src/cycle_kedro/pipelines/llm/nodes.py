"""Nodes of the ``llm`` pipeline: corpus, topics, held-out split, LoRA training and evaluation."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cycle_kedro.validation import DataValidationError

from . import corpus as C
from . import metrics as M
from . import modeling as T

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from cycle_kedro.datasets.hf import LoraAdapter

logger = logging.getLogger(__name__)

CORPUS_COLUMNS = ["row_id", "kind", "question", "answer", "focus", "qtype", "source"]
_TEMPLATE_WORDS = [
    "information", "symptoms", "symptom", "signs", "treatments", "treatment", "causes", "cause",
    "inherited", "diagnose", "diagnosis", "risk", "prevent", "outlook", "research", "studies",
    "clinical", "trials", "complications", "genetic", "changes", "related", "people", "affected",
    "frequency", "stages", "need", "know", "having", "does", "condition",
]  # fmt: skip


def convert_base_model(options: dict[str, Any]) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load the base model (GGUF from a package, or a local HF directory) for saving as safetensors.

    The default GGUF file is Q4_1: "base" then means those 4-bit weights de-quantised to
    ``options["dtype"]``.
    """
    model, tokenizer = T.load_base(options["source"], options["dtype"])
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("Base model %s: %.1fM parameters", type(model).__name__, n_params / 1e6)
    return model, tokenizer


def write_forecast_qa(forecast: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
    """Question/answer pairs explaining each woman's predicted next cycle, from the numbers only.

    Rows without a finite prediction or interval are skipped (logged). ``options``: ``cohort``
    (label), ``max_rows`` and ``seed`` (which women and which question wording).
    """
    name = f"{options['cohort']}.next_cycle_forecast"
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


def format_instructions(
    model_input: pd.DataFrame, tokenizer: PreTrainedTokenizerBase, options: dict[str, Any]
) -> pd.DataFrame:
    """Add ``prompt`` (system + question, ending with the assistant turn) and ``completion`` columns."""
    pairs = [
        T.chat_pair(tokenizer, options["system"], q, a)
        for q, a in zip(model_input["question"], model_input["answer"], strict=True)
    ]
    return model_input.assign(prompt=[p for p, _ in pairs], completion=[c for _, c in pairs])


def _encoded(tokenizer: PreTrainedTokenizerBase, df: pd.DataFrame, max_length: int) -> list:
    return [
        T.encode_pair(tokenizer, p, c, max_length)
        for p, c in zip(df["prompt"], df["completion"], strict=True)
    ]


def train_lora_adapter(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    instructions: pd.DataFrame,
    lora: dict[str, Any],
    training: dict[str, Any],
) -> tuple[PeftModel, list[float]]:
    """LoRA-tune the base model on the training split (loss on answer tokens only).

    Returns the PEFT model (the catalog saves only the adapter) and the loss of every step.
    """
    from peft import LoraConfig, get_peft_model  # noqa: PLC0415

    T.seed_everything(training["seed"])
    config = LoraConfig(
        r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
        target_modules=list(lora["target_modules"]), bias="none", task_type="CAUSAL_LM",
    )  # fmt: skip
    model = get_peft_model(base_model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info(
        "LoRA: %d trainable parameters of %d", trainable, sum(p.numel() for p in model.parameters())
    )
    examples = _encoded(
        tokenizer, instructions[instructions["split"] == "train"], training["max_length"]
    )
    losses = T.train_loop(
        model, examples, pad=T.pad_id(tokenizer), epochs=training["epochs"],
        batch_size=training["batch_size"], learning_rate=training["learning_rate"],
        weight_decay=training["weight_decay"], seed=training["seed"], device=T.resolve_device(training["device"], training.get("torch_threads")),
    )  # fmt: skip
    return model.to("cpu"), losses


def _predict(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    instructions: pd.DataFrame,
    options: dict[str, Any],
) -> pd.DataFrame:
    test = instructions[instructions["split"] == "test"]
    device = T.resolve_device(options["device"], options.get("torch_threads"))
    nll, count = T.score_answers(
        model, _encoded(tokenizer, test, options["max_length"]), pad=T.pad_id(tokenizer),
        batch_size=options["batch_size"], device=device,
    )  # fmt: skip
    answers = T.generate(
        model, tokenizer, test["prompt"].tolist(), max_new_tokens=options["max_new_tokens"],
        batch_size=options["batch_size"], device=device, max_prompt_tokens=options["max_length"],
    )  # fmt: skip
    return pd.DataFrame(
        {"row_id": test["row_id"].to_numpy(), "prediction": answers, "nll": nll, "n_tokens": count}
    )


def predict_base_answers(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    instructions: pd.DataFrame,
    options: dict[str, Any],
) -> pd.DataFrame:
    """Greedy answers and answer-token NLL of the base model on the held-out topics."""
    return _predict(base_model, tokenizer, instructions, options)


def predict_lora_answers(
    base_model: PreTrainedModel,
    adapter: LoraAdapter,
    tokenizer: PreTrainedTokenizerBase,
    instructions: pd.DataFrame,
    options: dict[str, Any],
) -> pd.DataFrame:
    """Greedy answers and answer-token NLL of base + saved LoRA adapter on the held-out topics."""
    from cycle_kedro.datasets.hf import attach_adapter  # noqa: PLC0415

    return _predict(attach_adapter(base_model, adapter), tokenizer, instructions, options)


def predict_retrieval_answers(instructions: pd.DataFrame) -> pd.DataFrame:
    """Baseline: the answer of the most similar training question (TF-IDF cosine); no NLL."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415

    train = instructions[instructions["split"] == "train"]
    test = instructions[instructions["split"] == "test"]
    vec = TfidfVectorizer(sublinear_tf=True).fit(train["question"])
    sims = (vec.transform(test["question"]) @ vec.transform(train["question"]).T).toarray()
    best = sims.argmax(axis=1)
    return pd.DataFrame(
        {
            "row_id": test["row_id"].to_numpy(),
            "prediction": train["answer"].to_numpy()[best],
            "nll": np.nan,
            "n_tokens": 0,
        }
    )


def _bertscore_dir(bert: dict[str, Any]) -> Any:
    if bert.get("path"):
        return bert["path"]
    return T.package_dir(bert["package"]) / bert["subdir"]


def _per_answer(
    predictions: dict[str, pd.DataFrame], instructions: pd.DataFrame, bert: dict[str, Any]
) -> pd.DataFrame:
    """One row per (model, held-out answer) with ROUGE-L and BERTScore F1 (encoder loaded once)."""
    refs = instructions[["row_id", "kind", "question", "answer"]]
    df = pd.concat(
        [
            p.merge(refs, on="row_id", validate="one_to_one").assign(model=m)
            for m, p in predictions.items()
        ],
        ignore_index=True,
    )
    df["rouge_l"] = M.rouge_l_scores(df["prediction"].tolist(), df["answer"].tolist())
    df["numbers_supported"] = [
        M.numbers_supported(p, f"{q} {a}")
        for p, q, a in zip(df["prediction"], df["question"], df["answer"], strict=True)
    ]
    df["bertscore_f1"] = M.bertscore_f1_scores(
        df["prediction"].tolist(), df["answer"].tolist(), _bertscore_dir(bert), bert["num_layers"]
    )
    return df


def _summary(part: pd.DataFrame) -> dict[str, float]:
    scored = part["nll"].notna().all()
    return {
        "n": len(part),
        "perplexity": T.perplexity(float(part["nll"].sum()), int(part["n_tokens"].sum()))
        if scored
        else np.nan,
        "bleu": M.bleu(part["prediction"].tolist(), part["answer"].tolist()),
        "rouge_l": float(part["rouge_l"].mean()),
        "bertscore_f1": float(part["bertscore_f1"].mean()),
        "numbers_supported": float(
            part["numbers_supported"].mean()
        ),  # NaN if no answer has numbers
    }


def evaluate_answers(
    base: pd.DataFrame,
    lora: pd.DataFrame,
    retrieval: pd.DataFrame,
    instructions: pd.DataFrame,
    options: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Perplexity, BLEU, ROUGE-L and BERTScore F1 per model, overall and per kind of question.

    Perplexity pools answer tokens (exp of total NLL / total tokens); BLEU is corpus BLEU;
    ROUGE-L and BERTScore are means over answers; ``numbers_supported`` is the mean share of an
    answer's numbers found in its question or reference (answers with numbers only). Returns
    the table and the same numbers as MLflow metrics ``llm.<model>[.<kind>].<metric>``, plus ``llm.perplexity_reduction``
    (1 - LoRA/base perplexity on all held-out answers).
    """
    scores = _per_answer(
        {"base": base, "lora": lora, "retrieval": retrieval}, instructions, options["bertscore"]
    )
    rows = [
        {"model": model, "subset": subset, **_summary(part if subset == "all" else part[part["kind"] == subset])}
        for model, part in scores.groupby("model", sort=False)
        for subset in ["all", *sorted(part["kind"].unique())]
    ]  # fmt: skip
    table = pd.DataFrame(rows)
    metrics = _as_metrics(table)
    ppl = table[table["subset"] == "all"].set_index("model")["perplexity"]
    reduction = float(1 - ppl["lora"] / ppl["base"])
    metrics["llm.perplexity_reduction"] = {"value": reduction, "step": 0}
    logger.info(
        "Held-out perplexity base %.2f -> LoRA %.2f (%.0f%% lower)",
        ppl["base"], ppl["lora"], 100 * reduction,
    )  # fmt: skip
    return table, metrics


def _as_metrics(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{"llm.<model>[.<kind>].<metric>": {"value": v, "step": 0}}`` for every finite number."""
    metrics = {}
    for r in table.itertuples():
        stem = f"llm.{r.model}" + ("" if r.subset == "all" else f".{r.subset}")
        for col in ("perplexity", "bleu", "rouge_l", "bertscore_f1", "numbers_supported"):
            if np.isfinite(getattr(r, col)):
                metrics[f"{stem}.{col}"] = {"value": float(getattr(r, col)), "step": 0}
    return metrics


def write_sample_report(  # noqa: PLR0917 (a node: inputs are positional)
    base: pd.DataFrame,
    lora: pd.DataFrame,
    retrieval: pd.DataFrame,
    instructions: pd.DataFrame,
    evaluation: pd.DataFrame,
    options: dict[str, Any],
) -> str:
    """Markdown: the evaluation table and a few held-out questions answered side by side."""
    test = instructions[instructions["split"] == "test"].set_index("row_id")
    preds = {
        n: p.set_index("row_id")["prediction"]
        for n, p in (("Base", base), ("LoRA", lora), ("Retrieval", retrieval))
    }
    picks = (
        test.groupby("kind", group_keys=False)
        .head(max(options["n_samples"] // 2, 1))
        .index[: options["n_samples"]]
    )
    lines = ["# LLM evaluation on held-out topics", "", _markdown_table(evaluation), ""]
    for rid in picks:
        row = test.loc[rid]
        lines += [
            f"## {row['focus']} (topic {row['topic']}, {row['kind']})",
            "",
            f"**Question.** {row['question']}",
            "",
        ]
        lines += [f"**Reference.** {row['answer']}", ""]
        lines += [f"**{n}.** {p.get(rid, '')}" + "\n" for n, p in preds.items()]
    return "\n".join(lines)


def _markdown_table(df: pd.DataFrame) -> str:
    fmt = df.copy()
    for col in ("perplexity", "bleu", "rouge_l"):
        fmt[col] = fmt[col].map(lambda v: "n/a" if pd.isna(v) else f"{v:.2f}")
    for col in ("bertscore_f1", "numbers_supported"):
        fmt[col] = fmt[col].map(lambda v: "n/a" if pd.isna(v) else f"{v:.3f}")
    head = "| " + " | ".join(fmt.columns) + " |"
    sep = "|" + "---|" * len(fmt.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in fmt.itertuples(index=False)]
    return "\n".join([head, sep, *body])
