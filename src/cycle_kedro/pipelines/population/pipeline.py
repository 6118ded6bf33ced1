"""The ``population`` pipeline: next-period forecasts for every user of a cycle-tracking app.

Namespaces (all under ``population``): ``population.app`` scores ``period_starts`` (by default the
generated synthetic population), ``population.fedcycle`` the FedCycle cohort turned into start
dates. With your own export, run only ``--namespaces=population.app``. Parameters are
``population.<group>`` (shared by both cohorts) and ``population.<cohort>.input``.
"""

from kedro.pipeline import Node, Pipeline

from .as_of import add_as_of_forecasts, fit_skip_aware_model, select_adherence_family
from .by_cycle_day import evaluate_by_cycle_day, summarise_by_cycle_day
from .evaluation import score_posterior_skips, score_skip_flags, summarise_evaluation
from .intake import build_user_lookup, validate_period_starts
from .next_period import build_period_cycles, evaluate_last_cycle, forecast_next_period
from .oracle import score_oracle_by_cycle_day
from .plots import (
    plot_error_by_n_cycles,
    plot_interval_coverage,
    plot_mae_by_cycle_day,
    plot_skip_flag_scores,
)
from .sources import convert_cycles_to_starts, generate_app_population

SHARED = {
    "params:engine",
    "params:skips",
    "params:forecast",
    "params:evaluation",
    "params:evaluation.max_cycles_plotted",
    "params:adherence",
    "params:by_cycle_day",
}
"""Parameters both cohorts share (``population.<group>``); ``params:input`` is per cohort."""


def _cohort_template() -> Pipeline:
    """Validation, cycles, forecasts and last-cycle evaluation for one start-date log."""
    return Pipeline(
        [
            Node(
                func=validate_period_starts,
                inputs=["period_starts", "params:input", "params:engine", "pseudonym_key"],
                outputs=["clean_period_starts", "period_drop_report"],
                name="validate_period_starts",
            ),
            Node(
                func=build_user_lookup,
                inputs=["period_starts", "clean_period_starts", "params:input", "pseudonym_key"],
                outputs="user_lookup",
                name="build_user_lookup",
            ),
            Node(
                func=build_period_cycles,
                inputs=["clean_period_starts", "params:skips", "params:engine"],
                outputs="period_cycles",
                name="build_period_cycles",
            ),
            Node(
                func=forecast_next_period,
                inputs={
                    "cycles": "period_cycles",
                    "forecast": "params:forecast",
                    "skips": "params:skips",
                    "engine_cfg": "params:engine",
                },
                outputs="model_forecasts",
                name="forecast_next_period",
            ),
            Node(
                func=fit_skip_aware_model,
                inputs=["period_cycles", "adherence_family", "params:adherence"],
                outputs="adherence_model",
                name="fit_skip_aware_model",
            ),
            Node(
                func=add_as_of_forecasts,
                inputs=["model_forecasts", "period_cycles", "adherence_model", "params:input"],
                outputs="next_period_forecasts",
                name="add_as_of_forecasts",
            ),
            Node(
                func=evaluate_last_cycle,
                inputs={
                    "starts": "clean_period_starts",
                    "forecast": "params:forecast",
                    "skips": "params:skips",
                    "evaluation": "params:evaluation",
                    "engine_cfg": "params:engine",
                },
                outputs="last_cycle_predictions",
                name="evaluate_last_cycle",
            ),
            Node(
                func=summarise_evaluation,
                inputs=["last_cycle_predictions", "params:input"],
                outputs=["last_cycle_evaluation", "population_metrics"],
                name="summarise_evaluation",
            ),
            Node(
                func=plot_error_by_n_cycles,
                inputs=["last_cycle_predictions", "params:evaluation.max_cycles_plotted"],
                outputs="error_by_n_cycles_plot@matplotlib",
                name="plot_error_by_n_cycles",
            ),
            Node(
                func=plot_interval_coverage,
                inputs="last_cycle_evaluation",
                outputs="interval_coverage_plot@matplotlib",
                name="plot_interval_coverage",
            ),
            Node(
                func=evaluate_by_cycle_day,
                inputs=[
                    "period_cycles",
                    "last_cycle_predictions",
                    "adherence_family",
                    "params:adherence",
                    "params:by_cycle_day",
                ],
                outputs="by_cycle_day_predictions",
                name="evaluate_by_cycle_day",
            ),
            Node(
                func=summarise_by_cycle_day,
                inputs=["by_cycle_day_predictions", "params:input"],
                outputs=["by_cycle_day_evaluation", "by_cycle_day_metrics"],
                name="summarise_by_cycle_day",
            ),
            Node(
                func=plot_mae_by_cycle_day,
                inputs="by_cycle_day_evaluation",
                outputs="mae_by_cycle_day_plot",
                name="plot_mae_by_cycle_day",
            ),
        ]
    )


