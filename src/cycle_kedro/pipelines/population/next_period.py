"""Next-period nodes of the ``population`` pipeline: cycles, forecasts and the last-cycle holdout.

Input ``period_starts`` (csv or parquet, one row per logged period start, any order; contract
``PERIOD_STARTS`` in :mod:`cycle_kedro.cycles.contracts`)::

    user_id       text   the app's user id (any non-empty text)
    period_start  text   ISO date "YYYY-MM-DD" (ISO timestamps and parquet dates also accepted)

Checks, pseudonymisation and the drop report are the first node, in :mod:`.intake` (what each kind
of bad input gets is listed there). The nodes here turn the kept starts into cycles, forecast every
user's next period and score the forecast of each user's last start; the heavy lifting is in
:mod:`.periods` and :mod:`.forecasts` (pandas, per partition of whole users), and :mod:`.engine`
runs it on pandas or Dask according to ``params:population.engine``. Scoring nodes are in
:mod:`.evaluation`, figures in :mod:`.plots`.
"""

from __future__ import annotations

import logging

import pandas as pd

from cycle_kedro.cycles.contracts import CYCLE_COLUMNS

from . import engine, forecasts, periods

logger = logging.getLogger(__name__)


def build_period_cycles(starts: pd.DataFrame, skips: dict, engine_cfg: dict) -> pd.DataFrame:
    """Turn kept starts into cycles (one row per start; the last one open) with skip flags."""
    return engine.apply(
        starts, _cycles_partition, periods.empty(CYCLE_COLUMNS), engine_cfg, cfg=skips
    )


def _cycles_partition(starts: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    if starts.empty:
        return periods.empty(CYCLE_COLUMNS)
    return periods.build_cycles(starts.reset_index(drop=True), cfg)


def _population(cycles, handling: str, skips: dict, forecast: dict, engine_cfg: dict) -> dict:
    """Population mean, shrinkage k and within-user variance, from a fixed hash sample."""
    n_users = engine.compute(cycles["user_id"].nunique())
    fraction = min(1.0, float(forecast["stats_max_users"]) / max(int(n_users), 1))
    train = engine.apply(
        cycles,
        _stats_partition,
        periods.empty(forecasts.STATS_COLUMNS),
        engine_cfg,
        shuffle=False,
        handling=handling,
        skip_weight=float(skips["skip_weight"]),
        fraction=fraction,
    )
    pop = forecasts.population_stats(engine.compute(train), forecast)
    logger.info("Population (%s, %d users): %s", handling, n_users, pop)
    return pop


def _stats_partition(cycles: pd.DataFrame, **kwargs) -> pd.DataFrame:
    if cycles.empty:
        return periods.empty(forecasts.STATS_COLUMNS)
    return forecasts.stats_table(cycles.reset_index(drop=True), **kwargs)


def _forecast_partition(
    cycles: pd.DataFrame, score: bool, tolerance: float, **kwargs
) -> pd.DataFrame:
    if cycles.empty:
        return periods.empty(forecasts.SCORE_META if score else forecasts.FORECAST_META)
    cycles = cycles.reset_index(drop=True)
    out = forecasts.forecast_users(cycles, **kwargs)
    return forecasts.score_forecasts(cycles, out, tolerance) if score else out


def _forecast(  # noqa: PLR0913 (the settings of one forecast pass)
    cycles, pop, skips: dict, forecast: dict, engine_cfg: dict, *, handling: str, score: bool
) -> pd.DataFrame:
    """Every user's forecast under ``handling`` (scored against her withheld start when ``score``),
    on the engine; rows sorted by user and model."""
    out = engine.apply(
        cycles,
        _forecast_partition,
        periods.empty(forecasts.SCORE_META if score else forecasts.FORECAST_META),
        engine_cfg,
        shuffle=False,
        score=score,
        tolerance=float(skips["tolerance"]),
        pop=pop,
        cfg=forecast,
        handling=handling,
        skip_weight=float(skips["skip_weight"]),
        n_jobs=1 if engine.is_dask(engine_cfg) else int(engine_cfg.get("n_jobs", 1)),
    )
    return engine.sorted_frame(out, ["user_id", "model"])


def forecast_next_period(
    cycles: pd.DataFrame, forecast: dict, skips: dict, engine_cfg: dict
) -> pd.DataFrame:
    """Forecast every user's next period start, length and 80% interval with every model.

    Users without a completed cycle get the population forecast (``population_fallback``).
    Skip handling is ``population.skips.handling``. Rows sorted by user and model.
    """
    dask = engine.is_dask(engine_cfg)
    if dask:
        cycles = engine.by_user(engine.to_engine(cycles, engine_cfg), engine_cfg).persist()
    pop = _population(cycles, skips["handling"], skips, forecast, engine_cfg)
    out = _forecast(
        cycles, pop, skips, forecast, engine_cfg, handling=skips["handling"], score=False
    )
    logger.info("Forecast %d users with %s", out["user_id"].nunique(), list(forecast["models"]))
    return out


def evaluate_last_cycle(
    starts: pd.DataFrame, forecast: dict, skips: dict, evaluation: dict, engine_cfg: dict
) -> pd.DataFrame:
    """Forecast each user's last observed start from the earlier ones only, per skip handling.

    The withheld start never enters the cycles, the skip flags, the typical length or the
    population statistics. One row per user, model and handling with ``error_days``
    (forecast minus actual start), ``covered`` (inside the 80% interval) and
    ``scored_is_skip_flag`` (the withheld gap itself looks like a missed log).
    """
    dask = engine.is_dask(engine_cfg)
    cyc = engine.apply(
        starts, _holdout_partition, periods.empty(periods.HOLDOUT_COLUMNS), engine_cfg, cfg=skips
    )
    if dask:
        cyc = cyc.persist()
    parts = []
    for handling in evaluation["handlings"]:
        pop = _population(cyc, handling, skips, forecast, engine_cfg)
        parts.append(
            _forecast(cyc, pop, skips, forecast, engine_cfg, handling=handling, score=True)
        )
    return pd.concat(parts, ignore_index=True)


def _holdout_partition(starts: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    if starts.empty:
        return periods.empty(periods.HOLDOUT_COLUMNS)
    return periods.holdout_cycles(starts.reset_index(drop=True), cfg)
