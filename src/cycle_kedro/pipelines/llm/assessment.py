"""Nodes that score the held-out answers and summarise them side by side.

Headline numbers are on real questions (kind ``medquad``); forecast explanations are a separate
table. The safety pass, scores and bootstrap CIs are :mod:`cycle_kedro.assistant.evaluation`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.assistant.evaluation import assess_answers, summarise
from cycle_kedro.tables import mlflow_metrics

logger = logging.getLogger(__name__)


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
    return assess_answers(answers, contexts, bertscore_encoder, options, prompt)


def summarise_evaluation(
    scores: pd.DataFrame, options: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Headline table (real held-out questions, CIs vs base), forecast table, and MLflow metrics."""
    real = scores[scores["kind"] == "medquad"]
    table = summarise(real, options["n_bootstrap"], options["seed"]).assign(subset="medquad")
    recall = real.drop_duplicates("question_id")
    table["recall_topic_at_k"] = float(recall["hit_topic"].mean())
    table["recall_focus_at_k"] = (
        float(recall["hit_focus"].mean()) if recall["hit_focus"].notna().any() else np.nan
    )
    forecast = scores[(scores["kind"] == "forecast") & (scores["system"] != "retrieval")]
    fc_table = (
        summarise(forecast, options["n_bootstrap"], options["seed"]).assign(subset="forecast")
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
