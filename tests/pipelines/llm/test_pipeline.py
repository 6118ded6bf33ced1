"""The whole llm chain on a tiny random Llama: corpus -> topics -> split -> LoRA -> evaluation."""

from __future__ import annotations

import pytest
from kedro.io import DataCatalog, MemoryDataset, Version
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset

from cycle_kedro.datasets.hf import PeftAdapterDataset
from cycle_kedro.pipelines.llm import create_pipeline

pytest.importorskip("peft")


@pytest.fixture
def catalog(  # noqa: PLR0917 (pytest fixtures)
    tmp_path,
    tiny_model,
    tiny_tokenizer,
    medquad_qa,
    fedcycle_forecast,
    synthetic_forecast,
    llm_params,
    bertscore_encoder,
):
    catalog = DataCatalog()
    catalog["medquad_qa"] = medquad_qa
    catalog["forecasting.fedcycle.next_cycle_forecast"] = fedcycle_forecast
    catalog["forecasting.synthetic.next_cycle_forecast"] = synthetic_forecast
    catalog["llm_base_model"] = MemoryDataset(tiny_model)  # deep-copied for each consumer
    catalog["llm_tokenizer"] = MemoryDataset(tiny_tokenizer, copy_mode="assign")
    catalog["llm_lora_adapter"] = PeftAdapterDataset(
        filepath=str(tmp_path / "adapter"), version=Version(None, None)
    )
    # consumed inside the pipeline (so released from memory): persist it to read it afterwards
    catalog["llm_evaluation"] = CSVDataset(filepath=str(tmp_path / "llm_evaluation.csv"))
    catalog["bertscore_encoder"] = bertscore_encoder
    for group, value in llm_params.items():
        if group in ("fedcycle", "synthetic"):  # the namespaces llm.fedcycle, llm.synthetic
            for name, options in value.items():
                catalog[f"params:llm.{group}.{name}"] = options
        else:
            catalog[f"params:llm.{group}"] = value
    return catalog


@pytest.mark.slow
def test_llm_pipeline_end_to_end_on_tiny_model(catalog, tmp_path):
    full = create_pipeline()
    pipeline = Pipeline([n for n in full.nodes if n.name != "convert_base_model"])
    outputs = SequentialRunner().run(pipeline, catalog)

    table = catalog["llm_evaluation"].load()
    assert set(table["model"]) == {"base", "lora", "retrieval"}
    assert set(table["subset"]) == {"all", "medquad", "forecast"}
    allrows = table[table["subset"] == "all"].set_index("model")
    assert (
        allrows.loc["retrieval", "perplexity"] != allrows.loc["retrieval", "perplexity"]
    )  # NaN: no LM
    assert allrows.loc[["base", "lora"], "perplexity"].gt(1).all()
    assert allrows["bleu"].between(0, 100).all() and allrows["rouge_l"].between(0, 100).all()

    metrics = outputs["llm_metrics"].load()
    assert metrics["llm.lora.perplexity"]["value"] == pytest.approx(
        allrows.loc["lora", "perplexity"]
    )
    assert "llm.retrieval.perplexity" not in metrics and "llm.retrieval.bleu" in metrics
    reduction = 1 - allrows.loc["lora", "perplexity"] / allrows.loc["base", "perplexity"]
    assert metrics["llm.perplexity_reduction"]["value"] == pytest.approx(reduction)
    assert (
        reduction > 0
    )  # the adapter fits the held-out templated answers better than the random base

    report = outputs["llm_samples"].load()
    assert (
        report.startswith("# LLM evaluation")
        and "**LoRA.**" in report
        and "**Retrieval.**" in report
    )
    assert len(outputs["llm_loss_curve"].load()) == 2 * 4  # 2 epochs x ceil(16 / 4) steps
    # the adapter went through the versioned directory dataset
    assert list((tmp_path / "adapter").glob("*/adapter/adapter_model.safetensors"))
