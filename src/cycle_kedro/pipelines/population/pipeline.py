"""The ``population`` pipeline: next-period forecasts for every user of a cycle-tracking app.

Namespaces (all under ``population``): ``population.app`` scores ``period_starts`` (by default the
generated synthetic population), ``population.fedcycle`` the FedCycle cohort turned into start
dates. With your own export, run only ``--namespaces=population.app``. Parameters are
``population.<group>`` (shared by both cohorts) and ``population.<cohort>.input``.
"""

from kedro.pipeline import Node, Pipeline

from .evaluation import score_skip_flags, summarise_evaluation
from .nodes import (
    build_period_cycles,
    build_user_lookup,
    convert_cycles_to_starts,
    evaluate_last_cycle,
    forecast_next_period,
    generate_app_population,
    validate_period_starts,
)
from .plots import plot_error_by_n_cycles, plot_interval_coverage, plot_skip_flag_scores

SHARED = {
    "params:engine",
    "params:skips",
    "params:forecast",
    "params:evaluation",
    "params:evaluation.max_cycles_plotted",
}
"""Parameters both cohorts share (``population.<group>``); ``params:input`` is per cohort."""


def _cohort_template() -> Pipeline:
    """Validation, cycles, forecasts and last-cycle evaluation for one start-date log."""
    return Pipeline(
        [
            Node(
                validate_period_starts,
                ["period_starts", "params:input", "params:engine", "pseudonym_key"],
                ["clean_period_starts", "period_drop_report"],
                name="validate_period_starts",
            ),
            Node(
                build_user_lookup,
                ["period_starts", "clean_period_starts", "params:input", "pseudonym_key"],
                "user_lookup",
                name="build_user_lookup",
            ),
            Node(
                build_period_cycles,
                ["clean_period_starts", "params:skips", "params:engine"],
                "period_cycles",
                name="build_period_cycles",
            ),
            Node(
                forecast_next_period,
                {
                    "cycles": "period_cycles",
                    "forecast": "params:forecast",
                    "skips": "params:skips",
                    "engine_cfg": "params:engine",
                },
                "next_period_forecasts",
                name="forecast_next_period",
            ),
            Node(
                evaluate_last_cycle,
                {
                    "starts": "clean_period_starts",
                    "forecast": "params:forecast",
                    "skips": "params:skips",
                    "evaluation": "params:evaluation",
                    "engine_cfg": "params:engine",
                },
                "last_cycle_predictions",
                name="evaluate_last_cycle",
            ),
            Node(
                summarise_evaluation,
                ["last_cycle_predictions", "params:input"],
                ["last_cycle_evaluation", "population_metrics"],
                name="summarise_evaluation",
            ),
            Node(
                plot_error_by_n_cycles,
                ["last_cycle_predictions", "params:evaluation.max_cycles_plotted"],
                "error_by_n_cycles_plot@matplotlib",
                name="plot_error_by_n_cycles",
            ),
            Node(
                plot_interval_coverage,
                "last_cycle_evaluation",
                "interval_coverage_plot@matplotlib",
                name="plot_interval_coverage",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Generator, two cohorts (app log and FedCycle) and skip-flag scoring against the truth."""
    template = _cohort_template()
    key = {"pseudonym_key": "pseudonym_key"}  # the secret HMAC key, never a parameter
    app = Pipeline(
        template,
        namespace="app",
        inputs={"period_starts": "period_starts", **key},
        parameters=SHARED,
    )
    fedcycle = Pipeline(
        template,
        namespace="fedcycle",
        inputs={"period_starts": "fedcycle_period_starts", **key},
        parameters=SHARED,
    )
    scoring = Pipeline(
        [
            Node(
                score_skip_flags,
                {
                    "cycles": "period_cycles",
                    "truth": "population_truth",
                    "skips": "params:skips",
                    "scoring": "params:skip_scoring",
                },
                ["skip_flag_scores", "skip_flag_metrics"],
                name="score_skip_flags",
            ),
            Node(
                plot_skip_flag_scores,
                "skip_flag_scores",
                "skip_flag_plot",
                name="plot_skip_flag_scores",
            ),
        ],
        inputs={"period_cycles": "app.period_cycles"},
    )
    extras = Pipeline(
        [
            Node(
                generate_app_population,
                ["params:generator", "params:engine"],
                ["period_starts", "population_truth"],
                name="generate_app_population",
            ),
            Node(
                convert_cycles_to_starts,
                ["fedcycle_cycles", "params:fedcycle_starts"],
                "fedcycle_period_starts",
                name="convert_cycles_to_starts",
            ),
        ]
    )
    # every parameter becomes params:population.<...>; the raw log and its truth keep their names
    return Pipeline(
        app + fedcycle + extras + scoring,
        namespace="population",
        inputs={"fedcycle_cycles", "pseudonym_key"},
        outputs={"period_starts", "population_truth"},
    )
