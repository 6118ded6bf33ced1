"""Nodes that answer the held-out questions with every system and evaluate them side by side.

Systems: ``base`` and ``base_rag`` (the base model without / with retrieved passages), ``lora`` and
``lora_rag`` (base + the RAFT-trained adapter, which is attached to a copy: the base model is never
changed), ``retrieval`` (the top passage). Headline numbers are on real questions (kind
``medquad``); forecast explanations are a separate table.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cycle_kedro.tables import markdown_table, mlflow_metrics

from . import evaluation as E
from . import metrics as M

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from cycle_kedro.datasets.hf import LoraAdapter


logger = logging.getLogger(__name__)

_SHOWN = ["perplexity", "bleu", "rouge_l", "bertscore_f1", "flagged_rate", "flagged_contact_rate",
          "abstention_rate", "numbers_supported", "ref_tokens_cut"]  # fmt: skip


def answer_base(
    base_model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    contexts: pd.DataFrame,
    options: dict[str, Any],
    prompt: dict[str, Any],
) -> pd.DataFrame:
    """Raw answers and reference NLL of the base model, without and with retrieved passages."""
    systems = {"base": False, "base_rag": True}
    return E.answer_with_model(base_model, tokenizer, contexts, systems, options=options, prompt=prompt)


def answer_lora(  # noqa: PLR0917 (a node: inputs are positional)
    base_model: PreTrainedModel,
    adapter: LoraAdapter,
    tokenizer: PreTrainedTokenizerBase,
    contexts: pd.DataFrame,
    options: dict[str, Any],
    prompt: dict[str, Any],
) -> pd.DataFrame:
    """Raw answers and reference NLL of base + LoRA adapter, without and with retrieved passages."""
    from cycle_kedro.datasets.hf import attach_adapter  # noqa: PLC0415

    model = attach_adapter(base_model, adapter, merge=True)
    systems = {"lora": False, "lora_rag": True}
    return E.answer_with_model(model, tokenizer, contexts, systems, options=options, prompt=prompt)


def answer_retrieval_only(contexts: pd.DataFrame) -> pd.DataFrame:
    """The top retrieved passage as the answer."""
    return E.answer_with_retrieval(contexts)


def score_answers(  # noqa: PLR0917 (a node: inputs are positional)
    base: pd.DataFrame,
    lora: pd.DataFrame,
    retrieval: pd.DataFrame,
    contexts: pd.DataFrame,
    bertscore_encoder: Any,
    options: dict[str, Any],
    prompt: dict[str, Any],
) -> pd.DataFrame:
    """Per-answer rows: safety pass (flags, final answer, sources), ROUGE-L, BERTScore F1, NLL."""
    answers = pd.concat([base, lora, retrieval], ignore_index=True)
    safe = E.apply_safety(answers, contexts, options["safety"], prompt, options["cite_min_overlap"])
    return E.score_rows(safe, contexts, _bertscorer(bertscore_encoder, options), options)


def _bertscorer(encoder: Any, options: dict[str, Any]) -> Any:
    def score(preds: list[str], refs: list[str]) -> list[float]:
        return M.bertscore_f1_scores(preds, refs, encoder)

    return score


def summarise_evaluation(
    scores: pd.DataFrame, options: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Headline table (real held-out questions, CIs vs base), forecast table, and MLflow metrics."""
    real = scores[scores["kind"] == "medquad"]
    table = E.summarise(real, options["n_bootstrap"], options["seed"]).assign(subset="medquad")
    recall = real.drop_duplicates("question_id")
    table["recall_topic_at_k"] = float(recall["hit_topic"].mean())
    table["recall_focus_at_k"] = (
        float(recall["hit_focus"].mean()) if recall["hit_focus"].notna().any() else np.nan
    )
    forecast = scores[(scores["kind"] == "forecast") & (scores["system"] != "retrieval")]
    fc_table = (
        E.summarise(forecast, options["n_bootstrap"], options["seed"]).assign(subset="forecast")
        if not forecast.empty else pd.DataFrame(columns=["system", "subset"])
    )  # fmt: skip
    values = {}
    for t in (table, fc_table):
        for r in t.to_dict("records"):
            stem = f"llm.{r['system']}" + ("" if r["subset"] == "medquad" else f".{r['subset']}")
            values |= {
                f"{stem}.{k}": v for k, v in r.items()
                if k not in {"system", "subset"} and isinstance(v, (int, float, np.number)) and pd.notna(v)
            }  # fmt: skip
    metrics = mlflow_metrics(values)
    for r in table.itertuples():
        logger.info(
            "%s: ROUGE-L %.1f, BERTScore %.3f, ppl %.2f",
            r.system,
            r.rouge_l,
            r.bertscore_f1,
            r.perplexity,
        )
    return table, fc_table, metrics


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"system": df["system"], "n": df["n"]})
    for col in _SHOWN:
        if col in df:
            out[col] = df[col].map(
                lambda v: "n/a" if pd.isna(v) else f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
            )
    for key in ("ppl_change", "d_rouge_l", "d_bertscore_f1", "d_bleu"):
        if key in df:
            out[key] = [
                "" if pd.isna(p) else f"{p:+.3g} [{lo:+.3g}, {hi:+.3g}]"
                for p, lo, hi in zip(df[key], df[f"{key}_lo"], df[f"{key}_hi"], strict=True)
            ]
    return out


def write_grounded_report(
    evaluation: pd.DataFrame,
    forecast_evaluation: pd.DataFrame,
    topics: pd.DataFrame,
    scores: pd.DataFrame,
    options: dict[str, Any],
) -> str:
    """Markdown: headline table with CIs, forecast table, topics, and a few answers side by side."""
    n_q = int(evaluation["n"].max()) if len(evaluation) else 0
    lines = [
        "# LLM v2: grounded answers on held-out questions", "",
        f"{n_q} real questions from held-out documents and foci (never indexed, never trained on). "
        "Differences to `base` with paired bootstrap 95% CIs; `ppl_change` is relative.", "",
        markdown_table(_fmt(evaluation)), "", "## Forecast explanations (separate, not in the headline)", "",
        markdown_table(_fmt(forecast_evaluation)) if len(forecast_evaluation) else "(none)", "",
        "## Question topics (MiniLM embeddings, k-means, c-TF-IDF terms)", "",
        markdown_table(topics.head(options.get("n_topics_shown", 30))), "", "## Sample answers", "",
    ]  # fmt: skip
    real = scores[scores["kind"] == "medquad"]
    for qid in real["question_id"].drop_duplicates().head(options["n_samples"]):
        rows = real[real["question_id"] == qid]
        first = rows.iloc[0]
        lines += [f"### {first['question']}", "", f"**Reference.** {first['reference']}", ""]
        for r in rows.itertuples():
            src = ", ".join(r.sources) if len(r.sources) else "-"
            lines += [f"**{r.system}.** {r.answer}  \n*sources:* {src}", ""]
    return "\n".join(lines)
