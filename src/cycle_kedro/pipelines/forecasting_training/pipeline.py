"""The ``forecasting_training`` pipeline: training (fit on FedCycle) and inference (answer a request).

``create_pipeline`` (found by ``find_pipelines``, so in ``__default__``) is the training part only:
it refits the state each run and registers nothing. ``create_ml_pipeline`` binds training and
inference with kedro-mlflow's ``pipeline_ml_factory``; the registry puts it under the same name, and
``kedro run --pipeline=forecasting_training`` logs the inference pipeline plus the fitted state as
one MLflow model and registers a new version of ``cycle_forecaster``.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    attach_ovulation_days,
    check_histories,
    compute_calibration_residuals,
    fit_cycle_forecaster,
    forecast_histories,
)

INPUT_NAME = "cycle_histories"
REGISTERED_MODEL = "cycle_forecaster"


def create_pipeline(**kwargs) -> Pipeline:
    """Training: fit the forecaster's state on FedCycle (``cycle_forecaster_state``)."""
    return Pipeline(
        [
            Node(
                attach_ovulation_days,
                ["fedcycle_model_input", "fedcycle_cycles"],
                "forecaster_training_cycles",
                name="attach_ovulation_days",
            ),
            Node(
                compute_calibration_residuals,
                [
                    "fedcycle_model_input",
                    "params:forecasting_training.calibration",
                    "params:forecasting_training.forecaster",
                ],
                "forecaster_calibration_residuals",
                name="compute_calibration_residuals",
            ),
            Node(
                fit_cycle_forecaster,
                [
                    "forecaster_training_cycles",
                    "forecaster_calibration_residuals",
                    "params:forecasting_training.forecaster",
                ],
                "cycle_forecaster_state",
                name="fit_cycle_forecaster",
            ),
        ],
        tags="training",
    )


def create_inference_pipeline() -> Pipeline:
    """Inference: ``cycle_histories`` (the request) + the state -> ``cycle_forecasts``."""
    return Pipeline(
        [
            Node(check_histories, INPUT_NAME, "valid_cycle_histories", name="check_histories"),
            Node(
                forecast_histories,
                ["cycle_forecaster_state", "valid_cycle_histories"],
                "cycle_forecasts",
                name="forecast_histories",
            ),
        ],
        tags="inference",
    )


def create_ml_pipeline():  # -> kedro_mlflow.pipeline.pipeline_ml.PipelineML
    """Training bound to inference; the hook logs and registers the model after each run."""
    import pandas as pd  # noqa: PLC0415
    from kedro_mlflow.pipeline import pipeline_ml_factory  # noqa: PLC0415
    from mlflow.models import infer_signature  # noqa: PLC0415

    from cycle_kedro.cycles.forecaster import EXAMPLE_HISTORIES  # noqa: PLC0415

    example = pd.DataFrame(EXAMPLE_HISTORIES)
    return pipeline_ml_factory(
        training=create_pipeline(),
        inference=create_inference_pipeline(),
        input_name=INPUT_NAME,
        log_model_kwargs={
            "name": REGISTERED_MODEL,
            "registered_model_name": REGISTERED_MODEL,
            "signature": infer_signature(example),
            "input_example": example,
        },
    )
