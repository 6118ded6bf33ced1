"""Per-series ARIMA forecasts with statsforecast (mean fallback for short series).

* :func:`forecast_series` — one-step (or ``h``-step) forecast for many series at once, with
  a fallback (mean of the series) for series shorter than ``min_length`` and for fits that fail.
* :func:`expanding_arima` — for every row of a long per-cycle table, the ARIMA forecast made
  from that woman's earlier cycles only (one statsforecast call for all rows).

statsforecast is imported inside the functions (it is slow to import).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["expanding_arima", "forecast_series"]


def _models(order, auto: bool, season_length: int):
    from statsforecast.models import ARIMA, AutoARIMA, HistoricAverage  # noqa: PLC0415

    if auto:
        model = AutoARIMA(season_length=season_length, alias="arima")
    else:
        model = ARIMA(order=tuple(order), season_length=season_length, alias="arima")
    return model, HistoricAverage(alias="arima")


def forecast_series(
    histories: pd.DataFrame,
    h: int = 1,
    *,
    order: tuple[int, int, int] | list[int] = (1, 0, 0),
    auto: bool = False,
    min_length: int = 6,
    n_jobs: int = 1,
    season_length: int = 1,
) -> pd.DataFrame:
    """Forecast ``h`` steps ahead for every series of a long frame.

    Args:
        histories: long frame ``unique_id``, ``ds`` (integer time step), ``y``; NaN ``y`` rows
            are dropped.
        h: horizon.
        order: fixed ARIMA ``(p, d, q)`` (with mean) when ``auto`` is false.
        auto: use statsforecast ``AutoARIMA`` instead (much slower: ~50 ms per series).
        min_length: series shorter than this are not fitted; they get the fallback.
        n_jobs: statsforecast worker processes.
        season_length: seasonal period (1: none).

    Returns:
        One row per series and step: ``unique_id``, ``step`` (1..h), ``forecast``,
        ``model`` (``"arima"`` or ``"fallback_mean"``). Series whose ARIMA fit fails get the
        series mean through statsforecast's ``fallback_model`` (still labelled ``"arima"``).
        An empty input returns an empty frame with those columns.
    """
    cols = ["unique_id", "step", "forecast", "model"]
    df = histories.dropna(subset=["y"])[["unique_id", "ds", "y"]]
    if df.empty:
        return pd.DataFrame(columns=cols)
    size = df.groupby("unique_id")["y"].transform("size")
    short, long_ = df[size < min_length], df[size >= min_length]
    parts = []
    if len(short):
        means = short.groupby("unique_id")["y"].mean()
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": np.repeat(means.index.to_numpy(), h),
                    "step": np.tile(np.arange(1, h + 1), len(means)),
                    "forecast": np.repeat(means.to_numpy(), h),
                    "model": "fallback_mean",
                }
            )
        )
    if len(long_):
        from statsforecast import StatsForecast  # noqa: PLC0415

        model, fallback = _models(order, auto, season_length)
        sf = StatsForecast(models=[model], freq=1, n_jobs=n_jobs, fallback_model=fallback)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = sf.forecast(h=h, df=long_.sort_values(["unique_id", "ds"]))
        fc = fc.sort_values(["unique_id", "ds"])
        fc["step"] = fc.groupby("unique_id").cumcount() + 1
        parts.append(
            fc.rename(columns={"arima": "forecast"})
            .assign(model="arima")[cols]
            .reset_index(drop=True)
        )
    return pd.concat(parts, ignore_index=True)[cols]


def expanding_arima(
    df: pd.DataFrame,
    min_prior: int = 1,
    *,
    order: tuple[int, int, int] | list[int] = (1, 0, 0),
    auto: bool = False,
    min_length: int = 6,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Return per-row ARIMA forecasts of ``cycle_length`` from that woman's earlier cycles only.

    Every row with at least ``min_prior`` earlier cycles becomes its own series (the earlier
    cycles), so the target cycle and later ones never enter the fit.

    Args:
        df: long table with ``woman_id``, ``cycle_index``, ``cycle_length``.
        min_prior: rows with fewer earlier cycles get NaN.
        order, auto, min_length, n_jobs: see :func:`forecast_series`.

    Returns:
        Frame aligned on ``df.index`` with ``arima`` (forecast, NaN where not made) and
        ``arima_model`` (``"arima"``/``"fallback_mean"``/NaN).
    """
    s = df[["woman_id", "cycle_index", "cycle_length"]].copy()
    s["_row"] = np.arange(len(s))
    s["_n_prior"] = s.sort_values(["woman_id", "cycle_index"]).groupby("woman_id").cumcount()
    targets = s[s["_n_prior"] >= max(min_prior, 1)][["woman_id", "cycle_index", "_row"]]
    hist = targets.merge(
        s[["woman_id", "cycle_index", "cycle_length"]], on="woman_id", suffixes=("", "_h")
    )
    hist = hist[hist["cycle_index_h"] < hist["cycle_index"]]
    hist = hist.rename(columns={"_row": "unique_id", "cycle_index_h": "ds", "cycle_length": "y"})
    logger.info("ARIMA: %d series, %d history points", targets.shape[0], len(hist))
    fc = forecast_series(hist, h=1, order=order, auto=auto, min_length=min_length, n_jobs=n_jobs)
    out = pd.DataFrame({"arima": np.nan, "arima_model": None}, index=np.arange(len(s)))
    rows = fc["unique_id"].astype(int).to_numpy()
    out.loc[rows, "arima"] = fc["forecast"].astype(float).to_numpy()
    out.loc[rows, "arima_model"] = fc["model"].to_numpy()
    out.index = df.index
    return out
