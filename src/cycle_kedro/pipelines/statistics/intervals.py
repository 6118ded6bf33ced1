"""Confidence intervals and effect sizes of the statistics pipeline (pure numpy/scipy helpers).

Fisher z intervals for correlations (Bonett-Wright variance for Spearman), seeded percentile
bootstraps of Pearson r and of the rank-biserial correlation, Cohen's d with its noncentral-t CI
(Steiger & Fouladi) and the exact small-sample factor J of Hedges' g.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import optimize, special, stats

logger = logging.getLogger(__name__)


def fisher_ci(r: float, n: int, level: float, variance: float = 1.0) -> tuple[float, float]:
    """Fisher z interval for a correlation; ``variance`` is 1 for Pearson, 1 + rho^2/2 for Spearman."""
    if n <= 3:
        return -1.0, 1.0
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(variance / (n - 3))
    z = np.arctanh(r)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def bootstrap_pearson_ci(
    x: np.ndarray, y: np.ndarray, level: float, n_boot: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile bootstrap CI of Pearson r, resampling (x, y) pairs; degenerate resamples dropped."""
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    xb, yb = x[idx], y[idx]
    xc = xb - xb.mean(axis=1, keepdims=True)
    yc = yb - yb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=1) / np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    r = r[np.isfinite(r)]
    if len(r) < n_boot:
        logger.warning(
            "bootstrap: %d of %d resamples were constant and dropped", n_boot - len(r), n_boot
        )
    if len(r) == 0:
        return np.nan, np.nan
    alpha = 1 - level
    low, high = np.quantile(r, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def cohens_d(x: np.ndarray, y: np.ndarray) -> float:
    """Cohen's d: difference of means over the pooled SD (ddof=1 in each group)."""
    n1, n2 = len(x), len(y)
    pooled = ((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2)
    return float((x.mean() - y.mean()) / np.sqrt(pooled))


def hedges_j(df: int) -> float:
    """Exact small-sample correction J(df) = Γ(df/2) / (sqrt(df/2) Γ((df-1)/2)), so g = J d."""
    return float(np.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / np.sqrt(df / 2))


def cohens_d_ci(t: float, n1: int, n2: int, level: float) -> tuple[float, float]:
    """CI for Cohen's d by inverting the noncentral t distribution of Student's t (Steiger & Fouladi).

    Falls back to the normal approximation of Hedges & Olkin (with a warning) if the noncentral t
    cannot be bracketed numerically (scipy's ``nct.cdf`` returns NaN far in its tails).
    """
    df, scale = n1 + n2 - 2, np.sqrt(1 / n1 + 1 / n2)
    alpha = 1 - level
    bounds = [_noncentrality_for(t, df, prob) for prob in (1 - alpha / 2, alpha / 2)]
    if all(np.isfinite(bounds)):
        return float(bounds[0] * scale), float(bounds[1] * scale)
    d = t * scale
    se = np.sqrt((n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2)))
    half = stats.norm.ppf(1 - alpha / 2) * se
    logger.warning("noncentral t CI for d failed (t=%.3g, df=%d); normal approximation used", t, df)
    return float(d - half), float(d + half)


def _noncentrality_for(t: float, df: int, prob: float) -> float:
    """The noncentrality parameter with ``nct.cdf(t, df, ncp) == prob`` (NaN if not bracketed)."""

    def gap(ncp: float) -> float:
        return float(stats.nct.cdf(t, df, ncp)) - prob

    width = 3 * np.sqrt(1 + t**2 / (2 * df)) + 0.5
    for _ in range(12):
        low, high = gap(t - width), gap(t + width)
        if low >= 0 >= high:
            return optimize.brentq(gap, t - width, t + width, xtol=1e-12)
        width *= 1.5
    return np.nan


def bootstrap_rank_biserial_ci(
    x: np.ndarray, y: np.ndarray, level: float, n_boot: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile bootstrap CI of the rank-biserial correlation, resampling within each group."""
    wins = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    estimates = np.empty(n_boot)
    chunk = max(1, 2_000_000 // wins.size)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        ix = rng.integers(0, len(x), size=(size, len(x)))
        iy = rng.integers(0, len(y), size=(size, len(y)))
        u = wins[ix[:, :, None], iy[:, None, :]].sum(axis=(1, 2))
        estimates[start : start + size] = 2 * u / (len(x) * len(y)) - 1
    alpha = 1 - level
    low, high = np.quantile(estimates, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
