"""Reporting: result tables of statistics, forecasting, llm and population → one report.

In namespace ``reporting`` (node names and outputs ``reporting.<name>``); its inputs, the results
and figures of the other pipelines, and its parameters keep their names.
"""

from kedro.pipeline import Node, Pipeline

from cycle_kedro.cohorts import cohorts

from .comparisons import compare_correlations, compare_forecasts, compare_llm, compare_population
from .report import render_html_report, render_markdown_report

# Every figure the report shows is an input, by dataset name: the ``@png`` face (ImageDataset) of the
# figure a plot node saves, so Kedro orders the nodes and kedro-viz draws the edge. Keys are the names
# ``report_options.figures`` uses; the forecasting figures are each cohort's ``report_figures``
# (cycle_kedro.cohorts); ``kedro_viz_screenshot`` is made by scripts/viz_browser_check.py.
FIGURES = {
    "steps_hormone_scatter": "statistics.synthetic.steps_hormone_scatter@png",
    "hormones_by_activity": "statistics.synthetic.hormones_by_activity@png",
    "correlation_heatmap": "statistics.synthetic.correlation_heatmap@png",
    **{
        f"{cohort.name}_{figure.removeprefix('forecast_')}": f"forecasting.{cohort.name}.{figure}@png"
        for cohort in cohorts()
        for figure in cohort.report_figures
    },
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
    nodes = Pipeline(
        [
            Node(
                func=compare_correlations,
                inputs=["statistics.synthetic.statistics_results", "params:study_results"],
                outputs="correlation_comparison",
                name="compare_correlations",
            ),
            Node(
                func=compare_forecasts,
                inputs=[
                    "forecasting.fedcycle.forecast_metrics",
                    "forecasting.synthetic.forecast_metrics",
                    "params:study_results",
                ],
                outputs="forecast_comparison",
                name="compare_forecasts",
            ),
            Node(
                func=compare_llm,
                inputs=["llm.evaluation", "params:study_results"],
                outputs="llm_comparison",
                name="compare_llm",
            ),
            Node(
                func=compare_population,
                inputs=[
                    "population.app.last_cycle_evaluation",
                    "population.fedcycle.last_cycle_evaluation",
                    "params:report_options",
                ],
                outputs="population_comparison",
                name="compare_population",
            ),
            Node(
                func=render_markdown_report,
                inputs=_REPORT_INPUTS,
                outputs="report_markdown",
                name="render_markdown_report",
            ),
            Node(
                func=render_html_report,
                inputs=_REPORT_INPUTS,
                outputs="report_html",
                name="render_html_report",
            ),
        ]
    )
    return Pipeline(
        nodes,
        namespace="reporting",
        inputs={name for name in nodes.inputs() if not name.startswith("params:")},
        parameters={"study_results", "report_options"},
    )
