"""Nodes of the ``llm`` pipeline that evaluate: held-out answers of base, LoRA and retrieval, scores, the report."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cycle_kedro.tables import markdown_table, mlflow_metrics

from . import metrics as M
from . import modeling as T

if TYPE_CHECKING:
    from bert_score import BERTScorer
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from cycle_kedro.datasets.hf import LoraAdapter

logger = logging.getLogger(__name__)


def _predict(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    instructions: pd.DataFrame,
    options: dict[str, Any],
) -> pd.DataFrame:
    test = instructions[instructions["split"] == "test"]
    device = T.resolve_device(options["device"])
    nll, count = T.score_answers(
        model, T.encode_rows(tokenizer, test, options["max_length"]), pad=T.pad_id(tokenizer),
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


def _per_answer(
    predictions: dict[str, pd.DataFrame], instructions: pd.DataFrame, encoder: BERTScorer
) -> pd.DataFrame:
    """One row per (model, held-out answer) with ROUGE-L and BERTScore F1 (every model in one call)."""
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
        df["prediction"].tolist(), df["answer"].tolist(), encoder
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
    encoder: BERTScorer,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Perplexity, BLEU, ROUGE-L and BERTScore F1 per model, overall and per kind of question.

    Perplexity pools answer tokens (exp of total NLL / total tokens); BLEU is corpus BLEU;
    ROUGE-L and BERTScore are means over answers; ``numbers_supported`` is the mean share of an
    answer's numbers found in its question or reference (answers with numbers only). Returns
    the table and the same numbers as MLflow metrics ``llm.<model>[.<kind>].<metric>``, plus ``llm.perplexity_reduction``
    (1 - LoRA/base perplexity on all held-out answers). ``encoder``: the BERTScore encoder
    (catalog ``bertscore_encoder``).
    """
    scores = _per_answer(
        {"base": base, "lora": lora, "retrieval": retrieval}, instructions, encoder
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
    values = {}
    for r in table.itertuples():
        stem = f"llm.{r.model}" + ("" if r.subset == "all" else f".{r.subset}")
        for col in ("perplexity", "bleu", "rouge_l", "bertscore_f1", "numbers_supported"):
            values[f"{stem}.{col}"] = getattr(r, col)
    return mlflow_metrics(values)


def write_sample_report(  # noqa: PLR0917 (a node: pipeline.py binds its inputs by name)
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
    lines = ["# LLM evaluation on held-out topics", "", _evaluation_markdown(evaluation), ""]
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


def _evaluation_markdown(df: pd.DataFrame) -> str:
    """The evaluation table in markdown: scores with 2 (BLEU, ROUGE-L, perplexity) or 3 decimals."""
    fmt = df.copy()
    for col in ("perplexity", "bleu", "rouge_l"):
        fmt[col] = fmt[col].map(lambda v: "n/a" if pd.isna(v) else f"{v:.2f}")
    for col in ("bertscore_f1", "numbers_supported"):
        fmt[col] = fmt[col].map(lambda v: "n/a" if pd.isna(v) else f"{v:.3f}")
    return markdown_table(fmt)
