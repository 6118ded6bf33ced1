"""The reporting pipeline end to end on a bare DataCatalog, reports written by ReportDataset."""

import base64

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from cycle_kedro.datasets.report import ReportDataset
from cycle_kedro.pipelines.reporting import create_pipeline

PNG = b"\x89PNG\r\n\x1a\n" + b"fake image body"


@pytest.fixture
def catalog(*, tmp_path, statistics_results, forecast_metrics, llm_evaluation, app_evaluation,
            fedcycle_evaluation, study, options):  # fmt: skip
    figure = options["figures"][0]["path"]
    versioned = tmp_path / figure / "2026-01-01T00.00.00.000Z" / figure.split("/")[-1]
    versioned.parent.mkdir(parents=True)
    versioned.write_bytes(PNG)
    catalog = DataCatalog(
        {
            "report_markdown": ReportDataset(filepath=str(tmp_path / "report.md")),
            "report_html": ReportDataset(filepath=str(tmp_path / "report.html")),
        }
    )
    inputs = {
        "synthetic.statistics_results": statistics_results,
        "forecasting.fedcycle.forecast_metrics": forecast_metrics,
        "forecasting.synthetic.forecast_metrics": forecast_metrics,
        "llm_evaluation": llm_evaluation,
        "population.app.last_cycle_evaluation": app_evaluation,
        "population.fedcycle.last_cycle_evaluation": fedcycle_evaluation,
        "params:study_results": study,
        "params:report_options": options,
    }
    for name, value in inputs.items():
        catalog[name] = MemoryDataset(value)
    return catalog


def test_pipeline_writes_both_reports_with_resolved_figures(catalog, tmp_path, options):
    pipeline = create_pipeline()
    assert {n.name for n in pipeline.nodes} == {
        "compare_correlations", "compare_forecasts", "compare_llm", "compare_population",
        "render_markdown_report", "render_html_report",
    }  # fmt: skip

    SequentialRunner().run(pipeline, catalog)

    markdown = (tmp_path / "report.md").read_text()
    first = options["figures"][0]["path"]
    assert f"]({first}/2026-01-01T00.00.00.000Z/{first.split('/')[-1]})" in markdown
    assert markdown.count("](missing:") == len(options["figures"]) - 1
    assert "figure:" not in markdown
    page = (tmp_path / "report.html").read_text()
    assert f"data:image/png;base64,{base64.b64encode(PNG).decode()}" in page
    assert page.count("<table") == 5


def test_pipeline_outputs_hold_the_study_numbers(catalog, study):
    outputs = SequentialRunner().run(create_pipeline().to_nodes("compare_forecasts"), catalog)
    table = outputs["forecast_comparison"].load()
    assert isinstance(table, pd.DataFrame)
    study_rows = table[table["source"] == study["source"]]
    assert study_rows["model"].tolist() == list(study["forecasting"])
