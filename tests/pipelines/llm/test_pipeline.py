"""The whole llm chain on a tiny random Llama: KB -> topics -> split -> index -> RAFT LoRA -> evaluation."""

from __future__ import annotations

import pytest
from kedro.io import DataCatalog, MemoryDataset, Version
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset, ParquetDataset

from cycle_kedro.assistant.gating import SCORES
from cycle_kedro.assistant.systems import SYSTEMS
from cycle_kedro.datasets.hf import PeftAdapterDataset
from cycle_kedro.datasets.retrieval import RetrievalIndexDataset
from cycle_kedro.pipelines.llm import create_pipeline
from cycle_kedro.validation import DataValidationError

pytest.importorskip("peft")


@pytest.fixture
def catalog(  # noqa: PLR0917 (pytest fixtures)
    tmp_path, tiny_model, tiny_tokenizer, knowledge_base, fedcycle_forecast, synthetic_forecast,
    llm_params, minilm, bertscore_encoder, consumer_questions,
):  # fmt: skip
    catalog = DataCatalog()
    catalog["knowledge_base"] = knowledge_base.drop(columns=["row_id", "topic"])
    catalog["llm.consumer_questions"] = consumer_questions
    catalog["forecasting.fedcycle.next_cycle_forecast"] = fedcycle_forecast
    catalog["forecasting.synthetic.next_cycle_forecast"] = synthetic_forecast
    catalog["llm.base_model"] = MemoryDataset(tiny_model)  # deep-copied for each consumer
    catalog["llm.tokenizer"] = MemoryDataset(tiny_tokenizer, copy_mode="assign")
    catalog["llm.text_encoder"] = MemoryDataset(minilm, copy_mode="assign")
    catalog["llm.bertscore_encoder"] = bertscore_encoder
    catalog["llm.lora_adapter"] = PeftAdapterDataset(
        filepath=str(tmp_path / "adapter"), version=Version(None, None)
    )
    catalog["llm.retrieval_index"] = RetrievalIndexDataset(
        filepath=str(tmp_path / "index"), version=Version(None, None)
    )
    catalog["llm.deployment_index"] = RetrievalIndexDataset(
        filepath=str(tmp_path / "deployment"), version=Version(None, None)
    )
    # consumed inside the pipeline (so released from memory): persist it to read it afterwards
    catalog["llm.evaluation"] = CSVDataset(filepath=str(tmp_path / "llm_evaluation.csv"))
    catalog["llm.answer_scores"] = ParquetDataset(filepath=str(tmp_path / "scores.parquet"))
    catalog["llm.forecast_evaluation"] = CSVDataset(filepath=str(tmp_path / "forecast.csv"))
    catalog["llm.gating_tradeoff"] = CSVDataset(filepath=str(tmp_path / "tradeoff.csv"))
    catalog["llm.dev_choices"] = CSVDataset(filepath=str(tmp_path / "choices.csv"))
    for group, value in llm_params.items():
        if group in ("fedcycle", "synthetic"):  # the namespaces llm.fedcycle, llm.synthetic
            for name, options in value.items():
                catalog[f"params:llm.{group}.{name}"] = options
        else:
            catalog[f"params:llm.{group}"] = value
    return catalog


