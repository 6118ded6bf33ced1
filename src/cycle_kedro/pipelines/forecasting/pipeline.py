"""The ``forecasting`` pipeline: one template, run on the ``fedcycle`` and ``synthetic`` cohorts."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    add_prediction_intervals,
    combine_predictions,
    evaluate_forecasts,
    forecast_next_cycle,
    metrics_for_mlflow,
    plot_error_by_prior_cycles,
    plot_model_comparison,
    plot_predicted_vs_actual,
    predict_arima,
    predict_baselines,
    predict_recurrent_cv,
    predict_ridge,
    prepare_forecast_frame,
)

COHORTS = {"fedcycle": "fedcycle_model_input", "synthetic": "synthetic_model_input"}


def create_template() -> Pipeline:
    """Build the cohort-agnostic template on input ``model_input``."""
    return Pipeline(
        [
            Node(
                prepare_forecast_frame,
                ["model_input", "params:forecast_evaluation"],
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
                predict_recurrent_cv,
                ["forecast_frame", "params:lstm"],
                ["lstm_predictions", "lstm_val_loss"],
                name="train_lstm",
            ),
            Node(
                predict_recurrent_cv,
                ["forecast_frame", "params:gru"],
                ["gru_predictions", "gru_val_loss"],
                name="train_gru",
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
                ],
                "point_predictions",
                name="combine_predictions",
            ),
            Node(
                add_prediction_intervals,
                ["point_predictions", "params:forecast_intervals"],
                "forecast_predictions",
                name="add_prediction_intervals",
            ),
            Node(
                evaluate_forecasts,
                [
                    "forecast_predictions",
                    "params:forecast_evaluation",
                    "params:forecast_intervals",
                    "params:study_reference",
                ],
                "forecast_metrics",
                name="evaluate_forecasts",
            ),
            Node(
                metrics_for_mlflow,
                "forecast_metrics",
                "forecast_mlflow_metrics",
                name="log_forecast_metrics",
            ),
            Node(
                plot_predicted_vs_actual,
                ["forecast_predictions", "params:forecast_reporting"],
                "forecast_predicted_vs_actual",
                name="plot_predicted_vs_actual",
            ),
            Node(
                plot_error_by_prior_cycles,
                ["forecast_predictions", "params:forecast_reporting"],
                "forecast_error_by_prior_cycles",
                name="plot_error_by_prior_cycles",
            ),
            Node(
                plot_model_comparison,
                ["forecast_metrics", "params:forecast_reporting"],
                "forecast_model_comparison",
                name="plot_model_comparison",
            ),
            Node(
                forecast_next_cycle,
                [
                    "forecast_frame",
                    "forecast_predictions",
                    "params:next_cycle",
                    "params:forecast_intervals",
                ],
                "next_cycle_forecast",
                name="forecast_next_cycle",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Run the template once per cohort namespace (``fedcycle``, ``synthetic``)."""
    template = create_template()
    return sum(
        Pipeline(
            template,
            namespace=cohort,
            inputs={"model_input": dataset},
            parameters={
                "params:study_reference": "params:forecasting_study_reference",
                "params:lstm": "params:forecasting_lstm",
                "params:gru": "params:forecasting_gru",
            },
        )
        for cohort, dataset in COHORTS.items()
    )
