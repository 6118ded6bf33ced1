"""The report of the ``reporting`` pipeline: the comparison tables and figures as markdown and HTML.

Both renderers return ``{"text", "figures"}`` for :class:`cycle_kedro.datasets.report.ReportDataset`,
which writes the figures beside the markdown or embeds them in the HTML page. A table without rows
gives a section that says so.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from cycle_kedro.tables import markdown_table


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


def _used_figures(
    figures: dict[str, bytes | None], options: dict[str, Any]
) -> dict[str, bytes | None]:
    """The figure inputs the report shows; a figure named in parameters but not an input is an error."""
    keys = [fig["figure"] for fig in options["figures"]]
    unknown = sorted(set(keys) - set(figures))
    if unknown:
        raise ValueError(
            f"report_options.figures names figures that are not report inputs: {unknown}"
        )
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
