"""The assistant's resources as directories: written and read back the same way by the catalog and a served model.

One writer and one reader per resource, named as the ``llm`` catalog names them (:data:`STORAGE`):

* ``base_model`` — a causal LM, ``save_pretrained`` (safetensors) and read back in its saved dtype;
* ``tokenizer`` — ``save_pretrained`` / ``AutoTokenizer``;
* ``lora_adapter`` — a :class:`~cycle_kedro.assistant.adapter.LoraAdapter` as a ``peft`` adapter
  directory (``adapter_config.json`` + ``adapter_model.safetensors``);
* ``retrieval_index`` — a :class:`~cycle_kedro.assistant.retrieval.RetrievalIndex`:
  ``passages.parquet``, ``embeddings.npy``, ``bm25.npz`` + ``bm25.json`` (vocabulary, idf, k1, b,
  RRF k, encoder path);
* ``text_encoder`` — a :class:`~cycle_kedro.assistant.retrieval.TextEncoder`: its tokenizer and
  model (``save_pretrained``) and ``text_encoder.json`` (``max_length``).

The ``llm`` datasets (:mod:`cycle_kedro.datasets.hf`, :mod:`cycle_kedro.datasets.retrieval`) read
and write through these functions, and the served model ``cycle_assistant``
(:mod:`~cycle_kedro.assistant.served`) carries each resource as an MLflow artifact written by
:func:`write_resource` and read by :func:`read_resource`, so both load the same objects.
Heavy libraries are imported inside the functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .adapter import LoraAdapter
from .retrieval import Bm25, RetrievalIndex, TextEncoder

ADAPTER_WEIGHTS = "adapter_model.safetensors"
INDEX_META = "bm25.json"
ENCODER_META = "text_encoder.json"


def save_model(model: Any, path: Path) -> None:
    """``model.save_pretrained`` (safetensors) into ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))


def load_model(path: Path, dtype: str = "auto") -> Any:
    """The causal LM in ``path`` (eval mode), in its saved dtype unless ``dtype`` names one."""
    import torch  # noqa: PLC0415
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
    return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch_dtype).eval()


def save_tokenizer(tokenizer: Any, path: Path) -> None:
    """``tokenizer.save_pretrained`` into ``path`` (chat template included)."""
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(path))


def load_tokenizer(path: Path) -> Any:
    """The tokenizer in ``path``."""
    from transformers import AutoTokenizer  # noqa: PLC0415

    return AutoTokenizer.from_pretrained(str(path))


def save_adapter(adapter: LoraAdapter, path: Path) -> None:
    """The adapter as a ``peft`` adapter directory (what ``PeftModel.save_pretrained`` writes)."""
    from safetensors.torch import save_file  # noqa: PLC0415

    path.mkdir(parents=True, exist_ok=True)
    adapter.config.save_pretrained(str(path))
    weights = {name: tensor.contiguous() for name, tensor in adapter.state_dict.items()}
    save_file(weights, str(path / ADAPTER_WEIGHTS))


def load_adapter(path: Path) -> LoraAdapter:
    """The ``peft`` adapter directory ``path`` as a :class:`LoraAdapter` (inference mode).

    Raises ``FileNotFoundError`` when ``path`` holds no adapter weights.
    """
    from peft import PeftConfig  # noqa: PLC0415
    from safetensors.torch import load_file  # noqa: PLC0415

    weights = path / ADAPTER_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"{path}: no {ADAPTER_WEIGHTS}; train the adapter first")
    config = PeftConfig.from_pretrained(str(path))
    config.inference_mode = True
    return LoraAdapter(config=config, state_dict=load_file(str(weights)))


