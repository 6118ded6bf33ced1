"""The ``forecasting`` pipeline: one template, run as ``forecasting.fedcycle`` and ``forecasting.synthetic``."""

from kedro.pipeline import Node, Pipeline

from .evaluation import add_prediction_intervals, build_mlflow_metrics, evaluate_forecasts
from .folds import prepare_forecast_frame
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

COHORTS = {"fedcycle": "fedcycle_model_input", "synthetic": "synthetic_model_input"}


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
                "next_cycle_forecast",
                name="forecast_next_cycle",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Run the template once per cohort, in namespaces ``forecasting.<cohort>``.

    Per-cohort parameters are ``forecasting.<cohort>.*``; the LSTM/GRU settings and the study's
    reference numbers are shared by both cohorts (``forecasting.lstm``, ``forecasting.gru``,
    ``forecasting.study_reference``).
    """
    template = create_template()
    return sum(
        Pipeline(
            template,
            namespace=f"forecasting.{cohort}",
            inputs={"model_input": dataset},
            parameters={
                "params:study_reference": "params:forecasting.study_reference",
                "params:lstm": "params:forecasting.lstm",
                "params:gru": "params:forecasting.gru",
            },
        )
        for cohort, dataset in COHORTS.items()
    )
