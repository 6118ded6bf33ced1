"""Datasets for Hugging Face model, tokenizer and PEFT adapter directories.

Libraries such as ``transformers`` and ``peft`` write whole directories with ``save_pretrained``;
these datasets own the paths, so nodes only return (and receive) in-memory objects:

* :class:`HFModelDataset` — a causal LM (``AutoModelForCausalLM``) saved as safetensors.
* :class:`HFTokenizerDataset` — a tokenizer (``AutoTokenizer``).
* :class:`PeftAdapterDataset` — a versioned LoRA adapter directory. ``save`` takes a
  ``PeftModel``; ``load`` returns a :class:`~cycle_kedro.assistant.adapter.LoraAdapter` (config +
  adapter weights) that :func:`~cycle_kedro.assistant.adapter.attach_adapter` puts on a loaded
  base model. Optionally also logged as an MLflow artifact folder when a run is active.

Paths are local; the project's ``RuntimeHooks`` set ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``
(``conf/base/runtime.yml``) before anything loads. Heavy libraries are imported on use. Pretrained
inputs that live outside ``data/`` (the GGUF file, the BERTScore encoder) are read by
:mod:`cycle_kedro.datasets.pretrained`.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from kedro.io import AbstractDataset, AbstractVersionedDataset, DatasetError, Version

from cycle_kedro.assistant.adapter import LoraAdapter
from cycle_kedro.assistant.artifacts import ADAPTER_WEIGHTS, load_adapter

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

_DTYPES = ("float32", "float16", "bfloat16")


def torch_dtype(name: str) -> Any:
    """Return the ``torch`` dtype called ``name`` (float32, float16 or bfloat16)."""
    import torch  # noqa: PLC0415

    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES}, got {name!r}")
    return getattr(torch, name)


def make_serializable(model: PreTrainedModel) -> PreTrainedModel:
    """Drop the GGUF quantizer left on a de-quantised model so ``save_pretrained`` accepts it."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model


class _DirectoryDataset(AbstractDataset):
    """A directory written by ``save_pretrained`` (unversioned)."""

    def __init__(
        self,
        *,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = PurePosixPath(filepath)
        self._load_args = dict(load_args or {})
        self.metadata = metadata

    def _exists(self) -> bool:
        return (Path(self._filepath) / "config.json").is_file() or (
            Path(self._filepath) / "tokenizer_config.json"
        ).is_file()

    def _require(self) -> Path:
        path = Path(self._filepath)
        if not self._exists():
            raise DatasetError(
                f"{path}: no saved model/tokenizer here; run `kedro run --pipeline=llm` "
                "(node llm.convert_base_model) first"
            )
        return path

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "load_args": self._load_args}


class HFModelDataset(_DirectoryDataset):
    """A causal language model directory (safetensors). ``load_args.dtype``: float32/bfloat16/..."""

    def load(self) -> PreTrainedModel:
        from transformers import AutoModelForCausalLM  # noqa: PLC0415

        args = dict(self._load_args)
        args["dtype"] = torch_dtype(args.get("dtype", "float32"))
        return AutoModelForCausalLM.from_pretrained(str(self._require()), **args)

    def save(self, data: PreTrainedModel) -> None:
        path = Path(self._filepath)
        path.mkdir(parents=True, exist_ok=True)
        make_serializable(data).save_pretrained(str(path))
        logger.info("Saved model to %s", path)


class HFTokenizerDataset(_DirectoryDataset):
    """A tokenizer directory (``AutoTokenizer``)."""

    def _exists(self) -> bool:
        return (Path(self._filepath) / "tokenizer_config.json").is_file()

    def load(self) -> PreTrainedTokenizerBase:
        from transformers import AutoTokenizer  # noqa: PLC0415

        return AutoTokenizer.from_pretrained(str(self._require()), **self._load_args)

    def save(self, data: PreTrainedTokenizerBase) -> None:
        path = Path(self._filepath)
        path.mkdir(parents=True, exist_ok=True)
        data.save_pretrained(str(path))


class PeftAdapterDataset(AbstractVersionedDataset[Any, LoraAdapter]):
    """Versioned PEFT adapter directory: ``save`` takes a ``PeftModel``, ``load`` a :class:`LoraAdapter`.

    Args:
        filepath: the adapter directory (versions go under it when ``versioned: true``).
        mlflow_artifact_path: if set and an MLflow run is active, the saved directory is also
            logged as an artifact folder of that name.
    """

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        mlflow_artifact_path: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        self._mlflow_artifact_path = mlflow_artifact_path
        self.metadata = metadata

    def load(self) -> LoraAdapter:
        path = Path(self._get_load_path())
        if not (path / ADAPTER_WEIGHTS).is_file():
            raise DatasetError(f"{path}: no {ADAPTER_WEIGHTS}; train the adapter first")
        return load_adapter(path)

    def save(self, data: PeftModel) -> None:
        path = Path(self._get_save_path())
        path.mkdir(parents=True, exist_ok=True)
        data.save_pretrained(str(path))
        # the base model's own path is meaningless elsewhere; keep the config portable
        logger.info("Saved LoRA adapter to %s", path)
        self._log_to_mlflow(path)

    def _log_to_mlflow(self, path: Path) -> None:
        if not self._mlflow_artifact_path:
            return
        import mlflow  # noqa: PLC0415

        if mlflow.active_run() is None:
            return
        mlflow.log_artifacts(str(path), artifact_path=self._mlflow_artifact_path)

    def _exists(self) -> bool:
        try:
            path = Path(self._get_load_path())
        except DatasetError:
            return False
        return (path / ADAPTER_WEIGHTS).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}