def _family_choice() -> Pipeline:
    """The skip-aware model's family, chosen on the app cohort's training users (both cohorts use it)."""
    return Pipeline(
        [
            Node(
                func=select_adherence_family,
                inputs=["period_cycles", "params:adherence"],
                outputs="adherence_family",
                name="select_adherence_family",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Generator, two cohorts (app log and FedCycle) and skip-flag scoring against the truth."""
    template = _cohort_template()
    key = {"pseudonym_key": "pseudonym_key"}  # the secret HMAC key, never a parameter
    app = Pipeline(
        _family_choice() + template,
        namespace="app",
        inputs={"period_starts": "period_starts", **key},
        parameters=SHARED,
    )
    fedcycle = Pipeline(
        template,
        namespace="fedcycle",
        inputs={
            "period_starts": "fedcycle_period_starts",
            "adherence_family": "app.adherence_family",
            **key,
        },
        parameters=SHARED,
    )
    scoring = Pipeline(
        [
            Node(
                func=score_skip_flags,
                inputs={
                    "cycles": "period_cycles",
                    "truth": "population_truth",
                    "skips": "params:skips",
                    "scoring": "params:skip_scoring",
                },
                outputs=["skip_flag_scores", "skip_flag_metrics"],
                name="score_skip_flags",
            ),
            Node(
                func=plot_skip_flag_scores,
                inputs="skip_flag_scores",
                outputs="skip_flag_plot",
                name="plot_skip_flag_scores",
            ),
            Node(
                func=score_posterior_skips,
                inputs=[
                    "period_cycles",
                    "adherence_model",
                    "population_truth",
                    "params:skip_detection",
                    "params:adherence",
                ],
                outputs=[
                    "posterior_skip_scores",
                    "posterior_skip_calibration",
                    "posterior_skip_metrics",
                ],
                name="score_posterior_skips",
            ),
            Node(
                func=score_oracle_by_cycle_day,
                inputs={
                    "predictions": "by_cycle_day_predictions",
                    "cycles": "period_cycles",
                    "truth": "population_truth",
                    "generator": "params:generator",
                    "adherence": "params:adherence",
                    "by_day": "params:by_cycle_day",
                },
                outputs=["app_oracle_by_cycle_day", "app_oracle_by_cycle_day_metrics"],
                name="score_oracle_by_cycle_day",
            ),
        ],
        inputs={
            "period_cycles": "app.period_cycles",
            "by_cycle_day_predictions": "app.by_cycle_day_predictions",
            "adherence_model": "app.adherence_model",
        },
    )
    extras = Pipeline(
        [
            Node(
                func=generate_app_population,
                inputs=["params:generator", "params:engine"],
                outputs=["period_starts", "population_truth"],
                name="generate_app_population",
            ),
            Node(
                func=convert_cycles_to_starts,
                inputs=["fedcycle_cycles", "params:fedcycle_starts"],
                outputs="fedcycle_period_starts",
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
