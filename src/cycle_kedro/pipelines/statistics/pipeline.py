"""Statistics: steps vs E2/P4 per woman, activity-group tests, BH correction, tables, figures, metrics."""

from kedro.pipeline import Node, Pipeline

from .cohort import aggregate_women, describe_cohort
from .inference import adjust_for_multiplicity, compare_activity_groups, correlate_steps_hormones
from .plots import plot_correlation_heatmap, plot_hormones_by_activity, plot_steps_hormone_scatter
from .tables import build_statistics_metrics, format_results_markdown


def _template() -> Pipeline:
    """The cohort-agnostic pipeline on input ``daily``; namespaced per cohort below."""
    return Pipeline(
        [
            Node(
                func=aggregate_women,
                inputs=["daily", "params:cohort", "params:activity", "params:phases"],
                outputs="women_activity",
                name="aggregate_women",
            ),
            Node(
                func=describe_cohort,
                inputs=["women_activity", "params:activity", "params:labels"],
                outputs="descriptive_table",
                name="describe_cohort",
            ),
            Node(
                func=correlate_steps_hormones,
                inputs=["women_activity", "params:phases", "params:inference", "params:labels"],
                outputs="correlations",
                name="correlate_steps_hormones",
            ),
            Node(
                func=compare_activity_groups,
                inputs=[
                    "women_activity",
                    "params:activity",
                    "params:phases",
                    "params:inference",
                    "params:labels",
                ],
                outputs="group_tests",
                name="compare_activity_groups",
            ),
            Node(
                func=adjust_for_multiplicity,
                inputs=["correlations", "group_tests", "params:inference"],
                outputs="statistics_results",
                name="adjust_for_multiplicity",
            ),
            Node(
                func=format_results_markdown,
                inputs=["statistics_results", "params:cohort"],
                outputs="statistics_results_md",
                name="format_results_markdown",
            ),
            Node(
                func=build_statistics_metrics,
                inputs=["statistics_results", "women_activity", "params:activity"],
                outputs="statistics_metrics",
                name="build_statistics_metrics",
            ),
            Node(
                func=plot_steps_hormone_scatter,
                inputs=[
                    "women_activity",
                    "statistics_results",
                    "params:activity",
                    "params:labels",
                    "params:cohort",
                ],
                outputs="steps_hormone_scatter@matplotlib",
                name="plot_steps_hormone_scatter",
            ),
            Node(
                func=plot_hormones_by_activity,
                inputs=[
                    "women_activity",
                    "statistics_results",
                    "params:activity",
                    "params:labels",
                    "params:cohort",
                ],
                outputs="hormones_by_activity@matplotlib",
                name="plot_hormones_by_activity",
            ),
            Node(
                func=plot_correlation_heatmap,
                inputs=["women_activity", "params:labels", "params:cohort"],
                outputs="correlation_heatmap@matplotlib",
                name="plot_correlation_heatmap",
            ),
        ]
    )


def _for_cohort(cohort: str, daily: str) -> Pipeline:
    """The template in namespace ``statistics.<cohort>``: its parameters are ``statistics.<cohort>.<group>``."""
    return Pipeline(_template(), namespace=f"statistics.{cohort}", inputs={"daily": daily})


def create_pipeline(**kwargs) -> Pipeline:
    """Statistics on the synthetic cohort (namespace ``statistics.synthetic``, input ``synthetic_daily``)."""
    return _for_cohort("synthetic", "synthetic_daily")


def create_mcphases_pipeline(**kwargs) -> Pipeline:
    """The same nodes on mcPHASES (namespace ``statistics.mcphases``, input ``mcphases_daily``; E2/P4 = E3G/PdG)."""
    return _for_cohort("mcphases", "mcphases_daily")
