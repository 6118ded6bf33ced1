"""Project pipelines."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def _mcphases() -> Pipeline:
    """ingestion's and statistics' mcPHASES parts (imported only when ``mcphases`` is loaded)."""
    from cycle_kedro.pipelines import ingestion, statistics  # noqa: PLC0415

    return ingestion.create_mcphases_pipeline() + statistics.create_mcphases_pipeline()


def register_pipelines() -> dict[str, Pipeline]:
    """One pipeline per folder under ``pipelines/``, their sum as ``__default__``.

    ``kedro run --pipeline=<name>`` finds only the folder ``<name>`` (Kedro's selective loading).
    ``mcphases`` needs the restricted mcPHASES data (``MCPHASES_DIR``): its folder only names it
    (empty, so the default run holds none of it) and its nodes, parts of ``ingestion`` and
    ``statistics``, are put under the name here. ``forecasting_training`` logs and registers the
    served model ``cycle_forecaster`` through its catalog dataset, in the default run too.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(pipelines.values())
    if "mcphases" in pipelines:
        pipelines["mcphases"] = _mcphases()
    return pipelines
