"""Project pipelines."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from cycle_kedro.pipelines import ingestion, statistics


def register_pipelines() -> dict[str, Pipeline]:
    """One pipeline per folder under ``pipelines/``, their sum as ``__default__``, plus ``mcphases``.

    ``mcphases`` needs the restricted mcPHASES data (``MCPHASES_DIR``), so it stays out of the default run.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(pipelines.values())
    pipelines["mcphases"] = (
        ingestion.create_mcphases_pipeline() + statistics.create_mcphases_pipeline()
    )
    return pipelines
