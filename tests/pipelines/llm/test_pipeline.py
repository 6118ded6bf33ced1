"""The whole llm chain on a tiny random Llama: KB -> topics -> split -> index -> RAFT LoRA -> evaluation."""

from __future__ import annotations

import pytest
from kedro.io import DataCatalog, MemoryDataset, Version
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset, ParquetDataset

from cycle_kedro.datasets.hf import PeftAdapterDataset
from cycle_kedro.datasets.retrieval import RetrievalIndexDataset
from cycle_kedro.pipelines.llm import create_pipeline

pytest.importorskip("peft")


@pytest.fixture
def catalog(  # noqa: PLR0917 (pytest fixtures)
    tmp_path, tiny_model, tiny_tokenizer, knowledge_base, fedcycle_forecast, synthetic_forecast,
    llm_params, minilm, bertscore_encoder,
):  # fmt: skip
    catalog = DataCatalog()
    catalog["knowledge_base"] = knowledge_base.drop(columns=["row_id", "topic"])
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
    # consumed inside the pipeline (so released from memory): persist it to read it afterwards
    catalog["llm.evaluation"] = CSVDataset(filepath=str(tmp_path / "llm_evaluation.csv"))
    catalog["llm.answer_scores"] = ParquetDataset(filepath=str(tmp_path / "scores.parquet"))
    catalog["llm.forecast_evaluation"] = CSVDataset(filepath=str(tmp_path / "forecast.csv"))
    for group, value in llm_params.items():
        if group in ("fedcycle", "synthetic"):  # the namespaces llm.fedcycle, llm.synthetic
            for name, options in value.items():
                catalog[f"params:llm.{group}.{name}"] = options
        else:
            catalog[f"params:llm.{group}"] = value
    return catalog


@pytest.mark.slow
def test_llm_pipeline_end_to_end_on_tiny_model(catalog, tmp_path, llm_params):
    full = create_pipeline()
    pipeline = Pipeline([n for n in full.nodes if n.name != "llm.convert_base_model"])
    outputs = SequentialRunner().run(pipeline, catalog)

    table = catalog["llm.evaluation"].load()
    assert list(table["system"]) == ["base", "base_rag", "lora", "lora_rag", "retrieval"]
    assert (table["subset"] == "medquad").all() and (table["n"] == table["n"].iloc[0]).all()
    rows = table.set_index("system")
    assert rows.loc["retrieval", "perplexity"] != rows.loc["retrieval", "perplexity"]  # NaN: no LM
    assert rows.loc[["base", "base_rag", "lora", "lora_rag"], "perplexity"].gt(1).all()
    assert (rows["ref_tokens_cut"] == 0).all()
    # CIs bracket the point estimate of each difference to base
    for key in ("d_rouge_l", "d_bertscore_f1", "ppl_change"):
        sub = rows.drop(index=["base", "retrieval"] if key == "ppl_change" else ["base"])
        assert (sub[f"{key}_lo"] <= sub[key] + 1e-9).all() and (
            sub[key] <= sub[f"{key}_hi"] + 1e-9
        ).all()

    scores = catalog["llm.answer_scores"].load()
    assert set(scores["kind"]) == {"medquad", "forecast"}
    retrieval = scores[(scores["system"] == "retrieval") & (scores["kind"] == "medquad")]
    assert retrieval["sources"].map(len).gt(0).all()  # the top passage cites its URL
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
    report = outputs["llm.samples"].load()
    assert report.startswith("# LLM v2") and "**lora_rag.**" in report and "*sources:*" in report
    assert len(outputs["llm.loss_curve"].load()) == 2 * 3  # 2 epochs x ceil((8 + 4) / 4) steps
    assert list((tmp_path / "adapter").glob("*/adapter/adapter_model.safetensors"))
    assert list((tmp_path / "index").glob("*/index/bm25.json"))
    served = outputs["llm.cycle_assistant"].load()  # the served model, from this run's datasets
    assert set(served.resources) == {
        "base_model",
        "tokenizer",
        "lora_adapter",
        "retrieval_index",
        "text_encoder",
    }
    index = catalog["llm.retrieval_index"].load()
    assert served.resources["retrieval_index"].passages.equals(index.passages)
    assert served.options == llm_params["ask"] and served.serving == llm_params["serving"]
