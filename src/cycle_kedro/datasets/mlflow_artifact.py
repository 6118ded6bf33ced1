"""A versioned MLflow artifact dataset that works with Kedro 1.x catalogs.

With kedro 1.7 + kedro-mlflow 2.0.3, ``versioned: true`` *inside* the ``dataset:`` block of a
``kedro_mlflow.io.artifacts.MlflowArtifactDataset`` fails at ``kedro run`` with
``VersionAlreadyExistsError``: kedro-mlflow builds the wrapped dataset itself, so the wrapped
dataset gets a fresh timestamp instead of the catalog's save version, and Kedro 1.x refuses two
save versions in one catalog. :class:`VersionedMlflowArtifactDataset` takes ``versioned: true`` at
the TOP level instead; Kedro then hands it the catalog's ``Version`` and it passes that on to the
wrapped dataset::

    "{cohort}.statistics_results":
      type: cycle_kedro.datasets.mlflow_artifact.VersionedMlflowArtifactDataset
      versioned: true               # here, not under dataset:
      artifact_path: statistics/{cohort}
      dataset:
        type: pandas.CSVDataset
        filepath: data/08_reporting/statistics/{cohort}_statistics_results.csv

Everything else (logging to the active run on save, ``artifact_path``) is kedro-mlflow's.
"""

from __future__ import annotations

from typing import Any

from kedro.io.core import AbstractVersionedDataset, Version
from kedro_mlflow.io.artifacts import MlflowArtifactDataset


class VersionedMlflowArtifactDataset(MlflowArtifactDataset):
    """``MlflowArtifactDataset`` whose wrapped dataset is saved under the catalog's save version."""

    def __new__(  # noqa: PLR0913, PLR0917
        cls,
        dataset: str | dict[str, Any],
        version: Version | None = None,
        run_id: str | None = None,
        artifact_path: str | None = None,
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> AbstractVersionedDataset:
        config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        config.pop("versioned", None)
        instance = MlflowArtifactDataset.__new__(
            MlflowArtifactDataset,
            dataset=config,
            run_id=run_id,
            artifact_path=artifact_path,
            credentials=credentials,
            metadata=metadata,
        )
        if version is not None:
            if not isinstance(instance, AbstractVersionedDataset):
                raise TypeError(
                    f"{config['type']} cannot be versioned (not an AbstractVersionedDataset)"
                )
            instance._version = version
        return instance
