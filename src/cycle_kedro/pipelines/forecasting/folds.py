"""Forecast frame and women-held-out folds of the ``forecasting`` pipeline, and each cycle's details.

Evaluation design (same for every model, so all are scored on the same rows):

* Women are split into ``n_folds`` groups (women-held-out folds). For a cycle of a woman in
  fold *f*, population-level quantities (population mean, shrinkage strength, ridge and
  neural-net weights, interval widths) come only from women of the other folds; the woman's
  own contribution is only her *earlier* cycles (expanding window). Her target cycle and
  later cycles never enter anything used to predict it.
* A cycle is scored when it has at least ``warmup_cycles`` earlier cycles.
* 80% intervals are split-conformal: residual quantiles of the other folds' out-of-sample
  predictions (optionally per band of number of earlier cycles).

:func:`attach_cycle_details` adds what the per-cycle primary table knows beyond the model input
(the ovulation day; the generator's planted shift): the in-cycle and oracle forecasts read it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.forecaster import women_folds
from cycle_kedro.schemas import CYCLES
from cycle_kedro.validation import DataValidationError
from cycle_kedro.validation.schema_checks import validate

from .neural import EXOG

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = logging.getLogger(__name__)

KEYS = ["woman_id", "cycle_index"]


def prepare_forecast_frame(model_input: pd.DataFrame, evaluation: dict[str, Any]) -> pd.DataFrame:
    """Validate the per-cycle table and add ``fold`` (women-held-out), ``n_prior`` and ``evaluated``.

    Args:
        model_input: per-cycle table (the ``*_model_input`` contract).
        evaluation: ``dataset`` (name for errors), ``n_folds``, ``warmup_cycles`` (>= 1), ``seed``.
    """
    source = evaluation.get("dataset", "model_input")
    df = validate(model_input, CYCLES, source=source)
    warmup, n_folds = int(evaluation["warmup_cycles"]), int(evaluation["n_folds"])
    if warmup < 1:
        raise ValueError(f"{source}: evaluation.warmup_cycles must be >= 1, got {warmup}")
    # women ordered by their data, not by their pseudonyms (the library's, also used by serving)
    fold_of = women_folds(df, n_folds, int(evaluation["seed"]))
    women = list(fold_of)
    if len(women) < max(n_folds, 3):
        raise DataValidationError(
            f"{source}: column 'woman_id' has {len(women)} women; need at least "
            f"{max(n_folds, 3)} for {n_folds} women-held-out folds"
        )
    out = df.sort_values(KEYS, ignore_index=True)
    out["fold"] = out["woman_id"].map(fold_of).astype(int)
    out["n_prior"] = out.groupby("woman_id").cumcount().astype(int)
    out["evaluated"] = out["n_prior"] >= warmup
    for col in EXOG:
        if col not in out.columns:
            out[col] = np.nan
    logger.info(
        "%s: %d cycles, %d women, %d scored cycles, %d folds",
        source,
        len(out),
        len(women),
        int(out["evaluated"].sum()),
        n_folds,
    )
    return out


def by_fold(frame: pd.DataFrame) -> Iterator[tuple[int, pd.DataFrame, pd.DataFrame]]:
    """Yield ``(fold, training rows, test rows)`` for every women-held-out fold."""
    for f in sorted(frame["fold"].unique()):
        yield f, frame[frame["fold"] != f], frame[frame["fold"] == f]


DETAIL_COLUMNS = ("ovulation_day", "planted_shift")


def attach_cycle_details(frame: pd.DataFrame, cycles: pd.DataFrame) -> pd.DataFrame:
    """Add each cycle's ``ovulation_day`` (and the generator's ``planted_shift``) to the forecast frame.

    Missing in the cycles table: NaN (``planted_shift`` stays absent). Index and rows of
    ``frame`` are kept.
    """
    extra = [c for c in DETAIL_COLUMNS if c in cycles.columns]
    details = cycles[[*KEYS, *extra]].drop_duplicates(KEYS)
    out = frame.drop(columns=[c for c in extra if c in frame], errors="ignore")
    out = out.reset_index().merge(details, on=KEYS, how="left").set_index("index")
    out.index.name = frame.index.name
    if "ovulation_day" not in out:
        out["ovulation_day"] = np.nan
    return out.loc[frame.index]
