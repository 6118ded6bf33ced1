"""Reporting: result tables of statistics, forecasting, llm and population → one report."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    compare_correlations,
    compare_forecasts,
    compare_llm,
    compare_population,
    render_html_report,
    render_markdown_report,
)

_REPORT_INPUTS = {
    "correlations": "correlation_comparison",
    "statistics_results": "synthetic.statistics_results",
    "forecasts": "forecast_comparison",
    "llm": "llm_comparison",
    "population": "population_comparison",
    "options": "params:report_options",
}


def create_pipeline(**kwargs) -> Pipeline:
    """Comparison tables (the study's numbers beside ours), then the markdown and HTML reports."""
    return Pipeline(
        [
            Node(compare_correlations, ["synthetic.statistics_results", "params:study_results"], "correlation_comparison", name="compare_correlations"),
            Node(compare_forecasts, ["forecasting.fedcycle.forecast_metrics", "forecasting.synthetic.forecast_metrics", "params:study_results"], "forecast_comparison", name="compare_forecasts"),
            Node(compare_llm, ["llm_evaluation", "params:study_results"], "llm_comparison", name="compare_llm"),
            Node(compare_population, ["population.app.last_cycle_evaluation", "population.fedcycle.last_cycle_evaluation", "params:report_options"], "population_comparison", name="compare_population"),
            Node(render_markdown_report, _REPORT_INPUTS, "report_markdown", name="render_markdown_report"),
            Node(render_html_report, _REPORT_INPUTS, "report_html", name="render_html_report"),
        ]
    )  # fmt: skip
