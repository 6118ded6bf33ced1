"""Nodes that score the evaluation answers, summarise them side by side and apply the dev-set rules.

Headline numbers are on real questions in three settings, always side by side: ``medquad``
(out-of-KB: held-out documents, never indexed), ``in_kb`` (held-out pairs whose documents are
indexed) and ``dev`` (our consumer-worded questions); forecast explanations are a separate table.
The dev set alone fixes the gating threshold and picks ``cycle-ask``'s default system
(:mod:`cycle_kedro.assistant.selection`). The safety pass, the gate, scores and bootstrap CIs are
:mod:`cycle_kedro.assistant`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cycle_kedro.assistant.evaluation import assess_answers, summarise
from cycle_kedro.assistant.gating import SCORES, tradeoff, with_confidence
from cycle_kedro.assistant.selection import (
    choose_default,
    choose_score,
    choose_threshold,
    score_aucs,
)
from cycle_kedro.assistant.systems import SYSTEMS, uses_retrieval
from cycle_kedro.tables import mlflow_metrics

if TYPE_CHECKING:
    from cycle_kedro.assistant.retrieval import RetrievalIndex

logger = logging.getLogger(__name__)

# kind of question -> the setting it stands for (out-of-KB keeps the MLflow keys llm.<system>.<metric>)
SETTINGS = {"medquad": "out_of_kb", "in_kb": "in_kb", "dev": "dev"}


def score_answers(  # noqa: PLR0913, PLR0917 (a node: inputs are positional)
    base: pd.DataFrame,
    lora: pd.DataFrame,
    extractive: pd.DataFrame,
    retrieval: pd.DataFrame,
    contexts: pd.DataFrame,
    index: RetrievalIndex,
    bertscore_encoder: Any,
    options: dict[str, Any],
    prompt: dict[str, Any],
    gating: dict[str, Any],
) -> pd.DataFrame:
    """Per-answer rows: retrieval confidence, safety pass and gate, sources, token metrics, ROUGE-L, BERTScore, NLL."""
    answers = pd.concat([base, lora, extractive, retrieval], ignore_index=True)
    return assess_answers(
        answers,
        with_confidence(contexts, index, gating["score"]),
        bertscore_encoder,
        options,
        prompt,
        gating,
    )


def _setting_table(
    part: pd.DataFrame, kind: str, options: dict[str, Any], kp_min: float
) -> pd.DataFrame:
    table = summarise(part, options["n_bootstrap"], options["seed"], kp_min)
    table = table.assign(subset=kind, setting=SETTINGS[kind])
    questions = part.drop_duplicates("question_id")
    table["recall_topic_at_k"] = float(questions["hit_topic"].mean())
    table["recall_focus_at_k"] = (
        float(questions["hit_focus"].mean()) if questions["hit_focus"].notna().any() else np.nan
    )
    return table


def summarise_evaluation(
    scores: pd.DataFrame, options: dict[str, Any], gating: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Headline table (out-of-KB, in-KB and dev side by side, CIs vs base), forecast table, MLflow metrics.

    Metric keys: ``llm.<system>.<metric>`` out-of-KB (as before), ``llm.<system>.in_kb.<metric>``,
    ``llm.<system>.dev.<metric>`` and ``llm.<system>.forecast.<metric>``.
    """
    kp_min = gating["faithful_min_k_precision"]
    with_ref = scores[scores["reference"].str.len() > 0]
    table = pd.concat(
        [
            _setting_table(with_ref[with_ref["kind"] == kind], kind, options, kp_min)
            for kind in SETTINGS
            if (with_ref["kind"] == kind).any()
        ],
        ignore_index=True,
    )
    forecast = scores[scores["kind"] == "forecast"]  # the systems llm.answered_by lists for them
    fc_table = (
        summarise(forecast, options["n_bootstrap"], options["seed"], kp_min).assign(subset="forecast")
        if not forecast.empty else pd.DataFrame(columns=["system", "subset"])
    )  # fmt: skip
    values = {}
    for t in (table, fc_table):
        for r in t.to_dict("records"):
            stem = f"llm.{r['system']}" + ("" if r["subset"] == "medquad" else f".{r['subset']}")
            values |= {
                f"{stem}.{k}": v for k, v in r.items()
                if k not in {"system", "subset", "setting"} and isinstance(v, (int, float, np.number)) and pd.notna(v)
            }  # fmt: skip
    for r in table.itertuples():
        logger.info(
            "%s %s: ROUGE-L %.1f, Recall %.2f, K-Precision %.2f, abstained %.2f",
            r.setting, r.system, r.rouge_l, r.recall, r.k_precision, r.abstention_rate,
        )  # fmt: skip
    return table, fc_table, mlflow_metrics(values)


