"""The reporting pipeline end to end on a bare DataCatalog, reports written by ReportDataset."""

import base64
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import CatalogConfigResolver, DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from cycle_kedro.datasets.report import ReportDataset
from cycle_kedro.pipelines.reporting import create_pipeline
from cycle_kedro.pipelines.reporting.pipeline import FIGURES

PNG = b"\x89PNG\r\n\x1a\n" + b"fake image body"


@pytest.fixture
def catalog(*, tmp_path, statistics_results, forecast_metrics, llm_evaluation, app_evaluation,
            fedcycle_evaluation, study, options):  # fmt: skip
    catalog = DataCatalog(
        {
            "reporting.report_markdown": ReportDataset(filepath=str(tmp_path / "report.md")),
            "reporting.report_html": ReportDataset(filepath=str(tmp_path / "report.html")),
        }
    )
    inputs = {
        "statistics.synthetic.statistics_results": statistics_results,
        "forecasting.fedcycle.forecast_metrics": forecast_metrics,
        "forecasting.synthetic.forecast_metrics": forecast_metrics,
        "llm.evaluation": llm_evaluation,
        "population.app.last_cycle_evaluation": app_evaluation,
        "population.fedcycle.last_cycle_evaluation": fedcycle_evaluation,
        "params:study_results": study,
        "params:report_options": options,
    }
    # every figure is an input; the first one exists, the others are absent (None)
    first = options["figures"][0]["figure"]
    inputs |= {ds: (PNG if key == first else None) for key, ds in FIGURES.items()}
    for name, value in inputs.items():
        catalog[name] = MemoryDataset(value)
    return catalog


def test_pipeline_writes_both_reports_with_resolved_figures(catalog, tmp_path, options):
    pipeline = create_pipeline()
    assert {n.name for n in pipeline.nodes} == {
        f"reporting.{name}"
        for name in (
            "compare_correlations",
            "compare_forecasts",
            "compare_llm",
            "compare_population",
            "render_markdown_report",
            "render_html_report",
        )
    }

    SequentialRunner().run(pipeline, catalog)

    markdown = (tmp_path / "report.md").read_text()
    first = options["figures"][0]["figure"]
    assert f"](report_figures/{first}.png)" in markdown
    assert (tmp_path / "report_figures" / f"{first}.png").read_bytes() == PNG
    assert markdown.count("](missing:") == len(options["figures"]) - 1
    assert "figure:" not in markdown
    page = (tmp_path / "report.html").read_text()
    assert f"data:image/png;base64,{base64.b64encode(PNG).decode()}" in page
    assert page.count("<table") == 5


def test_pipeline_outputs_hold_the_study_numbers(catalog, study):
    outputs = SequentialRunner().run(
        create_pipeline().to_nodes("reporting.compare_forecasts"), catalog
    )
    table = outputs["reporting.forecast_comparison"].load()
    assert isinstance(table, pd.DataFrame)
    study_rows = table[table["source"] == study["source"]]
    assert study_rows["model"].tolist() == list(study["forecasting"])


def test_every_figure_of_the_report_is_made_by_a_node_before_the_report():
    """The report's figures come through the DAG: each (but the kedro-viz screenshot) is a node output."""
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(Path(__file__).resolve().parents[3])
    from cycle_kedro.pipeline_registry import register_pipelines  # noqa: PLC0415

    default = register_pipelines()["__default__"]
    made = {out for node in default.nodes for out in node.outputs}
    for key, dataset in FIGURES.items():
        if key == "kedro_viz":
            continue
        saved = dataset.replace("@png", "@matplotlib")
        assert saved in made, f"{saved} is not made by any node"
        upstream = default.to_nodes("reporting.render_markdown_report").only_nodes_with_outputs(
            saved
        )
        assert len(upstream.nodes) == 1


def test_each_png_face_reads_the_file_its_matplotlib_face_writes():
    """``@png`` faces are declared beside the figure (statistics/forecasting/population catalogs)."""
    base = Path(__file__).resolve().parents[3] / "conf" / "base"
    entries = {}
    for path in sorted(base.glob("catalog*.yml")):
        entries |= yaml.safe_load(path.read_text())
    resolver = CatalogConfigResolver({k: v for k, v in entries.items() if not k.startswith("_")})
    for key, dataset in FIGURES.items():
        if key == "kedro_viz":
            continue
        png = resolver.resolve_pattern(dataset)
        saved = resolver.resolve_pattern(dataset.replace("@png", "@matplotlib"))
        assert png["type"] == "cycle_kedro.datasets.report.ImageDataset", dataset
        assert png["filepath"] == saved["dataset"]["filepath"], dataset
        assert png["versioned"] is saved["versioned"] is True, dataset
    reporting = yaml.safe_load((base / "catalog_reporting.yml").read_text())
    assert not [name for name in reporting if name.endswith("@png")]
