"""Comparison tables of the ``reporting`` pipeline: our results beside the study's.

The study is Y. Fu, "An Endocrinology Predictive Modeling Technology Based on Artificial
Intelligence" (``shared/papers``); its numbers live in ``parameters_reporting.yml``
(``study_results``) and are claims measured on its own, non-public data: the tables put them
*beside* ours, they are never targets.

Result tables from the other pipelines are read leniently: column names are matched
case-insensitively with common aliases (``R^2`` → ``r2``, ``ROUGE-L`` → ``rouge_l``, ``PPL`` →
``perplexity``), and a dict of per-model metrics is accepted as well as a table. A table that
lacks the columns a section needs gives a section that says so, never a crash.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

FORECAST_METRICS = ["n", "mse", "mae", "rmse", "r2"]
LLM_METRICS = ["perplexity", "bleu", "rouge_l", "bertscore"]
_ALIASES = {
    "r^2": "r2", "r²": "r2", "r_squared": "r2", "rsquared": "r2", "rouge-l": "rouge_l",
    "rougel": "rouge_l", "rouge_lsum": "rouge_l", "ppl": "perplexity", "bert_score": "bertscore",
    "bertscore_f1": "bertscore", "n_cycles": "n", "n_scored": "n", "sacrebleu": "bleu",
}  # fmt: skip
_LABEL_COLUMNS = ("model", "variant", "name", "system", "method")


def _canonical(column: object) -> str:
    key = str(column).strip().lower().replace(" ", "_")
    return _ALIASES.get(key, key)


def tidy_metrics(table: pd.DataFrame | dict[str, Any] | None) -> pd.DataFrame:
    """One row per model with canonical lower-case metric columns and a ``model`` column.

    Accepts a DataFrame (model in a ``model``/``variant``/``name`` column or in the index), a
    dict ``{model: {metric: value}}``, or MLflow-style ``{key: {"value": v, "step": s}}`` leaves.
    """
    if table is None:
        return pd.DataFrame(columns=["model"])
    if isinstance(table, dict):
        rows = {
            str(model): {k: (v["value"] if isinstance(v, dict) else v) for k, v in metrics.items()}
            for model, metrics in table.items()
            if isinstance(metrics, dict)
        }
        table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model").reset_index()
    frame = table.rename(columns=_canonical)
    label = next((c for c in _LABEL_COLUMNS if c in frame.columns), None)
    if label is None:
        frame = frame.rename_axis("model").reset_index()
    elif label != "model":
        frame = frame.rename(columns={label: "model"})
    frame["model"] = frame["model"].astype(str)
    return frame.loc[:, ~frame.columns.duplicated()].reset_index(drop=True)


def compare_forecasts(
    fedcycle_metrics: pd.DataFrame, synthetic_metrics: pd.DataFrame, study: dict[str, Any]
) -> pd.DataFrame:
    """Long table model × source (study, fedcycle, synthetic) of n, MSE, MAE, RMSE, R².

    Our models named in ``study["models"]`` (e.g. ``mean_previous`` for the study's "Average")
    are listed next to the study's row; our other models follow.
    """
    ours = {"fedcycle": _ours(fedcycle_metrics), "synthetic": _ours(synthetic_metrics)}
    ours_to_study = {v: k for k, v in study["models"].items()}
    rows = [
        {"model": name, "source": study["source"], **values}
        for name, values in study["forecasting"].items()
    ]
    for cohort, frame in ours.items():
        for rec in frame.to_dict("records"):
            rows.append({**{m: rec.get(m) for m in FORECAST_METRICS},
                         "model": ours_to_study.get(rec["model"], rec["model"]),
                         "our_model": rec["model"], "source": f"ours ({cohort})"})  # fmt: skip
    out = pd.DataFrame(rows).reindex(columns=["model", "our_model", "source", *FORECAST_METRICS])
    order = {name: i for i, name in enumerate(study["forecasting"])}
    out["_order"] = out["model"].map(order).fillna(len(order))
    out["_study"] = out["source"] != study["source"]
    out = out.sort_values(["_order", "model", "_study", "source"], kind="stable")
    return out.drop(columns=["_order", "_study"]).reset_index(drop=True)


def _ours(table: pd.DataFrame | dict[str, Any] | None) -> pd.DataFrame:
    """Our rows only: drop rows a pipeline labelled ``kind == "study"`` (the study's own numbers)."""
    frame = tidy_metrics(table)
    return frame[frame["kind"] != "study"] if "kind" in frame.columns else frame


def compare_llm(llm_evaluation: pd.DataFrame, study: dict[str, Any]) -> pd.DataFrame:
    """Table model × source of perplexity, BLEU, ROUGE-L and BERTScore (study's Table 2 first).

    When the evaluation has a ``subset`` column (overall and per kind of question), only the
    ``all`` rows (in the llm evaluation table: its ``medquad`` headline rows) are shown; a ``system`` column
    stands for ``model``.
    """
    rows = [
        {"model": name, "source": study["source"], **values}
        for name, values in study["llm"].items()
    ]
    ours = _ours(llm_evaluation)
    if "model" not in ours.columns and "system" in ours.columns:
        ours = ours.rename(columns={"system": "model"})
    if "subset" in ours.columns:
        ours = ours[ours["subset"].isin(["all", "medquad"])]
    for rec in ours.to_dict("records"):
        rows.append(
            {"model": rec["model"], "source": "ours", "n": rec.get("n")}
            | {m: rec.get(m) for m in LLM_METRICS}
        )
    return pd.DataFrame(rows).reindex(columns=["model", "source", "n", *LLM_METRICS])


def compare_correlations(statistics_results: pd.DataFrame, study: dict[str, Any]) -> pd.DataFrame:
    """Woman-level Pearson r of steps vs each hormone: the study's value beside ours (n, p, q, CI).

    Where the results hold several CIs for the same test (Fisher z, bootstrap), the first is shown.
    """
    cols = {"analysis", "test", "variable", "statistic"}
    missing = cols - set(statistics_results.columns)
    if missing:
        logger.warning("statistics results lack %s: no correlation comparison", sorted(missing))
        return pd.DataFrame(
            columns=[
                "hormone",
                "study_r",
                "our_r",
                "n",
                "p",
                "q_bh",
                "ci_low",
                "ci_high",
                "ci_method",
            ]
        )
    pearson = statistics_results[
        (statistics_results["analysis"] == "woman_level")
        & (statistics_results["test"] == "pearson")
    ].drop_duplicates("variable")
    rows = []
    for hormone, study_r in study["correlations"].items():
        match = pearson[pearson["variable"].str.contains(hormone, case=False, regex=False)]
        rec = match.iloc[0] if len(match) else pd.Series(dtype=object)
        rows.append({"hormone": hormone.upper(), "study_r": study_r, "our_r": rec.get("statistic"),
                     "n": rec.get("n"), "p": rec.get("p"), "q_bh": rec.get("q_bh"),
                     "ci_low": rec.get("ci_low"), "ci_high": rec.get("ci_high"),
                     "ci_method": rec.get("ci_method")})  # fmt: skip
    return pd.DataFrame(rows)


def compare_population(
    app_evaluation: pd.DataFrame, fedcycle_evaluation: pd.DataFrame, options: dict[str, Any]
) -> pd.DataFrame:
    """Population forecasts of the app population and FedCycle stacked, ``subset == "all"`` only."""
    frames = [
        f for f in (tidy_metrics(app_evaluation), tidy_metrics(fedcycle_evaluation)) if len(f)
    ]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["model"])
    if "subset" in table.columns:
        table = table[table["subset"] == "all"]
    columns = [c for c in options["population_columns"] if c in table.columns]
    return table[columns].reset_index(drop=True)