@pytest.mark.slow
def test_llm_pipeline_end_to_end_on_tiny_model(catalog, tmp_path, llm_params, knowledge_base):
    full = create_pipeline()
    pipeline = Pipeline([n for n in full.nodes if n.name != "llm.convert_base_model"])
    outputs = SequentialRunner().run(pipeline, catalog)

    table = catalog["llm.evaluation"].load()
    assert set(table["setting"]) == {"out_of_kb", "in_kb", "dev"}  # side by side in one table
    out_of_kb = table[table["subset"] == "medquad"]
    assert list(out_of_kb["system"]) == list(SYSTEMS) and (out_of_kb["setting"] == "out_of_kb").all()
    assert (out_of_kb["n"] == out_of_kb["n"].iloc[0]).all()
    in_kb = table[table["subset"] == "in_kb"].set_index("system")
    assert in_kb.index.tolist() == ["base", "extractive", "retrieval"]  # llm.answered_by
    assert in_kb["perplexity"].isna().all()  # only answered: llm.generation.unscored
    assert table.loc[table["subset"] == "dev", "n"].eq(2).all()  # the two covered dev questions
    rows = out_of_kb.set_index("system")
    assert rows.loc["retrieval", "perplexity"] != rows.loc["retrieval", "perplexity"]  # NaN: no LM
    assert rows.loc[["base", "base_rag", "lora", "lora_rag"], "perplexity"].gt(1).all()
    assert (rows["ref_tokens_cut"] == 0).all()
    assert rows[["recall", "k_precision"]].stack().between(0, 1).all()
    assert rows.loc["extractive", "k_precision"] == pytest.approx(1.0)  # copied from the passages
    assert (table["unflagged_invented"] == 0).all()  # the safety pass leaves no invented number or contact
    # CIs bracket the point estimate of each difference to base
    for key in ("d_rouge_l", "d_bertscore_f1", "d_recall", "ppl_change"):
        sub = rows.drop(index=["base", "extractive", "retrieval"] if key == "ppl_change" else ["base"])
        assert (sub[f"{key}_lo"] <= sub[key] + 1e-9).all() and (
            sub[key] <= sub[f"{key}_hi"] + 1e-9
        ).all()

    scores = catalog["llm.answer_scores"].load()
    assert set(scores["kind"]) == {"medquad", "in_kb", "dev", "forecast"}
    retrieval = scores[(scores["system"] == "retrieval") & (scores["kind"] == "medquad")]
    assert retrieval["sources"].map(len).gt(0).all()  # the top passage cites its URL (or the nearest ones)
    gated = scores[scores["gated"]]
    assert gated["abstained"].all() and gated["sources"].map(len).gt(0).all()  # not covered: nearest sources
    assert catalog["llm.forecast_evaluation"].load()["system"].tolist() == [
        "base",
        "base_rag",
        "lora",
        "lora_rag",
    ]
    metrics = outputs["llm.metrics"].load()
    assert metrics["llm.lora_rag.rouge_l"]["value"] == pytest.approx(
        rows.loc["lora_rag", "rouge_l"]
    )
    assert "llm.extractive.in_kb.k_precision" in metrics and "llm.lora_grounded.dev.recall" in metrics
    tradeoff = catalog["llm.gating_tradeoff"].load()
    assert set(tradeoff["setting"]) == {"out_of_kb", "in_kb", "dev"}
    assert tradeoff.groupby(["system", "setting"])["answered"].is_monotonic_decreasing.all()
    choices = catalog["llm.dev_choices"].load()
    assert choices["choice"].tolist() == ["gating score", "gating threshold", "default system"]
    assert choices["dev_rule_picks"].iloc[2] in SYSTEMS and choices["dev_rule_picks"].iloc[0] in SCORES
    selection = outputs["llm.selection_metrics"].load()
    assert selection["llm.selection.default_system"]["value"] == SYSTEMS.index(choices["dev_rule_picks"].iloc[2]) and (
        selection["llm.selection.score"]["value"] == SCORES.index(choices["dev_rule_picks"].iloc[0])
    )
    assert outputs["llm.gating_tradeoff_plot"].load().axes
    report = outputs["llm.samples"].load()
    assert report.startswith("# Assistant: grounded answers") and "**lora_rag.**" in report and "*sources:*" in report
    assert "## Rules fixed on the dev set" in report and "In-KB" in report
    assert len(outputs["llm.loss_curve"].load()) == 2 * 3  # 2 epochs x ceil((8 + 4) / 4) steps
    assert list((tmp_path / "adapter").glob("*/adapter/adapter_model.safetensors"))
    assert list((tmp_path / "index").glob("*/index/bm25.json"))
    served = outputs["llm.cycle_assistant"].load()  # the served model, from this run's datasets
    assert set(served.resources) == {"base_model", "tokenizer", "lora_adapter", "retrieval_index", "text_encoder"}
    deployment = catalog["llm.deployment_index"].load()  # the whole knowledge base, as cycle-ask
    assert served.resources["retrieval_index"].passages.equals(deployment.passages) and (
        served.options == llm_params["ask"]
        and served.serving == {**llm_params["serving"], "default_system": llm_params["ask"]["system"]}
    )


def test_split_keeps_dev_documents_indexed_and_holds_out_in_kb_pairs(knowledge_base, consumer_questions, llm_params):
    from cycle_kedro.pipelines.llm.grounding import split_held_out  # noqa: PLC0415

    kb = knowledge_base.drop(columns=["row_id"]).assign(row_id=knowledge_base["row_id"])
    split = split_held_out(kb, consumer_questions, llm_params["split"])["split"]
    assert split.value_counts().to_dict() == {"index": 13, "test": 6, "in_kb_test": 3, "dev": 2}
    dev_docs = set(consumer_questions["doc_id"].dropna())
    assert not dev_docs & set(kb.loc[split == "test", "doc_id"])  # dev documents stay indexed
    assert set(kb.loc[split == "in_kb_test", "doc_id"]).isdisjoint(kb.loc[split == "test", "doc_id"])
    broken = consumer_questions.assign(answer=["Not in any answer.", *consumer_questions["answer"][1:]])
    with pytest.raises(DataValidationError, match="holds its passage"):
        split_held_out(kb, broken, llm_params["split"])