def save_index(index: RetrievalIndex, path: Path) -> None:
    """The index's passages, dense vectors and BM25 ranker into ``path``."""
    from scipy import sparse  # noqa: PLC0415

    path.mkdir(parents=True, exist_ok=True)
    index.passages.to_parquet(path / "passages.parquet", index=False)
    np.save(path / "embeddings.npy", index.embeddings)
    sparse.save_npz(path / "bm25.npz", index.bm25.doc_tf.tocsr())
    meta = {
        "vocabulary": index.bm25.vocabulary, "idf": index.bm25.idf.tolist(), "k1": index.bm25.k1,
        "b": index.bm25.b, "rrf_k": index.rrf_k, "encoder_path": index.encoder_path,
    }  # fmt: skip
    if index.lay_terms or index.type_weight:  # the pretrained index's file stays as it was
        meta |= {"lay_terms": index.lay_terms, "type_weight": index.type_weight}
    (path / INDEX_META).write_text(json.dumps(meta), encoding="utf-8")


def load_index(path: Path) -> RetrievalIndex:
    """The index saved by :func:`save_index` in ``path`` (``FileNotFoundError`` when there is none)."""
    from scipy import sparse  # noqa: PLC0415

    if not (path / INDEX_META).is_file():
        raise FileNotFoundError(f"{path}: no retrieval index here ({INDEX_META} missing)")
    meta = json.loads((path / INDEX_META).read_text(encoding="utf-8"))
    bm25 = Bm25(
        vocabulary=meta["vocabulary"], idf=np.asarray(meta["idf"]),
        doc_tf=sparse.load_npz(path / "bm25.npz").tocsr(), k1=meta["k1"], b=meta["b"],
    )  # fmt: skip
    return RetrievalIndex(
        passages=pd.read_parquet(path / "passages.parquet"),
        embeddings=np.load(path / "embeddings.npy"),
        bm25=bm25,
        encoder_path=meta.get("encoder_path", ""),
        rrf_k=meta["rrf_k"],
        lay_terms=meta.get("lay_terms", False),
        type_weight=meta.get("type_weight", 0.0),
    )


def save_encoder(encoder: TextEncoder, path: Path) -> None:
    """The encoder's tokenizer and model (``save_pretrained``) and its ``max_length``."""
    path.mkdir(parents=True, exist_ok=True)
    encoder.tokenizer.save_pretrained(str(path))
    encoder.model.save_pretrained(str(path))
    meta = {"max_length": encoder.max_length}
    (path / ENCODER_META).write_text(json.dumps(meta), encoding="utf-8")


def load_encoder(path: Path, max_length: int | None = None) -> TextEncoder:
    """The BERT-like encoder directory ``path`` as a :class:`TextEncoder` (eval mode).

    ``max_length``: tokens embedded per text; ``None`` reads it from the directory's
    ``text_encoder.json`` (written by :func:`save_encoder`). ``FileNotFoundError`` when ``path``
    holds no model.
    """
    from transformers import AutoModel, AutoTokenizer  # noqa: PLC0415

    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no encoder here (config.json missing)")
    if max_length is None:
        max_length = json.loads((path / ENCODER_META).read_text(encoding="utf-8"))["max_length"]
    return TextEncoder(
        tokenizer=AutoTokenizer.from_pretrained(str(path)),
        model=AutoModel.from_pretrained(str(path)).eval(),
        max_length=max_length,
        path=str(path),
    )


#: resource name -> (writer, reader): the artifacts a served model can carry
STORAGE: dict[str, tuple[Callable[[Any, Path], None], Callable[[Path], Any]]] = {
    "base_model": (save_model, load_model),
    "tokenizer": (save_tokenizer, load_tokenizer),
    "lora_adapter": (save_adapter, load_adapter),
    "retrieval_index": (save_index, load_index),
    "text_encoder": (save_encoder, load_encoder),
}


def write_resource(name: str, resource: Any, path: Path) -> str:
    """Write the resource called ``name`` (a key of :data:`STORAGE`) into ``path``; the path as text."""
    if name not in STORAGE:
        raise ValueError(f"no writer for the resource {name!r}; known: {sorted(STORAGE)}")
    STORAGE[name][0](resource, path)
    return str(path)


def read_resource(name: str, path: str | Path) -> Any:
    """Read back the resource called ``name`` that :func:`write_resource` wrote into ``path``."""
    if name not in STORAGE:
        raise ValueError(f"no reader for the resource {name!r}; known: {sorted(STORAGE)}")
    return STORAGE[name][1](Path(path))
