"""Run time of the forecasting pipeline's nodes per cohort: what issue 15 added, beside the rest.

Calls every node of the forecasting template directly (same functions, same parameters from
``conf/base``), on the model inputs and cycle tables in ``data/`` (run
``kedro run --pipeline=ingestion`` first), and prints one row per (cohort, node) and the totals.
Wall seconds and CPU seconds of this process (the box is shared, so CPU is the steadier number;
torch threads as ``conf/base/runtime.yml``). ``added`` marks the nodes added by issue 15 (robust models, selection rule, oracle, in-cycle
forecasts, current-cycle fields); the ``signal`` and ``heavy`` cohorts are added as a whole.

    .venv/bin/python benchmarks/forecasting_incycle.py                       # all four cohorts
    .venv/bin/python benchmarks/forecasting_incycle.py --cohorts fedcycle    # one cohort
    .venv/bin/python benchmarks/forecasting_incycle.py --skip-neural         # no LSTM/GRU
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MPLBACKEND", "Agg")


def _params() -> dict:
    from kedro.config import OmegaConfigLoader  # noqa: PLC0415

    loader = OmegaConfigLoader(str(ROOT / "conf"), base_env="base", default_run_env="local")
    return loader["parameters"]["forecasting"]


def _torch_threads() -> None:
    """Torch CPU threads as the project hook sets them for a run (conf/base/runtime.yml)."""
    import torch  # noqa: PLC0415
    import yaml  # noqa: PLC0415

    n = yaml.safe_load((ROOT / "conf/base/runtime.yml").read_text()).get("torch_num_threads")
    if n:
        torch.set_num_threads(int(n))


def run_cohort(cohort: str, inputs: tuple[str, str], params: dict, neural: bool) -> list[dict]:
    """Time every node of the template on one cohort; return one row per node."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from cycle_kedro.pipelines.forecasting import (  # noqa: PLC0415
        current_cycle,
        evaluation,
        folds,
        incycle_evaluation,
        model_selection,
        models,
        next_cycle,
        plots,
        signal,
    )

    p = params[cohort]
    data = {
        "model_input": pd.read_parquet(ROOT / f"data/05_model_input/{inputs[0]}.parquet"),
        "cycles": pd.read_parquet(ROOT / f"data/03_primary/{inputs[1]}.parquet"),
    }
    rows: list[dict] = []

    def timed(name: str, added: bool, fn, *args):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args)
        rows.append(
            {
                "cohort": cohort,
                "node": name,
                "added": added,
                "seconds": time.perf_counter() - t0,
                "cpu_s": time.process_time() - c0,
            }
        )
        return out

    frame = timed(
        "prepare_forecast_frame",
        False,
        folds.prepare_forecast_frame,
        data["model_input"],
        p["evaluation"],
    )
    parts = [
        timed("predict_baselines", False, models.predict_baselines, frame),
        timed("predict_arima", False, models.predict_arima, frame, p["arima"]),
        timed("predict_ridge", False, models.predict_ridge, frame, p["ridge"]),
    ]
    if neural:
        parts.append(timed("predict_lstm", False, models.predict_lstm, frame, params["lstm"])[0])
        parts.append(timed("predict_gru", False, models.predict_gru, frame, params["gru"])[0])
    details = timed("attach_cycle_details", True, folds.attach_cycle_details, frame, data["cycles"])
    rob, log = timed("predict_robust", True, model_selection.predict_robust, frame, p["robust"])
    oracle = timed("predict_oracle", True, signal.predict_oracle, details)
    point = models.combine_predictions(frame, *parts, rob, oracle)
    preds = timed(
        "add_prediction_intervals",
        False,
        evaluation.add_prediction_intervals,
        point,
        p["intervals"],
    )
    timed(
        "evaluate_forecasts",
        False,
        evaluation.evaluate_forecasts,
        preds,
        p["evaluation"],
        p["intervals"],
        params["study_reference"],
    )
    base = timed(
        "forecast_next_cycle",
        False,
        next_cycle.forecast_next_cycle,
        frame,
        preds,
        p["next_cycle"],
        p["intervals"],
    )
    chosen = timed(
        "select_cohort_model", True, model_selection.select_cohort_model, frame, p["robust"]
    )
    inc = timed(
        "predict_incycle", True, incycle_evaluation.predict_incycle, details, preds, p["incycle"]
    )
    timed(
        "evaluate_incycle",
        True,
        incycle_evaluation.evaluate_incycle,
        inc,
        p["incycle"],
        p["evaluation"],
    )
    timed("plot_incycle_error", True, plots.plot_incycle_error, inc, p["reporting"])
    plt.close("all")
    state = timed(
        "fit_cohort_incycle_state",
        True,
        current_cycle.fit_cohort_incycle_state,
        details,
        preds,
        chosen,
        p["incycle"],
    )
    status = current_cycle.current_cycle_status(frame)
    timed(
        "add_current_cycle_fields",
        True,
        current_cycle.add_current_cycle_fields,
        base,
        details,
        state,
        status,
    )
    del log
    return rows


COHORTS = {
    "fedcycle": ("fedcycle_model_input", "fedcycle_cycles"),
    "synthetic": ("synthetic_model_input", "synthetic_cycles"),
    "signal": ("synthetic_signal_model_input", "synthetic_signal_cycles"),
    "heavy": ("synthetic_heavy_model_input", "synthetic_heavy_cycles"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", nargs="+", default=list(COHORTS), choices=list(COHORTS))
    parser.add_argument("--skip-neural", action="store_true", help="leave out LSTM and GRU")
    args = parser.parse_args()
    params = _params()
    _torch_threads()
    rows = []
    for cohort in args.cohorts:
        rows += run_cohort(cohort, COHORTS[cohort], params, neural=not args.skip_neural)
    table = pd.DataFrame(rows)
    new_cohort = table["cohort"].isin(["signal", "heavy"])
    table["added"] = table["added"] | new_cohort
    pd.set_option("display.width", 120)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))  # noqa: T201
    totals = table.groupby(["cohort", "added"])[["seconds", "cpu_s"]].sum().unstack(fill_value=0.0)
    totals.columns = [
        f"{'added' if added else 'existing'}_{what}" for what, added in totals.columns
    ]
    print("\nper cohort (added: issue 15's nodes; signal/heavy count as added as a whole):")  # noqa: T201
    print(totals.to_string(float_format=lambda v: f"{v:.1f}"))  # noqa: T201
    added, existing = table[table["added"]], table[~table["added"]]
    print(  # noqa: T201
        f"\ntotal existing: {existing['seconds'].sum():.1f} s wall, {existing['cpu_s'].sum():.1f} s CPU;"
        f" added: {added['seconds'].sum():.1f} s wall, {added['cpu_s'].sum():.1f} s CPU"
    )


if __name__ == "__main__":
    main()
