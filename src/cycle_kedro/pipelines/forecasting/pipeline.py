"""The ``forecasting`` pipeline: one template, run as ``forecasting.fedcycle`` and ``forecasting.synthetic``."""

from kedro.pipeline import Node, Pipeline

from .evaluation import add_prediction_intervals, build_mlflow_metrics, evaluate_forecasts
from .folds import prepare_forecast_frame
from .incycle import (
    add_current_cycle_fields,
    attach_cycle_details,
    build_incycle_mlflow_metrics,
    current_cycle_status,
    evaluate_incycle,
    fit_cohort_incycle_state,
    plot_incycle_error,
    predict_incycle,
)
from .models import (
    combine_predictions,
    predict_arima,
    predict_baselines,
    predict_gru,
    predict_lstm,
    predict_ridge,
)
from .next_cycle import forecast_next_cycle
from .plots import plot_error_by_prior_cycles, plot_model_comparison, plot_predicted_vs_actual
from .robust import (
    build_selection_mlflow_metrics,
    predict_robust,
    select_cohort_model,
    selection_table,
)
from .signal import build_signal_mlflow_metrics, compare_signal_cohorts, predict_oracle

#: cohort -> (per-cycle model input, per-cycle primary table with ovulation days)
COHORTS = {
    "fedcycle": ("fedcycle_model_input", "fedcycle_cycles"),
    "synthetic": ("synthetic_model_input", "synthetic_cycles"),
    "signal": ("synthetic_signal_model_input", "synthetic_signal_cycles"),
    "heavy": ("synthetic_heavy_model_input", "synthetic_heavy_cycles"),
}


def create_template() -> Pipeline:
    """Build the cohort-agnostic template on input ``model_input``."""
    return Pipeline(
        [
            Node(
                prepare_forecast_frame,
                ["model_input", "params:evaluation"],
                "forecast_frame",
                name="prepare_forecast_frame",
            ),
            Node(
                predict_baselines,
                "forecast_frame",
                "baseline_predictions",
                name="predict_baselines",
            ),
            Node(
                predict_arima,
                ["forecast_frame", "params:arima"],
                "arima_predictions",
                name="predict_arima",
            ),
            Node(
                predict_ridge,
                ["forecast_frame", "params:ridge"],
                "ridge_predictions",
                name="predict_ridge",
            ),
            Node(
                predict_lstm,
                ["forecast_frame", "params:lstm"],
                ["lstm_predictions", "lstm_val_loss"],
                name="predict_lstm",
            ),
            Node(
                predict_gru,
                ["forecast_frame", "params:gru"],
                ["gru_predictions", "gru_val_loss"],
                name="predict_gru",
            ),
            Node(
                attach_cycle_details,
                ["forecast_frame", "cycles"],
                "cycle_details",
                name="attach_cycle_details",
            ),
            Node(
                predict_robust,
                ["forecast_frame", "params:robust"],
                ["robust_predictions", "robust_selection_log"],
                name="predict_robust",
            ),
            Node(
                predict_oracle,
                "cycle_details",
                "oracle_predictions",
                name="predict_oracle",
            ),
            Node(
                combine_predictions,
                [
                    "forecast_frame",
                    "baseline_predictions",
                    "arima_predictions",
                    "ridge_predictions",
                    "lstm_predictions",
                    "gru_predictions",
                    "robust_predictions",
                    "oracle_predictions",
                ],
                "point_predictions",
                name="combine_predictions",
            ),
            Node(
                add_prediction_intervals,
                ["point_predictions", "params:intervals"],
                "forecast_predictions",
                name="add_prediction_intervals",
            ),
            Node(
                evaluate_forecasts,
                {
                    "predictions": "forecast_predictions",
                    "evaluation": "params:evaluation",
                    "intervals": "params:intervals",
                    "study_reference": "params:study_reference",
                },
                "forecast_metrics",
                name="evaluate_forecasts",
            ),
            Node(
                build_mlflow_metrics,
                "forecast_metrics",
                "forecast_mlflow_metrics",
                name="build_mlflow_metrics",
            ),
            Node(
                plot_predicted_vs_actual,
                ["forecast_predictions", "params:reporting"],
                "forecast_predicted_vs_actual@matplotlib",
                name="plot_predicted_vs_actual",
            ),
            Node(
                plot_error_by_prior_cycles,
                ["forecast_predictions", "params:reporting"],
                "forecast_error_by_prior_cycles@matplotlib",
                name="plot_error_by_prior_cycles",
            ),
            Node(
                plot_model_comparison,
                ["forecast_metrics", "params:reporting"],
                "forecast_model_comparison@matplotlib",
                name="plot_model_comparison",
            ),
            Node(
                forecast_next_cycle,
                {
                    "frame": "forecast_frame",
                    "predictions": "forecast_predictions",
                    "next_cycle": "params:next_cycle",
                    "intervals": "params:intervals",
                },
                "next_cycle_base",
                name="forecast_next_cycle",
            ),
            *_robust_and_incycle_nodes(),
        ]
    )


