"""Time per-series ARIMA(1,0,0) forecasts: statsforecast (one call) vs a statsmodels loop.

Same series, same model (AR(1) with mean), one-step-ahead forecast each. The series are the
expanding-window histories the forecasting pipeline fits (every FedCycle woman's earlier cycles
before each of her cycles, at least ``--min-length`` long) when
``data/05_model_input/fedcycle_model_input.parquet`` exists, else generated AR(1) series.

    .venv/bin/python benchmarks/arima.py              # 400 series
    .venv/bin/python benchmarks/arima.py --n-series 0 # all of them (slow for statsmodels)

Prints a table with seconds, ms per series, the speed-up ratio and how far the two libraries'
forecasts differ (they estimate with different optimisers, so small differences are expected).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import ARIMA, HistoricAverage
from statsmodels.tsa.arima.model import ARIMA as SmARIMA

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data/05_model_input/fedcycle_model_input.parquet"


def load_series(min_length: int, n_series: int, seed: int) -> tuple[pd.DataFrame, str]:
    """Long frame unique_id, ds, y of expanding histories (FedCycle) or generated AR(1) series."""
    if DATA.exists():
        df = pd.read_parquet(DATA, columns=["woman_id", "cycle_index", "cycle_length"])
        parts = []
        for wid, g in df.sort_values(["woman_id", "cycle_index"]).groupby("woman_id"):
            y = g["cycle_length"].to_numpy()
            for t in range(min_length, len(y)):
                parts.append(
                    pd.DataFrame({"unique_id": f"{wid}|{t}", "ds": np.arange(t), "y": y[:t]})
                )
        long = pd.concat(parts, ignore_index=True)
        source = f"FedCycle expanding histories ({DATA.name})"
    else:
        rng = np.random.default_rng(seed)
        parts = []
        for i in range(max(n_series, 400)):
            n = int(rng.integers(min_length, 20))
            e = rng.normal(0, 3, n)
            y = np.empty(n)
            y[0] = e[0]
            for t in range(1, n):
                y[t] = 0.3 * y[t - 1] + e[t]
            parts.append(pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(n), "y": 29 + y}))
        long = pd.concat(parts, ignore_index=True)
        source = "generated AR(1) series (no FedCycle parquet found)"
    ids = long["unique_id"].unique()
    if n_series and n_series < len(ids):
        keep = np.random.default_rng(seed).choice(ids, n_series, replace=False)
        long = long[long["unique_id"].isin(keep)]
    return long, source


def run_statsforecast(long: pd.DataFrame, n_jobs: int) -> tuple[float, pd.Series]:
    sf = StatsForecast(
        models=[ARIMA(order=(1, 0, 0), alias="arima")],
        freq=1,
        n_jobs=n_jobs,
        fallback_model=HistoricAverage(alias="arima"),
    )
    sf.forecast(h=1, df=long.groupby("unique_id").head(8))  # warm-up (JIT, imports)
    t0 = time.perf_counter()
    fc = sf.forecast(h=1, df=long)
    return time.perf_counter() - t0, fc.set_index("unique_id")["arima"]


def run_statsmodels(long: pd.DataFrame) -> tuple[float, pd.Series]:
    out = {}
    t0 = time.perf_counter()
    for uid, g in long.groupby("unique_id", sort=True):
        y = g["y"].to_numpy(dtype=float)
        try:
            out[uid] = float(SmARIMA(y, order=(1, 0, 0), trend="c").fit().forecast(1)[0])
        except Exception:  # noqa: BLE001 - same fallback as statsforecast's
            out[uid] = float(y.mean())
    return time.perf_counter() - t0, pd.Series(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-series", type=int, default=400, help="0 = all series")
    parser.add_argument("--min-length", type=int, default=6)
    parser.add_argument("--n-jobs", type=int, default=1, help="statsforecast processes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    long, source = load_series(args.min_length, args.n_series, args.seed)
    n = long["unique_id"].nunique()
    warnings.filterwarnings("ignore")  # statsmodels warns on many short series
    t_sf, fc_sf = run_statsforecast(long, args.n_jobs)
    t_sm, fc_sm = run_statsmodels(long)
    diff = (fc_sf - fc_sm.reindex(fc_sf.index)).abs()
    rows = [
        ("statsforecast ARIMA(1,0,0)", t_sf, 1.0),
        ("statsmodels ARIMA(1,0,0) loop", t_sm, t_sm / t_sf),
    ]
    lines = [
        f"series: {n} ({source}), points: {len(long)}, mean length {len(long) / n:.1f}",
        "",
        "| method | seconds | ms/series | time ratio vs statsforecast |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {m} | {t:.2f} | {1000 * t / n:.2f} | {r:.1f}x |" for m, t, r in rows),
        "",
        f"statsmodels / statsforecast time ratio: {t_sm / t_sf:.1f}",
        f"forecast agreement: median |diff| {diff.median():.4f} d, 95th pct {diff.quantile(0.95):.4f} d, "
        f"max {diff.max():.3f} d (mean forecast {fc_sf.mean():.2f} vs {fc_sm.mean():.2f} d)",
    ]
    print("\n".join(lines))  # noqa: T201 - a benchmark prints its table


if __name__ == "__main__":
    main()
