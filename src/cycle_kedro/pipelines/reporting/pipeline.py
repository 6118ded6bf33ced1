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

# Every figure the report shows is an input, by dataset name: the ``@png`` face (ImageDataset) of the
# figure a plot node saves, so Kedro orders the nodes and kedro-viz draws the edge. Keys are the names
# ``report_options.figures`` uses; ``kedro_viz_screenshot`` is made by scripts/viz_browser_check.py.
FIGURES = {
    "steps_hormone_scatter": "statistics.synthetic.steps_hormone_scatter@png",
    "hormones_by_activity": "statistics.synthetic.hormones_by_activity@png",
    "correlation_heatmap": "statistics.synthetic.correlation_heatmap@png",
    "fedcycle_predicted_vs_actual": "forecasting.fedcycle.forecast_predicted_vs_actual@png",
    "fedcycle_model_comparison": "forecasting.fedcycle.forecast_model_comparison@png",
    "fedcycle_error_by_prior_cycles": "forecasting.fedcycle.forecast_error_by_prior_cycles@png",
    "synthetic_model_comparison": "forecasting.synthetic.forecast_model_comparison@png",
    "app_error_by_n_cycles": "population.app.error_by_n_cycles_plot@png",
    "app_interval_coverage": "population.app.interval_coverage_plot@png",
    "kedro_viz": "kedro_viz_screenshot",
}

_REPORT_INPUTS = FIGURES | {
    "correlations": "correlation_comparison",
    "statistics_results": "statistics.synthetic.statistics_results",
    "forecasts": "forecast_comparison",
    "llm": "llm_comparison",
    "population": "population_comparison",
    "options": "params:report_options",
}


def create_pipeline(**kwargs) -> Pipeline:
    """Comparison tables (the study's numbers beside ours), then the markdown and HTML reports."""
    return Pipeline(
        [
            Node(compare_correlations, ["statistics.synthetic.statistics_results", "params:study_results"], "correlation_comparison", name="compare_correlations"),
            Node(compare_forecasts, ["forecasting.fedcycle.forecast_metrics", "forecasting.synthetic.forecast_metrics", "params:study_results"], "forecast_comparison", name="compare_forecasts"),
            Node(compare_llm, ["llm_evaluation", "params:study_results"], "llm_comparison", name="compare_llm"),
            Node(compare_population, ["population.app.last_cycle_evaluation", "population.fedcycle.last_cycle_evaluation", "params:report_options"], "population_comparison", name="compare_population"),
            Node(render_markdown_report, _REPORT_INPUTS, "report_markdown", name="render_markdown_report"),
            Node(render_html_report, _REPORT_INPUTS, "report_html", name="render_html_report"),
        ]
    )  # fmt: skip
