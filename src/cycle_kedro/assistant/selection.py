"""Rules fixed on the dev set: the gating score and threshold, and ``cycle-ask``'s default system.

Both read only the dev questions (our own consumer-worded questions, ``subset == "dev"``); the
test questions (in-KB and out-of-KB) never choose anything. The evaluation applies the rules and
writes what they pick; the parameters (``llm.gating.score``, ``llm.gating.threshold``,
``llm.ask.system``) hold the choice that ``cycle-ask`` uses, and a warning says when a run's rules
would pick otherwise.

* :func:`choose_score` — the candidate score (:data:`~cycle_kedro.assistant.gating.SCORES`) that
  best tells the covered dev questions from the uncovered ones: the largest ROC AUC
  (:func:`roc_auc`); ties go to the earlier candidate.

* :func:`choose_threshold` — the gate is a test of "do my sources cover this question?": the
  threshold with the best Youden's J on the dev set (the share of the covered dev questions it lets
  through minus the share of the uncovered ones it lets through); ties go to the lowest threshold
  (answer more). Whether an answer that passes is right is the systems' part (the default rule).
* :func:`choose_default` — among the systems whose dev K-Precision is at least ``min_k_precision``,
  the one with the best dev Recall (ties: the order of :data:`~cycle_kedro.assistant.systems.SYSTEMS`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC: the chance that a random positive scores above a random negative (ties count half).

    Mann-Whitney U from average ranks; NaN scores rank lowest. NaN without both classes.
    """
    positive = np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = pd.Series(np.asarray(scores, float)).fillna(-np.inf).rank(method="average").to_numpy()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def score_aucs(scores: pd.DataFrame, candidates: tuple[str, ...]) -> dict[str, float]:
    """``{candidate: dev ROC AUC}`` of each ``confidence_<candidate>`` column, covered vs uncovered.

    ``scores``: per-answer rows (``kind``, ``question_id``, ``covered`` and the candidates'
    columns); each dev question (``kind == "dev"``) counts once.
    """
    dev = scores[scores["kind"] == "dev"].drop_duplicates("question_id")
    if dev.empty:
        raise ValueError("no dev rows in the scores: the dev set picks the gating score")
    covered = dev["covered"].astype(bool).to_numpy()
    return {c: roc_auc(dev[f"confidence_{c}"].to_numpy(float), covered) for c in candidates}


def choose_score(aucs: dict[str, float]) -> str:
    """The candidate with the largest dev ROC AUC (:func:`score_aucs`); ties: the earlier one."""
    names = list(aucs)
    return names[int(np.nanargmax([aucs[n] for n in names]))]


def choose_threshold(tradeoff: pd.DataFrame) -> float:
    """The dev threshold with the largest ``youden`` (ties: the lowest threshold).

    ``tradeoff``: rows of :func:`~cycle_kedro.assistant.gating.tradeoff` for one system.
    """
    dev = tradeoff[tradeoff["subset"] == "dev"].sort_values("threshold", kind="stable")
    if dev.empty:
        raise ValueError("no dev rows in the trade-off table: the dev set fixes the threshold")
    return float(dev["threshold"].to_numpy()[int(np.nanargmax(dev["youden"].to_numpy()))])


def choose_default(summary: pd.DataFrame, rule: dict[str, Any]) -> str:
    """The system with the best dev ``recall`` among those with dev ``k_precision`` >= ``rule['min_k_precision']``.

    ``summary``: the evaluation table (``system``, ``subset``, ``recall``, ``k_precision``) in
    system order. When no system passes, the one with the highest dev K-Precision.
    """
    dev = summary[summary["subset"] == "dev"].reset_index(drop=True)
    if dev.empty:
        raise ValueError(
            "no dev rows in the evaluation table: the dev set picks the default system"
        )
    passing = dev[dev["k_precision"] >= rule["min_k_precision"]]
    if passing.empty:
        logger.warning(
            "no system reaches dev K-Precision %.2f; the most faithful one is picked",
            rule["min_k_precision"],
        )
        return str(dev.loc[dev["k_precision"].idxmax(), "system"])
    return str(passing.loc[passing["recall"].idxmax(), "system"])
