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
    for cohort in ("fedcycle", "synthetic", "signal", "heavy"):
        for name in (
            "forecast_metrics",
            "next_cycle_forecast",
            "forecast_mlflow_metrics",
            "forecast_predicted_vs_actual@matplotlib",
            "forecast_error_by_prior_cycles@matplotlib",
            "forecast_model_comparison@matplotlib",
            "forecast_predictions",
            "incycle_metrics",
            "incycle_mlflow_metrics",
            "incycle_error_by_day",
            "incycle_state",
            "model_selection",
        ):
            assert f"forecasting.{cohort}.{name}" in outputs
        assert f"params:forecasting.{cohort}.evaluation" in pipe.inputs()
    assert {"forecasting.signal_comparison", "forecasting.signal_mlflow_metrics"} <= outputs
    assert {
        "fedcycle_model_input",
        "synthetic_model_input",
        "synthetic_signal_model_input",
        "synthetic_heavy_model_input",
        "fedcycle_cycles",
        "synthetic_cycles",
        "params:forecasting.study_reference",
        "params:forecasting.lstm",
        "params:forecasting.gru",
    } <= pipe.inputs()
    namespaces = {f"forecasting.{c}" for c in ("fedcycle", "synthetic", "signal", "heavy")}
    assert all(n.name.rsplit(".", 1)[0] in namespaces | {"forecasting"} for n in pipe.nodes)


@pytest.mark.slow
def test_template_runs_end_to_end(cycles, params):
    pytest.importorskip("lightning")
    catalog = DataCatalog()
    catalog["model_input"] = cycles
    catalog["cycles"] = cycles.assign(ovulation_day=cycles["cycle_length"] - 13)
    catalog["forecast_metrics"] = KeptMemoryDataset()
    catalog["incycle_metrics"] = KeptMemoryDataset()
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
        # robust models and the inner-CV rule's pick (no oracle: nothing planted)
        "median_shrinkage",
        "winsorised_shrinkage",
        "huber_eb",
        "student_t_eb",
        "selected",
    }
    n_scored = len(cycles) - cycles.woman_id.nunique()
    assert (ours.n == n_scored).all()
    assert ours.interval_coverage.between(0.5, 1).all()
    assert (metrics.source == "study (Fu), not our data").sum() == 1
    logged = result["forecast_mlflow_metrics"].load()
    assert {"gru.rmse", "shrinkage.interval_coverage", "arima.r2"} <= set(logged)
    nxt = result["next_cycle_forecast"].load()
    assert len(nxt) == cycles.woman_id.nunique() and (nxt.lower_80 < nxt.upper_80).all()
    assert (nxt.incycle_lower_80 <= nxt.incycle_upper_80).all()
    incycle = catalog["incycle_metrics"].load()
    assert {"day1", "14", "ovulation"} <= set(incycle.moment)
    assert {"incycle.ovulation.mae", "incycle.day1.interval_coverage"} <= set(
        result["incycle_mlflow_metrics"].load()
    )
    assert len(result["lstm_val_loss"].load()) >= 1
    for fig in (
        "forecast_predicted_vs_actual",
        "forecast_error_by_prior_cycles",
        "forecast_model_comparison",
    ):
        assert isinstance(result[f"{fig}@matplotlib"].load(), plt.Figure)
    assert isinstance(result["incycle_error_by_day"].load(), plt.Figure)
    plt.close("all")
