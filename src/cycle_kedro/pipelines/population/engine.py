"""Pandas or Dask, chosen by ``params:population.engine`` (no code change between the two).

``engine: pandas`` runs every step in this process (statsforecast uses ``n_jobs`` processes),
on slices of at most ``batch_users`` whole users to bound the memory of the intermediates.
``engine: dask`` shuffles the tables by ``user_id`` so each partition holds whole users and runs
the same pandas functions with ``map_partitions`` (one statsforecast call per partition).
Nothing here starts or holds a cluster: Dask work runs on the default client, which the
project hook (``cycle_kedro.hooks.RuntimeHooks``) starts from ``conf/dask/runtime.yml`` before
the run and closes after it (``kedro run --env dask``); the Dask datasets that save the
results use the same client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Callable


def is_dask(cfg: dict) -> bool:
    """True when the configured engine is Dask (``pandas`` otherwise)."""
    engine = str(cfg.get("engine", "pandas"))
    if engine not in {"pandas", "dask"}:
        raise ValueError(f"population.engine.engine must be 'pandas' or 'dask', got {engine!r}")
    return engine == "dask"


def is_dask_frame(df: object) -> bool:
    """True for a Dask DataFrame (checked without importing Dask)."""
    return type(df).__module__.startswith("dask")


def to_engine(df, cfg: dict):
    """Return ``df`` as a Dask frame (engine dask) or a pandas frame (engine pandas)."""
    if is_dask(cfg):
        if is_dask_frame(df):
            return df
        import dask.dataframe as dd  # noqa: PLC0415

        return dd.from_pandas(df, npartitions=int(cfg.get("npartitions", 8)), sort=False)
    return df.compute() if is_dask_frame(df) else df


def by_user(ddf, cfg: dict):
    """Shuffle a Dask frame so every user's rows sit in one partition."""
    return ddf.shuffle(on="user_id", npartitions=int(cfg.get("npartitions", 8)))


def apply(
    df,
    func: Callable[..., pd.DataFrame],
    meta: pd.DataFrame,
    engine_cfg: dict,
    /,
    *,
    shuffle: bool = True,
    **kwargs,
):
    """Run ``func`` on the whole table (pandas) or on each user-partition (Dask).

    ``shuffle=False`` when ``df`` already comes out of :func:`apply` (whole users per partition).
    """
    if is_dask(engine_cfg):
        ddf = to_engine(df, engine_cfg)
        if shuffle:
            ddf = by_user(ddf, engine_cfg)
        return ddf.map_partitions(func, meta=meta, **kwargs)
    df = to_engine(df, engine_cfg)
    batch = int(engine_cfg.get("batch_users") or 0)
    parts = [func(part, **kwargs) for part in _batches(df, batch)]
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _batches(df: pd.DataFrame, batch_users: int):
    """Yield ``df`` in slices of at most ``batch_users`` whole users (all of it when 0)."""
    if batch_users <= 0 or df.empty:
        yield df
        return
    codes, users = pd.factorize(df["user_id"])
    if len(users) <= batch_users:
        yield df
        return
    chunk = codes // batch_users
    order = np.argsort(chunk, kind="stable")
    bounds = np.searchsorted(chunk[order], np.arange(1, chunk.max() + 1))
    for idx in np.split(order, bounds):
        yield df.iloc[idx]


def compute(df) -> pd.DataFrame:
    """Return a pandas frame (computing a Dask one)."""
    return df.compute() if is_dask_frame(df) else df


def sorted_frame(df, by: list[str]) -> pd.DataFrame:
    """Compute (if Dask) and sort, so both engines hand back the same rows in the same order."""
    return compute(df).sort_values(by, kind="stable", ignore_index=True)
