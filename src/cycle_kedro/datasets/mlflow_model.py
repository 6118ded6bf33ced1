"""A served MLflow model, logged and registered from a node output by the run that makes it.

A node returns an ``mlflow.pyfunc.PythonModel`` (e.g.
:class:`cycle_kedro.cycles.serving.CycleForecasterModel`); on save this dataset logs it into the
run's MLflow run and, with ``save_args.registered_model_name``, registers a new version, so any
``kedro run`` that contains the node (the default run too) leaves a registered model. It is
kedro-mlflow's ``MlflowModelTrackingDataset`` (flavor ``mlflow.pyfunc``, workflow ``python_model``;
``save_args`` go to ``mlflow.pyfunc.log_model``) plus what YAML cannot hold: the input example
comes from the model's ``input_example()`` and the signature is inferred from it (inputs only).
The model's artifacts (``context.artifacts`` in ``load_context``) are the files named in
``save_args.artifacts`` (artifact name -> path; the forecaster's state file) plus, for a model with
``write_artifacts(directory) -> {artifact name: path}`` (:class:`cycle_kedro.assistant.served.AssistantModel`:
weights, tokenizer, index), those it writes into a temporary directory.
Each served model is one catalog entry::

    cycle_forecaster:
      type: cycle_kedro.datasets.mlflow_model.MlflowServedModelDataset
      save_args:
        name: cycle_forecaster
        registered_model_name: cycle_forecaster

The class name keeps kedro-mlflow's ``Mlflow`` prefix: its hook turns logging off for datasets so
named when tracking is disabled for a pipeline (``mlflow.yml`` ``disable_tracking``).
"""

import tempfile
from pathlib import Path
from typing import Any

import mlflow
from kedro_mlflow.io.models import MlflowModelTrackingDataset
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel


class MlflowServedModelDataset(MlflowModelTrackingDataset):
    """Logs (and registers) a ``PythonModel`` with ``input_example()``: signature and example from it."""

    def __init__(
        self,
        save_args: dict[str, Any] | None = None,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            flavor="mlflow.pyfunc",
            pyfunc_workflow="python_model",
            load_args=load_args,
            save_args=save_args,
            metadata=metadata,
        )

    def _save(self, model: PythonModel) -> None:
        if not self._logging_activated:
            return
        example = model.input_example()
        save_args = dict(self._save_args)
        artifacts = dict(save_args.pop("artifacts", None) or {})  # files named in the catalog
        with tempfile.TemporaryDirectory() as tmp:
            if hasattr(model, "write_artifacts"):  # those it writes, where log_model copies from
                artifacts |= model.write_artifacts(Path(tmp))
            self.model_info = mlflow.pyfunc.log_model(
                python_model=model,
                artifacts=artifacts or None,
                signature=infer_signature(example),
                input_example=example,
                **save_args,
            )
        self._last_saved_model_uri = self.model_info.model_uri
