"""The forecasting template end to end on tiny data, and the two cohort namespaces."""

import matplotlib.pyplot as plt
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from cycle_kedro.pipelines.forecasting.pipeline import create_pipeline, create_template


class KeptMemoryDataset(MemoryDataset):
    """A memory dataset the runner cannot release, so intermediate outputs can be inspected."""

    def _release(self) -> None:
        pass


def test_namespaces_cover_both_cohorts():
    pipe = create_pipeline()
    outputs = pipe.all_outputs()
    for cohort in ("fedcycle", "synthetic"):
        for name in (
            "forecast_metrics",
            "next_cycle_forecast",
            "forecast_mlflow_metrics",
            "forecast_predicted_vs_actual@matplotlib",
            "forecast_error_by_prior_cycles@matplotlib",
            "forecast_model_comparison@matplotlib",
            "forecast_predictions",
        ):
            assert f"forecasting.{cohort}.{name}" in outputs
        assert f"params:forecasting.{cohort}.evaluation" in pipe.inputs()
    assert {
        "fedcycle_model_input",
        "synthetic_model_input",
        "params:forecasting.study_reference",
        "params:forecasting.lstm",
        "params:forecasting.gru",
    } <= pipe.inputs()
    namespaces = {"forecasting.fedcycle", "forecasting.synthetic"}
    assert all(n.name.rsplit(".", 1)[0] in namespaces for n in pipe.nodes)


@pytest.mark.slow
def test_template_runs_end_to_end(cycles, params):
    pytest.importorskip("lightning")
    catalog = DataCatalog()
    catalog["model_input"] = cycles
    catalog["forecast_metrics"] = KeptMemoryDataset()
    for key, value in params.items():
        catalog[f"params:{key}"] = value
    result = SequentialRunner().run(create_template(), catalog)
    metrics = catalog["forecast_metrics"].load()
    ours = metrics[metrics.kind != "study"]
    assert set(ours.model) == {
        "population_mean",
        "last_cycle",
        "mean_previous",
        "median_previous",
        "shrinkage",
        "arima",
        "ridge",
        "lstm",
        "gru",
    }
    n_scored = len(cycles) - cycles.woman_id.nunique()
    assert (ours.n == n_scored).all()
    assert ours.interval_coverage.between(0.5, 1).all()
    assert (metrics.source == "study (Fu), not our data").sum() == 1
    logged = result["forecast_mlflow_metrics"].load()
    assert {"gru.rmse", "shrinkage.interval_coverage", "arima.r2"} <= set(logged)
    nxt = result["next_cycle_forecast"].load()
    assert len(nxt) == cycles.woman_id.nunique() and (nxt.lower_80 < nxt.upper_80).all()
    assert len(result["lstm_val_loss"].load()) >= 1
    for fig in (
        "forecast_predicted_vs_actual",
        "forecast_error_by_prior_cycles",
        "forecast_model_comparison",
    ):
        assert isinstance(result[f"{fig}@matplotlib"].load(), plt.Figure)
    plt.close("all")
