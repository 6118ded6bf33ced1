"""Node that writes the llm pipeline's Markdown report: tables with CIs, topics, sample answers."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cycle_kedro.tables import markdown_table

_SHOWN = ["perplexity", "bleu", "rouge_l", "bertscore_f1", "flagged_rate", "flagged_contact_rate",
          "abstention_rate", "numbers_supported", "ref_tokens_cut"]  # fmt: skip


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
        "# Assistant: grounded answers on held-out questions", "",
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