def tabulate_gating(scores: pd.DataFrame, gating: dict[str, Any]) -> pd.DataFrame:
    """Answered share vs faithfulness over the thresholds ``gating['thresholds']``, per system with passages and setting.

    Every real question counts, the dev questions the knowledge base does not cover included.
    """
    real = scores[scores["kind"].isin(list(SETTINGS))].assign(subset=lambda d: d["kind"])
    systems = [s for s in SYSTEMS if uses_retrieval(s) and s in set(real["system"])]
    return pd.concat(
        [
            tradeoff(real, s, gating["thresholds"], gating["faithful_min_k_precision"])
            for s in systems
        ],
        ignore_index=True,
    ).assign(setting=lambda d: d["subset"].map(SETTINGS))


def _dev_youden(
    scores: pd.DataFrame, gating: dict[str, Any], system: str
) -> dict[str, tuple[float, float]]:
    """``{candidate: (best dev Youden J, its threshold)}`` of ``system`` gated on each candidate score."""
    dev = scores[scores["kind"] == "dev"].assign(subset="dev")
    best = {}
    for name in SCORES:
        table = tradeoff(dev.assign(confidence=dev[f"confidence_{name}"]), system,
                         gating["thresholds"], gating["faithful_min_k_precision"])  # fmt: skip
        threshold = choose_threshold(table)
        best[name] = (
            float(table.loc[table["threshold"] == threshold, "youden"].iloc[0]),
            threshold,
        )
    return best


def apply_dev_rules(  # noqa: PLR0913, PLR0917 (a node: inputs are positional)
    evaluation: pd.DataFrame,
    gating_tradeoff: pd.DataFrame,
    scores: pd.DataFrame,
    gating: dict[str, Any],
    selection: dict[str, Any],
    ask: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """What the dev-set rules pick (gating score and threshold, default system) beside the parameters; a warning when they differ.

    The score: the best dev ROC AUC of covered vs uncovered questions among
    :data:`~cycle_kedro.assistant.gating.SCORES`; the threshold: the best dev Youden J in the
    trade-off of the default system in parameters (``ask.system``), gated on ``gating.score``.
    Metrics: ``llm.selection.threshold`` (the rule's), ``llm.selection.default_system`` (its index in
    :data:`~cycle_kedro.assistant.systems.SYSTEMS`), ``llm.selection.score`` (its index in
    ``SCORES``), ``llm.selection.<score>.auc`` / ``.youden`` / ``.threshold`` of each candidate and
    ``llm.selection.parameters_agree`` (1 or 0).
    """
    aucs = score_aucs(scores, SCORES)
    score = choose_score(aucs)
    youden = _dev_youden(scores, gating, ask["system"])
    threshold = choose_threshold(gating_tradeoff[gating_tradeoff["system"] == ask["system"]])
    default = choose_default(evaluation, selection)
    candidates = ", ".join(f"{n} {aucs[n]:.3f}" for n in SCORES)
    rows = pd.DataFrame([
        {"choice": "gating score", "rule": f"best dev ROC AUC, covered vs uncovered ({candidates})",
         "parameter": gating["score"], "dev_rule_picks": score},
        {"choice": "gating threshold", "rule": "best dev Youden J (covered answered - uncovered answered)", "parameter": str(gating["threshold"]),
         "dev_rule_picks": str(threshold)},
        {"choice": "default system", "rule": f"best dev Recall with dev K-Precision >= {selection['min_k_precision']}",
         "parameter": ask["system"], "dev_rule_picks": default},
    ])  # fmt: skip
    rows["agrees"] = [
        score == gating["score"],
        np.isclose(threshold, gating["threshold"]),
        default == ask["system"],
    ]
    for r in rows[~rows["agrees"]].itertuples():
        logger.warning(
            "The dev rule for the %s picks %s but the parameters say %s (conf/base/parameters_llm.yml)",
            r.choice, r.dev_rule_picks, r.parameter,
        )  # fmt: skip
    metrics = {
        "llm.selection.threshold": threshold,
        "llm.selection.default_system": float(SYSTEMS.index(default)),
        "llm.selection.score": float(SCORES.index(score)),
        "llm.selection.parameters_agree": float(rows["agrees"].all()),
    }
    for name in SCORES:
        metrics |= {f"llm.selection.{name}.auc": aucs[name], f"llm.selection.{name}.youden": youden[name][0],
                    f"llm.selection.{name}.threshold": youden[name][1]}  # fmt: skip
    return rows, mlflow_metrics(metrics)
