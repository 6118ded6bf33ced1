"""Forecast metrics: point errors, interval coverage and a bootstrap MAE difference.

* :func:`regression_metrics` — ``{"n", "mse", "mae", "rmse", "r2"}`` for two arrays.
* :func:`interval_coverage` — share of ``y`` inside ``[lo, hi]``.
* :func:`bootstrap_mae_difference` — MAE(a) − MAE(b) with a (cluster) bootstrap CI.

All functions ignore rows where any input is NaN. Empty input (after dropping NaN) gives NaN
values (documented), never an exception.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bootstrap_mae_difference",
    "interval_coverage",
    "regression_metrics",
]


def _finite(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    arrays = tuple(np.asarray(a, dtype=float).ravel() for a in arrays)
    n = {len(a) for a in arrays}
    if len(n) != 1:
        raise ValueError(f"arrays must have the same length, got {[len(a) for a in arrays]}")
    keep = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    return tuple(a[keep] for a in arrays)


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """Return ``n``, ``mse``, ``mae``, ``rmse`` and ``r2`` of ``y_pred`` against ``y_true``.

    Rows with a NaN in either array are dropped. ``r2`` is ``1 - SSE/SST`` (as scikit-learn's
    ``r2_score``); it is NaN when fewer than 2 rows remain or ``y_true`` is constant. With no
    rows left every metric is NaN and ``n`` is 0.
    """
    y, p = _finite(y_true, y_pred)
    n = len(y)
    if n == 0:
        return {"n": 0, "mse": np.nan, "mae": np.nan, "rmse": np.nan, "r2": np.nan}
    err = y - p
    mse = float(np.mean(err**2))
    sst = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err**2)) / sst if n >= 2 and sst > 0 else np.nan
    return {
        "n": int(n),
        "mse": mse,
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(mse)),
        "r2": float(r2),
    }


def interval_coverage(y, lo, hi) -> float:
    """Return the share of ``y`` with ``lo <= y <= hi`` (NaN rows dropped; NaN if none left)."""
    y, lo, hi = _finite(y, lo, hi)
    if len(y) == 0:
        return float("nan")
    return float(np.mean((y >= lo) & (y <= hi)))


def bootstrap_mae_difference(
    y_true,
    pred_a,
    pred_b,
    groups=None,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Return MAE(a) − MAE(b) with a percentile bootstrap CI (negative: ``a`` is better).

    Args:
        y_true: observed values.
        pred_a: predictions of the model of interest.
        pred_b: predictions of the reference (e.g. the best baseline), same rows.
        groups: optional cluster labels (e.g. ``woman_id``); when given, whole clusters are
            resampled, which respects the dependence between one woman's cycles.
        n_boot: bootstrap replicates.
        confidence: CI level.
        seed: RNG seed (same seed, same CI).

    Returns:
        ``{"diff", "ci_low", "ci_high", "n"}``; NaN values and ``n=0`` when no complete rows.
    """
    y = np.asarray(y_true, dtype=float).ravel()
    a = np.asarray(pred_a, dtype=float).ravel()
    b = np.asarray(pred_b, dtype=float).ravel()
    keep = np.isfinite(y) & np.isfinite(a) & np.isfinite(b)
    if not keep.any():
        return {"diff": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0}
    d = np.abs(y - a)[keep] - np.abs(y - b)[keep]
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, len(d), size=(n_boot, len(d)))
        reps = d[idx].mean(axis=1)
    else:
        g = np.asarray(groups)[keep]
        codes, inverse = np.unique(g, return_inverse=True)
        sums = np.bincount(inverse, weights=d, minlength=len(codes))
        counts = np.bincount(inverse, minlength=len(codes)).astype(float)
        # clusters in an order fixed by their values, not their labels (pseudonyms change with the key)
        order = np.lexsort((counts, sums))
        sums, counts = sums[order], counts[order]
        draw = rng.integers(0, len(codes), size=(n_boot, len(codes)))
        reps = sums[draw].sum(axis=1) / counts[draw].sum(axis=1)
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(reps, [tail, 1.0 - tail])
    return {"diff": float(d.mean()), "ci_low": float(lo), "ci_high": float(hi), "n": int(len(d))}