def _robust_and_incycle_nodes() -> list[Node]:
    """The cohort's model by the selection rule, the in-cycle forecasts and the current-cycle fields."""
    return [
        Node(
            select_cohort_model,
            ["forecast_frame", "params:robust"],
            "cohort_model",
            name="select_cohort_model",
        ),
        Node(
            selection_table,
            ["robust_selection_log", "cohort_model"],
            "model_selection",
            name="selection_table",
        ),
        Node(
            build_selection_mlflow_metrics,
            "model_selection",
            "selection_mlflow_metrics",
            name="build_selection_mlflow_metrics",
        ),
        Node(
            predict_incycle,
            ["cycle_details", "forecast_predictions", "params:incycle"],
            "incycle_predictions",
            name="predict_incycle",
        ),
        Node(
            evaluate_incycle,
            ["incycle_predictions", "params:incycle", "params:evaluation"],
            "incycle_metrics",
            name="evaluate_incycle",
        ),
        Node(
            build_incycle_mlflow_metrics,
            "incycle_metrics",
            "incycle_mlflow_metrics",
            name="build_incycle_mlflow_metrics",
        ),
        Node(
            plot_incycle_error,
            ["incycle_predictions", "params:reporting"],
            "incycle_error_by_day",
            name="plot_incycle_error",
        ),
        Node(
            fit_cohort_incycle_state,
            {
                "details": "cycle_details",
                "predictions": "forecast_predictions",
                "cohort_model": "cohort_model",
                "incycle": "params:incycle",
            },
            "incycle_state",
            name="fit_cohort_incycle_state",
        ),
        Node(
            current_cycle_status,
            "forecast_frame",
            "current_cycle",
            name="current_cycle_status",
        ),
        Node(
            add_current_cycle_fields,
            {
                "next_cycle_base": "next_cycle_base",
                "details": "cycle_details",
                "incycle_state": "incycle_state",
                "current_cycle": "current_cycle",
            },
            "next_cycle_forecast",
            name="add_current_cycle_fields",
        ),
    ]


def create_signal_comparison() -> Pipeline:
    """Signal vs no-signal synthetic cohorts: gains of the exogenous-feature models over shrinkage."""
    return Pipeline(
        [
            Node(
                compare_signal_cohorts,
                ["signal_predictions", "nosignal_predictions", "params:signal_comparison"],
                "signal_comparison",
                name="compare_signal_cohorts",
            ),
            Node(
                build_signal_mlflow_metrics,
                "signal_comparison",
                "signal_mlflow_metrics",
                name="build_signal_mlflow_metrics",
            ),
        ],
        namespace="forecasting",
        inputs={
            "signal_predictions": "forecasting.signal.forecast_predictions",
            "nosignal_predictions": "forecasting.synthetic.forecast_predictions",
        },
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Run the template once per cohort, in namespaces ``forecasting.<cohort>``.

    Per-cohort parameters are ``forecasting.<cohort>.*``; the LSTM/GRU settings and the study's
    reference numbers are shared by both cohorts (``forecasting.lstm``, ``forecasting.gru``,
    ``forecasting.study_reference``).
    """
    template = create_template()
    cohorts = sum(
        Pipeline(
            template,
            namespace=f"forecasting.{cohort}",
            inputs={"model_input": model_input, "cycles": cycles},
            parameters={
                "params:study_reference": "params:forecasting.study_reference",
                "params:lstm": "params:forecasting.lstm",
                "params:gru": "params:forecasting.gru",
            },
        )
        for cohort, (model_input, cycles) in COHORTS.items()
    )
    return cohorts + create_signal_comparison()
