"""Node that writes the llm pipeline's Markdown report: the settings side by side, rules, trade-off, samples."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cycle_kedro.tables import markdown_table

_SHOWN = ["perplexity", "bleu", "rouge_l", "bertscore_f1", "recall", "k_precision", "unsupported_share",
          "faithful_or_abstained", "flagged_rate", "flagged_contact_rate", "flagged_unsupported_rate",
          "abstention_rate", "gated_rate", "numbers_supported", "unflagged_invented", "ref_tokens_cut"]  # fmt: skip
_DIFFS = ("ppl_change", "d_rouge_l", "d_recall", "d_k_precision", "d_bertscore_f1", "d_bleu")
_SIDE = ("rouge_l", "recall", "k_precision", "faithful_or_abstained", "abstention_rate")
_TITLES = {"out_of_kb": "Out-of-KB (held-out documents, never indexed)",
           "in_kb": "In-KB (held-out questions, their documents indexed)",
           "dev": "Dev (our consumer-worded questions; fixes the rules)"}  # fmt: skip


def _num(v: Any) -> str:
    return "n/a" if pd.isna(v) else f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"system": df["system"], "n": df["n"]})
    for col in _SHOWN:
        if col in df:
            out[col] = df[col].map(_num)
    for key in _DIFFS:
        if key in df:
            out[key] = [
                "" if pd.isna(p) else f"{p:+.3g} [{lo:+.3g}, {hi:+.3g}]"
                for p, lo, hi in zip(df[key], df[f"{key}_lo"], df[f"{key}_hi"], strict=True)
            ]
    return out


def _side_by_side(evaluation: pd.DataFrame) -> pd.DataFrame:
    """One row per system, a column per (metric, setting)."""
    wide = evaluation.pivot_table(index="system", columns="setting", values=list(_SIDE), sort=False)
    wide = wide.reindex(columns=[(m, s) for m in _SIDE for s in _TITLES if (m, s) in wide.columns])
    order = list(dict.fromkeys(evaluation["system"]))
    out = wide.reindex(order).map(_num)
    out.columns = [f"{m} ({s})" for m, s in out.columns]
    return out.reset_index()


def _samples(scores: pd.DataFrame, kind: str, n: int) -> list[str]:
    part = scores[scores["kind"] == kind]
    lines = []
    for qid in part["question_id"].drop_duplicates().head(n):
        rows = part[part["question_id"] == qid]
        first = rows.iloc[0]
        lines += [
            f"### {first['question']}",
            "",
            f"**Reference.** {first['reference'] or '(none: not covered)'}",
            "",
        ]
        for r in rows.itertuples():
            src = ", ".join(r.sources) if len(r.sources) else "-"
            lines += [f"**{r.system}.** {r.answer}  \n*sources:* {src}", ""]
    return lines


def write_grounded_report(  # noqa: PLR0913, PLR0917 (a node: inputs are positional)
    evaluation: pd.DataFrame,
    forecast_evaluation: pd.DataFrame,
    topics: pd.DataFrame,
    scores: pd.DataFrame,
    gating_tradeoff: pd.DataFrame,
    dev_choices: pd.DataFrame,
    options: dict[str, Any],
    gating: dict[str, Any],
    ask: dict[str, Any],
) -> str:
    """Markdown: the settings side by side, their tables with CIs, the dev rules, the trade-off, topics, answers."""
    n = evaluation.groupby("setting")["n"].max().to_dict()
    lines = [
        "# Assistant: grounded answers, in the knowledge base and out of it", "",
        f"Three settings side by side: out-of-KB ({n.get('out_of_kb', 0)} questions of held-out documents and foci, "
        f"never indexed, never trained on), in-KB ({n.get('in_kb', 0)} held-out questions whose documents are "
        f"indexed, never trained on) and dev ({n.get('dev', 0)} of our consumer-worded questions with an answer in "
        "the knowledge base, beside those it does not cover; they alone fix the gating score and threshold and the default system). Recall: share of the "
        "reference's tokens in the answer; K-Precision: share of the answer's tokens in the retrieved passages "
        "(Adlakha et al. 2024); abstentions claim nothing. Differences to `base` with paired bootstrap 95% CIs; "
        "`ppl_change` is relative.", "",
        markdown_table(_side_by_side(evaluation)), "",
        f"`cycle-ask`'s default system: **{ask['system']}**; gating score **{gating['score']}**, threshold "
        f"**{gating['threshold']}**.", "",
        "## Rules fixed on the dev set", "", markdown_table(dev_choices), "",
    ]  # fmt: skip
    for setting, title in _TITLES.items():
        part = evaluation[evaluation["setting"] == setting]
        if len(part):
            lines += [f"## {title}", "", markdown_table(_fmt(part)), ""]
    default = gating_tradeoff[gating_tradeoff["system"] == ask["system"]]
    lines += [
        f"## Gating trade-off ({ask['system']}; every threshold of `llm.gating.thresholds`)", "",
        markdown_table(default.drop(columns=["system"]), _num_or_str), "",
        "## Forecast explanations (separate, not in the headline)", "",
        markdown_table(_fmt(forecast_evaluation)) if len(forecast_evaluation) else "(none)", "",
        "## Question topics (MiniLM embeddings, k-means, c-TF-IDF terms)", "",
        markdown_table(topics.head(options.get("n_topics_shown", 30))), "", "## Sample answers", "",
    ]  # fmt: skip
    for kind in ("dev", "in_kb", "medquad"):
        lines += _samples(scores, kind, options["n_samples"])
    return "\n".join(lines)


def _num_or_str(v: Any) -> str:
    return _num(v) if isinstance(v, float) else str(v)
