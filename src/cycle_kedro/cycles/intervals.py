"""Split-conformal prediction intervals from out-of-sample residuals.

* :func:`conformal_offsets` — the residual quantiles ``(q_lo, q_hi)`` of a central interval.
* :func:`interval_band` — the band of number of earlier cycles each row falls in, so that
  intervals can be calibrated per band (few earlier cycles: wider intervals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import _finite

__all__ = ["conformal_offsets", "interval_band"]


def conformal_offsets(residuals, coverage: float = 0.8) -> tuple[float, float]:
    """Return ``(q_lo, q_hi)`` so that ``[pred + q_lo, pred + q_hi]`` covers ``coverage``.

    Split-conformal on calibration residuals ``y - pred`` (which must come from data the
    test rows never touched): ``q_lo``/``q_hi`` are the finite-sample-corrected
    ``(1-coverage)/2`` and ``(1+coverage)/2`` empirical quantiles. Asymmetric on purpose
    (cycle-length errors are right-skewed). NaN offsets when no residuals are given.
    """
    (r,) = _finite(residuals)
    n = len(r)
    if n == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - coverage) / 2.0
    q_hi = min(1.0, np.ceil((n + 1) * (1 - alpha)) / n)
    q_lo = max(0.0, np.floor((n + 1) * alpha) / n)
    return float(np.quantile(r, q_lo, method="lower")), float(np.quantile(r, q_hi, method="higher"))


def interval_band(n_prior: pd.Series, bands: list[int]) -> np.ndarray:
    """Return each row's band of earlier cycles: 0 below ``bands[0]``, 1 below ``bands[1]``, ..."""
    return np.searchsorted(np.asarray(bands), n_prior.to_numpy(), side="right")
