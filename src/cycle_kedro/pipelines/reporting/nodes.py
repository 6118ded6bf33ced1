"""Nodes of the ``reporting`` pipeline: our results beside the study's, in one readable report.

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

import html
import logging
import math
from typing import Any

import pandas as pd

from cycle_kedro.tables import markdown_table

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
    ``all`` rows (the llm v2 table: its ``medquad`` headline rows) are shown; a ``system`` column
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


def render_markdown_report(
    *,
    correlations: pd.DataFrame,
    statistics_results: pd.DataFrame,
    forecasts: pd.DataFrame,
    llm: pd.DataFrame,
    population: pd.DataFrame,
    options: dict[str, Any],
    **figures: bytes | None,
) -> dict[str, Any]:
    """The whole report as GitHub-flavoured markdown, with its figures (inputs) as ``figure:<key>``.

    Returns ``{"text", "figures"}`` for ``ReportDataset``, which writes the figures beside the report.
    """
    parts = [f"# {options['title']}", "", options["intro"].strip(), ""]
    for title, text, table in _sections(
        correlations=correlations,
        statistics_results=statistics_results,
        forecasts=forecasts,
        llm=llm,
        population=population,
        options=options,
    ):
        parts += [f"## {title}", "", text.strip(), "", _markdown_table(table), ""]
    parts += ["## Figures", ""]
    for fig in options["figures"]:
        parts += [f"### {fig['title']}", "", f"![{fig['title']}](figure:{fig['figure']})", ""]
    return {"text": "\n".join(parts), "figures": _used_figures(figures, options)}


def render_html_report(
    *,
    correlations: pd.DataFrame,
    statistics_results: pd.DataFrame,
    forecasts: pd.DataFrame,
    llm: pd.DataFrame,
    population: pd.DataFrame,
    options: dict[str, Any],
    **figures: bytes | None,
) -> dict[str, Any]:
    """The same report as one self-contained HTML page (the dataset embeds the figure inputs)."""
    esc = html.escape
    body = [f"<h1>{esc(options['title'])}</h1>", f"<p>{esc(options['intro'].strip())}</p>"]
    for title, text, table in _sections(
        correlations=correlations,
        statistics_results=statistics_results,
        forecasts=forecasts,
        llm=llm,
        population=population,
        options=options,
    ):
        shown = table.astype(object).map(_fmt) if len(table) else table
        body += [f"<h2>{esc(title)}</h2>", f"<p>{esc(text.strip())}</p>",
                 shown.to_html(index=False, na_rep="", border=0, classes="results")]  # fmt: skip
    body.append("<h2>Figures</h2>")
    for fig in options["figures"]:
        body += [f"<h3>{esc(fig['title'])}</h3>",
                 f'<img src="figure:{esc(fig["figure"])}" alt="{esc(fig["title"])}">']  # fmt: skip
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table.results{border-collapse:collapse;margin:1em 0}"
        "table.results td,table.results th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "table.results td:first-child,table.results th:first-child{text-align:left}"
        "img{max-width:100%}"
    )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{esc(options['title'])}</title><style>{style}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    return {"text": page, "figures": _used_figures(figures, options)}


def _used_figures(figures: dict[str, bytes | None], options: dict[str, Any]) -> dict[str, bytes | None]:
    """The figure inputs the report shows; a figure named in parameters but not an input is an error."""
    keys = [fig["figure"] for fig in options["figures"]]
    unknown = sorted(set(keys) - set(figures))
    if unknown:
        raise ValueError(f"report_options.figures names figures that are not report inputs: {unknown}")
    return {key: figures[key] for key in keys}


def _sections(  # noqa: PLR0913
    *,
    correlations: pd.DataFrame,
    statistics_results: pd.DataFrame,
    forecasts: pd.DataFrame,
    llm: pd.DataFrame,
    population: pd.DataFrame,
    options: dict[str, Any],
) -> list[tuple[str, str, pd.DataFrame]]:
    text = options["sections"]
    woman_level = statistics_results
    if "analysis" in statistics_results.columns:
        woman_level = statistics_results[statistics_results["analysis"] == "woman_level"]
    stats_cols = [c for c in options["statistics_columns"] if c in woman_level.columns]
    sections = [
        ("Steps and hormones: the study's correlations beside ours", text["correlations"], correlations),
        ("Every woman-level test (synthetic cohort)", text["statistics"], woman_level[stats_cols]),
        ("Next-cycle-length forecasting (study Table 1 beside ours)", text["forecasting"], forecasts),
        ("Menstrual-health Q&A language model (study Table 2 beside ours)", text["llm"], llm),
        ("Population-scale forecasts", text["population"], population.head(options["max_rows"])),
    ]  # fmt: skip
    return [(title, intro, _counts_as_int(table)) for title, intro, table in sections]


def _fmt(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int):
        return f"{value:d}"
    if isinstance(value, float):
        return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.3f}"
    return str(value)


def _counts_as_int(table: pd.DataFrame) -> pd.DataFrame:
    counts = [c for c in table.columns if c == "n" or c.startswith("n_")]
    return table.astype(dict.fromkeys(counts, "Int64")) if counts else table


def _markdown_table(table: pd.DataFrame) -> str:
    if table.empty:
        return "_No rows: the pipeline that makes this table produced none._"
    return markdown_table(table, _fmt)
