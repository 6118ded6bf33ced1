"""The ``mcphases`` pipeline: ingestion and statistics on the restricted mcPHASES data (``MCPHASES_DIR``).

Its nodes belong to the ``ingestion`` and ``statistics`` pipelines (``create_mcphases_pipeline`` in
each), and a pipeline never imports another, so this folder holds none. It gives the pipeline its
name for Kedro's discovery (``kedro run --pipeline=mcphases`` imports only the folder of that name),
and ``pipeline_registry.py`` puts the two parts under it. The data are not shipped, so the pipeline
stays out of the default run.
"""

from kedro.pipeline import Pipeline


def create_pipeline(**kwargs) -> Pipeline:
    """Empty here: ``register_pipelines`` replaces it with ingestion's and statistics' mcPHASES parts."""
    return Pipeline([])
