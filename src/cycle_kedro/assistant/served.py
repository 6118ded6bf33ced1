"""The served MLflow model ``cycle_assistant``: the assistant behind ``mlflow models serve``.

:class:`AssistantModel` answers a request (one row per question: ``question``, optional
``system``) with :func:`~cycle_kedro.assistant.answering.answer`, the call ``cycle-ask`` makes, on
the same resources and parameters, so a served answer equals ``cycle-ask --json``'s for the same
question and system: ``answer``, ``sources`` (URLs), ``flags``, plus ``abstained`` (also in
``flags``) and the ``system`` that answered (the request's, else the ``default_system``).

Its resources (base model, tokenizer, LoRA adapter, retrieval index, sentence encoder: a dict of
name -> object, the names of :data:`~cycle_kedro.assistant.artifacts.STORAGE`) travel as MLflow
artifacts: :meth:`AssistantModel.write_artifacts` writes them when the model is logged and
:meth:`AssistantModel.load_context` reads them back when it is served; the pickled model holds only
the parameters. A question that is empty or longer than ``max_question_chars``, or an unknown
system, raises ``MlflowException(INVALID_PARAMETER_VALUE)``: MLflow's scoring server answers it
with a 400 and the message. ``predict`` is typed (``pandas.DataFrame`` in and out), as MLflow asks
of a ``PythonModel``; the signature is the one inferred from :meth:`AssistantModel.input_example`.

This module imports MLflow; the rest of the library does not.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel, PythonModelContext

from .answering import answer
from .artifacts import read_resource, write_resource
from .systems import SYSTEMS, model_of, system_models

#: a made-up request: one question for the default system, one for retrieval only
EXAMPLE_REQUEST = {
    "question": ["What is endometriosis?", "What are the symptoms of menopause?"],
    "system": [None, "retrieval"],
}
OUTPUT_COLUMNS = ["answer", "sources", "flags", "abstained", "system"]


class AssistantModel(PythonModel):
    """Grounded answers with their sources, one per question (MLflow pyfunc).

    Args:
        resources: ``base_model``, ``tokenizer``, ``lora_adapter``, ``retrieval_index``,
            ``text_encoder`` (the loaded ``llm`` datasets); written as artifacts, not pickled.
        params: the ``llm`` parameter groups :func:`~cycle_kedro.assistant.answering.answer`
            reads (``prompt``, ``retrieval``, ``evaluation``).
        options: generation options (the ``llm.ask`` group, as ``cycle-ask``).
        serving: ``default_system`` (a system of :data:`~cycle_kedro.assistant.systems.SYSTEMS`)
            and ``max_question_chars``.
    """

    def __init__(
        self,
        resources: dict[str, Any],
        params: dict[str, Any],
        options: dict[str, Any],
        serving: dict[str, Any],
    ) -> None:
        if serving["default_system"] not in SYSTEMS:
            raise ValueError(f"default_system must be one of {list(SYSTEMS)}")
        self.resources = resources
        self.params = params
        self.options = options
        self.serving = serving
        self._models: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        """What is pickled: the parameters (the resources travel as artifacts)."""
        return {**self.__dict__, "resources": {}, "_models": {}}

    def __deepcopy__(self, memo: dict[int, Any]) -> AssistantModel:
        """A copy with the same (large, read-only) resources (Kedro's ``MemoryDataset`` copies)."""
        return AssistantModel(
            self.resources,
            params=copy.deepcopy(self.params, memo),
            options=copy.deepcopy(self.options, memo),
            serving=copy.deepcopy(self.serving, memo),
        )

    @staticmethod
    def input_example() -> pd.DataFrame:
        """:data:`EXAMPLE_REQUEST`: the model's input example, and the table its signature is
        inferred from (``system`` may be missing or null)."""
        return pd.DataFrame(EXAMPLE_REQUEST)

    def write_artifacts(self, directory: Path) -> dict[str, str]:
        """Write each resource into ``directory/<name>``; artifact name -> path, for ``log_model``."""
        return {
            name: write_resource(name, resource, directory / name)
            for name, resource in self.resources.items()
            if resource is not None
        }

    def load_context(self, context: PythonModelContext) -> None:
        """Read the resources back from the model's artifacts; build the default system's model."""
        self.resources = {
            name: read_resource(name, path) for name, path in context.artifacts.items()
        }
        adapter = self.resources.get("lora_adapter")
        if adapter is not None:  # its base model is the artifact now (peft warns otherwise)
            adapter.config.base_model_name_or_path = self.resources["base_model"].name_or_path
        self._models = {}
        self._model_for(self.serving["default_system"])

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """One answer per request row (:data:`OUTPUT_COLUMNS`), as ``cycle-ask`` answers it.

        A bad request raises ``MlflowException(INVALID_PARAMETER_VALUE)`` naming the row (MLflow's
        scoring server answers it with a 400 and that message).
        """
        rows = [self.answer(question, system) for question, system in self.requests(model_input)]
        return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)

    def requests(self, model_input: pd.DataFrame) -> list[tuple[str, str]]:
        """The (question, system) of each row; a missing, null or empty system is the default."""
        if "question" not in model_input.columns:
            _reject("the request needs a column 'question'")
        if model_input.empty:
            _reject("the request has no rows: send at least one question")
        limit = self.serving["max_question_chars"]
        systems = model_input.get("system", pd.Series(None, index=model_input.index))
        out = []
        for row, (question, asked) in enumerate(zip(model_input["question"], systems, strict=True)):
            if not isinstance(question, str) or not question.strip():
                _reject(f"row {row}: the question is empty; ask something")
            if len(question) > limit:
                _reject(f"row {row}: the question has {len(question)} characters; at most {limit}")
            unset = asked is None or pd.isna(asked) or not str(asked).strip()
            system = self.serving["default_system"] if unset else asked
            if system not in SYSTEMS:
                _reject(f"row {row}: unknown system {system!r}; choose from {list(SYSTEMS)}")
            out.append((question, system))
        return out

    def answer(self, question: str, system: str) -> dict[str, Any]:
        """One row of the answer: :func:`~cycle_kedro.assistant.answering.answer`'s result (a
        missing number in ``flags``, e.g. the ``confidence`` of a system without retrieval, is
        ``None``: ``null`` in the JSON answer, not ``NaN``)."""
        result = answer(
            question,
            system,
            model=self._model_for(system),
            tokenizer=self.resources.get("tokenizer"),
            index=self.resources.get("retrieval_index"),
            encoder=self.resources.get("text_encoder"),
            params=self.params,
            options=self.options,
        )
        flags = {k: None if _is_nan(v) else v for k, v in result["flags"].items()}
        return {**result, "flags": flags, "abstained": flags["abstained"]}

    def _model_for(self, system: str) -> Any:
        """The system's model, built once (``lora``: a merged copy of the base model); ``None``
        for a system that answers without one (``extractive``, ``retrieval``)."""
        name = model_of(system)
        if name not in self._models:
            self._models.update(
                system_models(
                    self.resources.get("base_model"), self.resources.get("lora_adapter"), [system]
                )
            )
        return self._models.get(name)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _reject(message: str) -> None:
    raise MlflowException(message, error_code=INVALID_PARAMETER_VALUE)
