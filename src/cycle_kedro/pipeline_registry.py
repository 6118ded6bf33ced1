"""Project pipelines."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from cycle_kedro.pipelines import forecasting_training, ingestion, statistics


def register_pipelines() -> dict[str, Pipeline]:
    """One pipeline per folder under ``pipelines/``, their sum as ``__default__``, plus ``mcphases``
    and ``forecasting_training``.

    ``mcphases`` needs the restricted mcPHASES data (``MCPHASES_DIR``), so it stays out of the default run.
    ``forecasting_training`` (found as the training part of its folder) is replaced by kedro-mlflow's
    ``PipelineML`` (training bound to inference): running it logs the served model and registers a
    version of ``cycle_forecaster``. The default run contains the training part (seconds) but logs
    no model: kedro-mlflow logs one only when the pipeline run is the ``PipelineML`` itself.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(pipelines.values())
    pipelines["mcphases"] = (
        ingestion.create_mcphases_pipeline() + statistics.create_mcphases_pipeline()
    )
    pipelines["forecasting_training"] = forecasting_training.create_ml_pipeline()
    return pipelines
