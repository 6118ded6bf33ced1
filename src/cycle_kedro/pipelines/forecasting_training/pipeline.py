"""The ``forecasting_training`` pipeline: the next-cycle forecaster fitted on FedCycle, logged as a served model.

It fits the forecaster's state (``cycle_forecaster_state``) and wraps it as the MLflow pyfunc model
``cycle_forecaster``, which its catalog dataset logs into the run and registers as a new version.
The pipeline is part of ``__default__``, so ``kedro run`` and ``kedro run --pipeline=forecasting_training``
both leave a registered version, served by ``mlflow models serve -m models:/cycle_forecaster/latest``.
"""

from kedro.pipeline import Node, Pipeline

from .training import (
    attach_ovulation_days,
    build_cycle_forecaster,
    compute_calibration_residuals,
    fit_cycle_forecaster,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Fit the forecaster on FedCycle (``cycle_forecaster_state``) and build the served model.

    Namespace ``forecasting_training`` (one group in kedro-viz); the cohort tables it reads and the state and
    model it writes keep their names.
    """
    template = Pipeline(
        [
            Node(
                func=attach_ovulation_days,
                inputs=["fedcycle_model_input", "fedcycle_cycles"],
                outputs="forecaster_training_cycles",
                name="attach_ovulation_days",
            ),
            Node(
                func=compute_calibration_residuals,
                inputs=[
                    "fedcycle_model_input",
                    "params:calibration",
                    "params:forecaster",
                ],
                outputs="forecaster_calibration_residuals",
                name="compute_calibration_residuals",
            ),
            Node(
                func=fit_cycle_forecaster,
                inputs=[
                    "forecaster_training_cycles",
                    "forecaster_calibration_residuals",
                    "params:forecaster",
                    "population.app.adherence_model",
                ],
                outputs="cycle_forecaster_state",
                name="fit_cycle_forecaster",
            ),
            Node(
                func=build_cycle_forecaster,
                inputs="cycle_forecaster_state",
                outputs="cycle_forecaster",
                name="build_cycle_forecaster",
            ),
        ],
        tags="training",
    )
    return Pipeline(
        template,
        namespace="forecasting_training",
        inputs={"fedcycle_model_input", "fedcycle_cycles", "population.app.adherence_model"},
        outputs={"cycle_forecaster_state", "cycle_forecaster"},
    )
