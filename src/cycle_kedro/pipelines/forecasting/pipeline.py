"""The ``forecasting`` pipeline: one template, run once per cohort as ``forecasting.<cohort>``."""

from kedro.pipeline import Node, Pipeline

from cycle_kedro.cohorts import COHORTS

from .current_cycle import add_current_cycle_fields, current_cycle_status, fit_cohort_incycle_state
from .evaluation import add_prediction_intervals, build_mlflow_metrics, evaluate_forecasts
from .folds import attach_cycle_details, prepare_forecast_frame
from .incycle_evaluation import build_incycle_mlflow_metrics, evaluate_incycle, predict_incycle
from .model_selection import (
    build_selection_mlflow_metrics,
    predict_robust,
    select_cohort_model,
    selection_table,
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
from .plots import (
    plot_error_by_prior_cycles,
    plot_incycle_error,
    plot_model_comparison,
    plot_predicted_vs_actual,
)
from .signal import build_signal_mlflow_metrics, compare_signal_cohorts, predict_oracle


def _frame_and_models() -> Pipeline:
    """The forecast frame, each cycle's details and every model's out-of-fold forecasts."""
    return Pipeline(
        [
            Node(
                func=prepare_forecast_frame,
                inputs=["model_input", "params:evaluation"],
                outputs="forecast_frame",
                name="prepare_forecast_frame",
            ),
            Node(
                func=attach_cycle_details,
                inputs=["forecast_frame", "cycles"],
                outputs="cycle_details",
                name="attach_cycle_details",
            ),
            Node(
                func=predict_baselines,
                inputs="forecast_frame",
                outputs="baseline_predictions",
                name="predict_baselines",
            ),
            Node(
                func=predict_arima,
                inputs=["forecast_frame", "params:arima"],
                outputs="arima_predictions",
                name="predict_arima",
            ),
            Node(
                func=predict_ridge,
                inputs=["forecast_frame", "params:ridge"],
                outputs="ridge_predictions",
                name="predict_ridge",
            ),
            Node(
                func=predict_lstm,
                inputs=["forecast_frame", "params:lstm"],
                outputs=["lstm_predictions", "lstm_val_loss"],
                name="predict_lstm",
            ),
            Node(
                func=predict_gru,
                inputs=["forecast_frame", "params:gru"],
                outputs=["gru_predictions", "gru_val_loss"],
                name="predict_gru",
            ),
            Node(
                func=predict_robust,
                inputs=["forecast_frame", "params:robust"],
                outputs=["robust_predictions", "robust_selection_log"],
                name="predict_robust",
            ),
            Node(
                func=predict_oracle,
                inputs="cycle_details",
                outputs="oracle_predictions",
                name="predict_oracle",
            ),
            Node(
                func=combine_predictions,
                inputs=[
                    "forecast_frame",
                    "baseline_predictions",
                    "arima_predictions",
                    "ridge_predictions",
                    "lstm_predictions",
                    "gru_predictions",
                    "robust_predictions",
                    "oracle_predictions",
                ],
                outputs="point_predictions",
                name="combine_predictions",
            ),
        ]
    )


def _intervals_and_evaluation() -> Pipeline:
    """Conformal intervals, the metrics table and its MLflow metrics."""
    return Pipeline(
        [
            Node(
                func=add_prediction_intervals,
                inputs=["point_predictions", "params:intervals"],
                outputs="forecast_predictions",
                name="add_prediction_intervals",
            ),
            Node(
                func=evaluate_forecasts,
                inputs={
                    "predictions": "forecast_predictions",
                    "evaluation": "params:evaluation",
                    "intervals": "params:intervals",
                    "study_reference": "params:study_reference",
                },
                outputs="forecast_metrics",
                name="evaluate_forecasts",
            ),
            Node(
                func=build_mlflow_metrics,
                inputs="forecast_metrics",
                outputs="forecast_mlflow_metrics",
                name="build_mlflow_metrics",
            ),
        ]
    )


def _model_selection() -> Pipeline:
    """The selection rule on the whole cohort, its choices per fold and their MLflow metrics."""
    return Pipeline(
        [
            Node(
                func=select_cohort_model,
                inputs=["forecast_frame", "params:robust"],
                outputs="cohort_model",
                name="select_cohort_model",
            ),
            Node(
                func=selection_table,
                inputs=["robust_selection_log", "cohort_model"],
                outputs="model_selection",
                name="selection_table",
            ),
            Node(
                func=build_selection_mlflow_metrics,
                inputs="model_selection",
                outputs="selection_mlflow_metrics",
                name="build_selection_mlflow_metrics",
            ),
        ]
    )


def _incycle_evaluation() -> Pipeline:
    """Out-of-fold in-cycle forecasts, their table per moment and its MLflow metrics."""
    return Pipeline(
        [
            Node(
                func=predict_incycle,
                inputs=["cycle_details", "forecast_predictions", "params:incycle"],
                outputs="incycle_predictions",
                name="predict_incycle",
            ),
            Node(
                func=evaluate_incycle,
                inputs=["incycle_predictions", "params:incycle", "params:evaluation"],
                outputs="incycle_metrics",
                name="evaluate_incycle",
            ),
            Node(
                func=build_incycle_mlflow_metrics,
                inputs="incycle_metrics",
                outputs="incycle_mlflow_metrics",
                name="build_incycle_mlflow_metrics",
            ),
        ]
    )


def _current_cycle() -> Pipeline:
    """Each woman's next-cycle forecast with the current cycle's fields (``next_cycle_forecast``)."""
    return Pipeline(
        [
            Node(
                func=forecast_next_cycle,
                inputs={
                    "frame": "forecast_frame",
                    "predictions": "forecast_predictions",
                    "next_cycle": "params:next_cycle",
                    "intervals": "params:intervals",
                },
                outputs="next_cycle_base",
                name="forecast_next_cycle",
            ),
            Node(
                func=fit_cohort_incycle_state,
                inputs={
                    "details": "cycle_details",
                    "predictions": "forecast_predictions",
                    "cohort_model": "cohort_model",
                    "incycle": "params:incycle",
                },
                outputs="incycle_state",
                name="fit_cohort_incycle_state",
            ),
            Node(
                func=current_cycle_status,
                inputs="forecast_frame",
                outputs="current_cycle",
                name="current_cycle_status",
            ),
            Node(
                func=add_current_cycle_fields,
                inputs={
                    "next_cycle_base": "next_cycle_base",
                    "details": "cycle_details",
                    "incycle_state": "incycle_state",
                    "current_cycle": "current_cycle",
                },
                outputs="next_cycle_forecast",
                name="add_current_cycle_fields",
            ),
        ]
    )


def _plots() -> Pipeline:
    """The cohort's four figures."""
    return Pipeline(
        [
            Node(
                func=plot_predicted_vs_actual,
                inputs=["forecast_predictions", "params:reporting"],
                outputs="forecast_predicted_vs_actual@matplotlib",
                name="plot_predicted_vs_actual",
            ),
            Node(
                func=plot_error_by_prior_cycles,
                inputs=["forecast_predictions", "params:reporting"],
                outputs="forecast_error_by_prior_cycles@matplotlib",
                name="plot_error_by_prior_cycles",
            ),
            Node(
                func=plot_model_comparison,
                inputs=["forecast_metrics", "params:reporting"],
                outputs="forecast_model_comparison@matplotlib",
                name="plot_model_comparison",
            ),
            Node(
                func=plot_incycle_error,
                inputs=["incycle_predictions", "params:reporting"],
                outputs="incycle_error_by_day",
                name="plot_incycle_error",
            ),
        ]
    )


def create_template() -> Pipeline:
    """Build the cohort-agnostic template on inputs ``model_input`` and ``cycles``."""
    return (
        _frame_and_models()
        + _intervals_and_evaluation()
        + _model_selection()
        + _incycle_evaluation()
        + _current_cycle()
        + _plots()
    )


def create_signal_comparison() -> Pipeline:
    """Signal vs no-signal synthetic cohorts: gains of the exogenous-feature models over shrinkage."""
    return Pipeline(
        [
            Node(
                func=compare_signal_cohorts,
                inputs=["signal_predictions", "nosignal_predictions", "params:signal_comparison"],
                outputs="signal_comparison",
                name="compare_signal_cohorts",
            ),
            Node(
                func=build_signal_mlflow_metrics,
                inputs="signal_comparison",
                outputs="signal_mlflow_metrics",
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
    """Run the template once per cohort of :data:`cycle_kedro.cohorts.COHORTS`, in namespaces
    ``forecasting.<cohort>``.

    Per-cohort parameters are ``forecasting.<cohort>.*``; the LSTM/GRU settings and the study's
    reference numbers are shared by every cohort (``forecasting.lstm``, ``forecasting.gru``,
    ``forecasting.study_reference``).
    """
    template = create_template()
    cohorts = sum(
        Pipeline(
            template,
            namespace=f"forecasting.{cohort.name}",
            inputs={"model_input": cohort.model_input, "cycles": cohort.cycles},
            parameters={
                "params:study_reference": "params:forecasting.study_reference",
                "params:lstm": "params:forecasting.lstm",
                "params:gru": "params:forecasting.gru",
            },
        )
        for cohort in COHORTS.values()
    )
    return cohorts + create_signal_comparison()
