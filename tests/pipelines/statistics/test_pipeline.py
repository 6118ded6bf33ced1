"""Pipeline tests: namespaces, catalog coverage of every output, and runs on a bare catalog."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure
from scipy import stats

from cycle_kedro.pipelines.statistics import create_mcphases_pipeline, create_pipeline

from .conftest import make_daily, make_women

PARAM_GROUPS = ("cohort", "activity", "phases", "inference", "labels")


def _catalog(cohort: str, daily, params: dict) -> DataCatalog:
    catalog = DataCatalog()
    catalog[f"{cohort}_daily"] = daily
    for group in PARAM_GROUPS:
        catalog[f"params:statistics.{cohort}.{group}"] = params[group]
    return catalog


def test_namespaces_inputs_and_outputs():
    for cohort, pipeline in (
        ("synthetic", create_pipeline()),
        ("mcphases", create_mcphases_pipeline()),
    ):
        assert all(node.name.startswith(f"statistics.{cohort}.") for node in pipeline.nodes)
        assert pipeline.inputs() == {f"{cohort}_daily"} | {
            f"params:statistics.{cohort}.{g}" for g in PARAM_GROUPS
        }
        assert {
            f"statistics.{cohort}.statistics_results",
            f"statistics.{cohort}.statistics_metrics",
        } <= pipeline.all_outputs()


def test_every_output_is_a_catalog_factory_entry(project_root):
    conf = yaml.safe_load((project_root / "conf/base/catalog_statistics.yml").read_text())
    save_version = "2026-01-01T00.00.00.000Z"
    catalog = DataCatalog.from_config(conf, save_version=save_version)
    pipeline = create_pipeline() + create_mcphases_pipeline()
    intermediate = {
        f"statistics.{c}.{n}"
        for c in ("synthetic", "mcphases")
        for n in ("correlations", "group_tests")
    }
    persisted = pipeline.all_outputs() - intermediate
    assert len(persisted) == 2 * 8
    for name in persisted:
        dataset = catalog.get(name)
        assert type(dataset).__name__ != "MemoryDataset", (
            f"{name} is not covered by catalog_statistics.yml"
        )
        if "08_reporting" in str(getattr(dataset, "_filepath", "")):
            # reports are versioned under the catalog's one save version (kedro 1.x refuses two)
            assert dataset._version.save == save_version, name
            assert str(dataset._get_save_path()).endswith(
                f"{save_version}/{dataset._filepath.name}"
            )
    metrics = catalog.get("statistics.mcphases.statistics_metrics")
    assert type(metrics).__name__ == "MlflowMetricsHistoryDataset" and metrics._prefix == "mcphases"
    for name in intermediate:  # in-memory only: no factory entry may catch them by accident
        assert (
            type(catalog.get(name, fallback_to_runtime_pattern=True)).__name__ == "MemoryDataset"
        ), name


@pytest.mark.slow
def test_synthetic_pipeline_runs_end_to_end(stats_params):
    levels = make_women(30, rho=-0.6, seed=11)
    outputs = SequentialRunner().run(
        create_pipeline(), _catalog("synthetic", make_daily(levels), stats_params)
    )
    expected = stats.pearsonr(levels["steps"], levels["p4"])
    metrics = outputs["statistics.synthetic.statistics_metrics"].load()
    assert abs(metrics["pearson_r_steps_p4"]["value"] - expected.statistic) < 1e-12
    assert abs(metrics["pearson_p_steps_p4"]["value"] - expected.pvalue) < 1e-12
    assert metrics["n_women"]["value"] == 30 and metrics["pearson_r_steps_p4"]["step"] == 0
    assert outputs["statistics.synthetic.statistics_results_md"].load().count("\n| ") == 36 + 1
    assert set(outputs["statistics.synthetic.descriptive_table"].load()["group"]) == {
        stats_params["activity"]["high_label"], stats_params["activity"]["low_label"], "all"
    }  # fmt: skip
    for figure in ("steps_hormone_scatter", "hormones_by_activity", "correlation_heatmap"):
        assert isinstance(outputs[f"statistics.synthetic.{figure}@matplotlib"].load(), Figure)


def test_sliced_to_bh_matches_full_family(stats_params):
    pipeline = create_pipeline().to_nodes("statistics.synthetic.adjust_for_multiplicity")
    assert len(pipeline.nodes) == 4
    outputs = SequentialRunner().run(
        pipeline, _catalog("synthetic", make_daily(make_women(25, rho=0.0, seed=5)), stats_params)
    )
    results = outputs["statistics.synthetic.statistics_results"].load()
    family = results.drop_duplicates(["analysis", "test", "variable"])
    np.testing.assert_allclose(
        family["q_bh"], stats.false_discovery_control(family["p"]), atol=1e-12
    )


@pytest.mark.slow
def test_mcphases_pipeline_labels_hormones_as_metabolites(mcphases_params):
    daily = make_daily(make_women(20, rho=-0.3, seed=8))
    outputs = SequentialRunner().run(
        create_mcphases_pipeline(), _catalog("mcphases", daily, mcphases_params)
    )
    markdown = outputs["statistics.mcphases.statistics_results_md"].load()
    assert "E3G" in markdown and "PdG" in markdown and "(pg/mL)" not in markdown
    titles = [
        ax.get_title() for ax in outputs["statistics.mcphases.hormones_by_activity@matplotlib"].load().axes
    ]
    assert titles[0].startswith("E3G") and titles[1].startswith("PdG")
