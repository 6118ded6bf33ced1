"""The next-cycle forecaster: fit on a cohort, predict from any women's histories (the served model).

One copy of the inference code, used by the ``forecasting`` pipeline's ``next_cycle_forecast``,
the ``serving`` pipeline (logged and registered as the MLflow model ``cycle_forecaster``), the
llm corpus and ``cycle-ask --explain``.

* :func:`women_folds` — the women-held-out folds (one copy: the ``forecasting`` pipeline uses it).
* :func:`out_of_fold_residuals` — women-held-out out-of-sample residuals of a baseline (the same
  folds and fits as the ``forecasting`` pipeline's ``forecast_predictions``).
* :func:`fit_forecaster` — everything fitted on the cohort, as a JSON-friendly dict: population
  mean, shrinkage strength, per-band 80% conformal offsets and (optionally) the in-cycle state of
  :func:`cycle_kedro.cycles.incycle.fit_incycle_state` (luteal prior, calibration residuals).
* :func:`validate_histories` — the request contract (:data:`HISTORY_COLUMNS`), clear errors.
* :func:`predict_next` — one row per woman: :data:`FORECAST_COLUMNS` (and
  :data:`SKIP_AWARE_COLUMNS` when the state has the skip-aware part, see :func:`forecast_columns`).

The request (one row per completed cycle, any order)::

    woman_id               str      required; any non-empty id
    cycle_index            int      required; order of her cycles (1, 2, ...; unique per woman)
    cycle_length           float    required; days, 1 to MAX_CYCLE_DAYS
    ovulation_day          float    optional; that cycle's ovulation day (for her luteal length)
    current_cycle_start    str      optional; ISO date of the current cycle's first day
    days_since_start       float    optional; today's cycle day (1 = first day of the period)
    current_ovulation_day  float    optional; cycle day ovulation was detected in the current cycle
    age, bmi               float    optional; checked (age 10-60, BMI 10-80), not used by the model

The per-woman fields (``current_*``, ``days_since_start``) are read from her last row that has them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cycle_kedro.pseudonyms import content_order
from cycle_kedro.schemas import CYCLES, MAX_CYCLE_DAYS
from cycle_kedro.validation import DataValidationError

from .adherence import adherence_posterior, forecast_as_of
from .baselines import (
    BASELINE_MODELS,
    estimate_shrinkage_k,
    expanding_baselines,
    expanding_history_stats,
    population_mean,
)
from .contracts import NEXT_CYCLE_COLUMNS
from .explain import explain_forecast
from .incycle import INCYCLE_FIELDS, fit_incycle_state, forecast_current_cycle
from .intervals import conformal_offsets, interval_band

__all__ = [
    "EXAMPLE_HISTORIES",
    "FORECAST_COLUMNS",
    "HISTORY_COLUMNS",
    "REQUIRED_COLUMNS",
    "SKIP_AWARE_COLUMNS",
    "fit_forecaster",
    "forecast_columns",
    "out_of_fold_residuals",
    "predict_next",
    "validate_histories",
    "women_folds",
]

ID, T, Y = "woman_id", "cycle_index", "cycle_length"
KEYS = [ID, T]
REQUIRED_COLUMNS = (ID, T, Y)
#: optional request columns and their valid range (None: a date)
OPTIONAL_COLUMNS: dict[str, tuple[float, float] | None] = {
    "ovulation_day": (1.0, 120.0),
    "current_cycle_start": None,
    "days_since_start": (1.0, 200.0),
    "current_ovulation_day": (1.0, 120.0),
    "age": (10.0, 60.0),
    "bmi": (10.0, 80.0),
}
HISTORY_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
LENGTH_RANGE = (1.0, float(MAX_CYCLE_DAYS))
DATE_COLUMNS = ("predicted_next_start", "next_start_lower_80", "next_start_upper_80")
FORECAST_COLUMNS = (
    *NEXT_CYCLE_COLUMNS,
    *INCYCLE_FIELDS,
    "current_cycle_start",
    *DATE_COLUMNS,
    "explanation",
)
"""Columns of :func:`predict_next` (the served model's answer), one row per woman."""
#: the skip-aware model's answer on today's cycle day (:mod:`.adherence`): the next logged start,
#: given none so far, in cycle days (1 = the last period's first day) with its 80% range, the
#: probability that a period already came and was not logged, and that one comes in the next 3 days
SKIP_AWARE_COLUMNS = (
    "skip_aware_start_day",
    "skip_aware_start_day_lower_80",
    "skip_aware_start_day_upper_80",
    "p_missed_start",
    "p_start_soon",
)

_NA = float("nan")
#: A made-up request (two women, no participant data): the served model's input example. Woman
#: ``A`` is on day 18 of a cycle that began on 2026-11-14, ovulation detected on day 15; woman
#: ``B`` sends two cycle lengths only. Every optional column has a gap, so the signature marks
#: it optional.
EXAMPLE_HISTORIES = {
    "woman_id": ["A", "A", "A", "A", "B", "B"],
    "cycle_index": [1, 2, 3, 4, 1, 2],
    "cycle_length": [29.0, 31.0, 28.0, 30.0, 26.0, 27.0],
    "ovulation_day": [15.0, 17.0, _NA, 16.0, _NA, _NA],
    "current_cycle_start": [None, None, None, "2026-11-14", None, None],
    "days_since_start": [_NA, _NA, _NA, 18.0, _NA, _NA],
    "current_ovulation_day": [_NA, _NA, _NA, 15.0, _NA, _NA],
    "age": [31.0, 31.0, 31.0, 31.0, _NA, _NA],
    "bmi": [22.5, 22.5, 22.5, 22.5, _NA, _NA],
}


def women_folds(cycles: pd.DataFrame, n_folds: int, seed: int) -> dict[str, int]:
    """Women-held-out folds ``{woman_id: fold}`` (the ``forecasting`` pipeline's and serving's).

    Women are ordered by their data, not by their pseudonyms (which change with the key), then
    permuted with ``seed`` and dealt round-robin into ``n_folds`` folds. The order depends on the
    table's :data:`~cycle_kedro.schemas.CYCLES` columns, so pass the same table (e.g. the cohort's
    ``*_model_input``) wherever the folds must agree.
    """
    data_cols = [c for c in CYCLES.columns if c in cycles.columns and c != ID]
    women = content_order(cycles, ID, data_cols, KEYS)
    rng = np.random.default_rng(int(seed))
    return dict(zip(rng.permutation(women), np.arange(len(women)) % int(n_folds), strict=True))


def out_of_fold_residuals(
    cycles: pd.DataFrame, model: str, *, n_folds: int, seed: int, warmup_cycles: int = 1
) -> pd.DataFrame:
    """Out-of-sample residuals ``cycle_length - forecast`` of a baseline, women held out by fold.

    Each fold's population mean and shrinkage strength come from the other folds' women only and
    each cycle is forecast from that woman's earlier cycles (the ``forecasting`` pipeline's
    ``pred_<model>``). Returns ``woman_id``, ``cycle_index``, ``n_prior``, ``residual`` for the
    scored cycles (``n_prior >= warmup_cycles``).
    """
    _check_model(model)
    df = cycles.sort_values(KEYS, ignore_index=True)
    fold = df[ID].map(women_folds(cycles, n_folds, seed))
    parts = []
    for f in sorted(fold.unique()):
        train, test = df[fold != f], df[fold == f]
        fc = expanding_baselines(test, population_mean(train), estimate_shrinkage_k(train))
        parts.append(fc[[model, "n_prior"]])
    pred = pd.concat(parts).loc[df.index]
    out = df[KEYS].assign(n_prior=pred["n_prior"].astype(int), residual=df[Y] - pred[model])
    return out[out["n_prior"] >= int(warmup_cycles)].reset_index(drop=True)


def _check_model(model: str) -> None:
    if model not in BASELINE_MODELS:
        raise ValueError(f"next_cycle.model must be one of {BASELINE_MODELS}, got {model!r}")


def fit_forecaster(
    cycles: pd.DataFrame,
    residuals: pd.DataFrame,
    options: dict[str, Any],
    skip_aware: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit the forecaster's population state on a cohort (JSON-friendly dict).

    Args:
        cycles: the cohort's cycles (``woman_id``, ``cycle_index``, ``cycle_length``; with
            ``ovulation_day`` where known when ``options['incycle']`` is set).
        residuals: out-of-sample residuals of ``options['model']`` (``n_prior``, ``residual``),
            e.g. from :func:`out_of_fold_residuals` or the pipeline's ``forecast_predictions``.
        options: ``model`` (a baseline), ``intervals`` (``coverage``, ``n_prior_bands``,
            ``min_calibration``) and optionally ``incycle`` (``intervals`` and ``update`` as in
            ``forecasting.<cohort>.incycle``; its ``history_model`` must be ``model``).
        skip_aware: a fitted skip-aware model (:func:`~cycle_kedro.cycles.adherence.fit_adherence_model`)
            carried as is; each answer then has :data:`SKIP_AWARE_COLUMNS`.
    """
    model = options["model"]
    _check_model(model)
    iv = options["intervals"]
    bands, coverage = [int(b) for b in iv["n_prior_bands"]], float(iv["coverage"])
    resid = residuals["residual"]
    cal_band = interval_band(residuals["n_prior"], bands)
    offsets = []
    for b in range(len(bands) + 1):
        enough = (cal_band == b).sum() >= int(iv["min_calibration"])
        offsets.append(list(conformal_offsets(resid[cal_band == b] if enough else resid, coverage)))
    pm, k = population_mean(cycles), estimate_shrinkage_k(cycles)
    state: dict[str, Any] = {
        "model": model,
        "population_mean": pm,
        "shrinkage_k": k,
        "bands": bands,
        "coverage": coverage,
        "offsets": offsets,
        "n_women": int(cycles[ID].nunique()),
        "n_cycles": len(cycles),
        "incycle": None,
        "skip_aware": skip_aware,
    }
    inc = options.get("incycle")
    if inc:
        if inc.get("history_model", model) != model:
            raise ValueError(f"incycle.history_model must be the forecaster's model {model!r}")
        hist = {"history_model": model, "population_mean": pm, "shrinkage_k": k}
        state["incycle"] = fit_incycle_state(
            cycles, residuals, {**inc["intervals"], **inc["update"]}, hist
        )
    return state


def _check(ok: pd.Series | np.ndarray | bool, source: str, message: str, df: pd.DataFrame) -> None:
    bad = np.flatnonzero(~np.asarray(ok, dtype=bool))
    if len(bad):
        rows = ", ".join(str(i) for i in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise DataValidationError(f"{source}: {message} (row(s) {rows} of {len(df)})")


def validate_histories(histories: pd.DataFrame, source: str = "cycle_histories") -> pd.DataFrame:
    """Check a request against :data:`HISTORY_COLUMNS`; raise :class:`DataValidationError` naming
    the column and rows. Returns the table with every optional column present (NaN when absent)."""
    if not isinstance(histories, pd.DataFrame):
        raise DataValidationError(f"{source}: expected a table, got {type(histories).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in histories.columns]
    if missing:
        raise DataValidationError(
            f"{source}: missing required column(s) {missing}; "
            f"required {list(REQUIRED_COLUMNS)}, optional {list(OPTIONAL_COLUMNS)}"
        )
    if histories.empty:
        raise DataValidationError(f"{source}: no rows; send at least one cycle per woman")
    df = histories.reset_index(drop=True).copy()
    ids = df[ID]
    _check(ids.notna() & (ids.astype(str).str.strip() != ""), source, f"column '{ID}' is empty", df)
    df[ID] = ids.astype(str)
    for col, (lo, hi) in {T: (0, 10_000), Y: LENGTH_RANGE}.items():
        num = pd.to_numeric(df[col], errors="coerce")
        _check(num.notna(), source, f"column '{col}' must be a number, not empty", df)
        _check(num >= 0, source, f"column '{col}' must not be negative", df)
        _check(num.between(lo, hi), source, f"column '{col}' must be between {lo} and {hi}", df)
        df[col] = num.astype(float)
    _check(df[T] == df[T].round(), source, f"column '{T}' must be a whole number", df)
    df[T] = df[T].astype("int64")
    _check(~df.duplicated(KEYS), source, f"'{T}' repeats within a woman", df)
    for col, rng in OPTIONAL_COLUMNS.items():
        if col not in df:
            df[col] = pd.NaT if rng is None else np.nan
            continue
        raw = df[col].replace("", None) if df[col].dtype == object else df[col]
        if rng is None:
            when = pd.to_datetime(raw, errors="coerce", format="ISO8601")
            _check(raw.isna() | when.notna(), source, f"column '{col}' must be an ISO date", df)
            df[col] = when
            continue
        num = pd.to_numeric(raw, errors="coerce")
        _check(raw.isna() | num.notna(), source, f"column '{col}' must be a number", df)
        _check(num.isna() | (num >= 0), source, f"column '{col}' must not be negative", df)
        _check(num.isna() | num.between(*rng), source, f"column '{col}' must be in {rng}", df)
        df[col] = num.astype(float)
    return df.sort_values(KEYS, ignore_index=True)


def _with_optional(df: pd.DataFrame) -> pd.DataFrame:
    extra = {
        c: (pd.NaT if r is None else np.nan) for c, r in OPTIONAL_COLUMNS.items() if c not in df
    }
    return df.assign(**extra).sort_values(KEYS, ignore_index=True)


def _last_value(df: pd.DataFrame, col: str) -> pd.Series:
    return df.dropna(subset=[col]).groupby(ID)[col].last()


def _day1_table(state: dict[str, Any], df: pd.DataFrame) -> pd.DataFrame:
    """The day-1 next-cycle forecast of each woman (the :data:`NEXT_CYCLE_COLUMNS`)."""
    model = state["model"]
    last = df.groupby(ID).tail(1)
    history = pd.concat(
        [df[[ID, T, Y]], last[[ID, T]].assign(cycle_index=last[T] + 1, cycle_length=np.nan)],
        ignore_index=True,
    )
    fc = expanding_baselines(history, state["population_mean"], state["shrinkage_k"])
    stats = expanding_history_stats(history)
    rows = history.index[history[Y].isna()]
    out = pd.DataFrame(
        {
            "woman_id": history.loc[rows, ID].to_numpy(),
            "n_cycles_used": stats.loc[rows, "n_prior"].to_numpy(dtype=int),
            "last_cycle_length": stats.loc[rows, "last"].to_numpy(),
            "history_mean": stats.loc[rows, "hist_mean"].to_numpy(),
            "history_sd": stats.loc[rows, "hist_sd"].to_numpy(),
            "predicted_length": fc.loc[rows, model].to_numpy(),
        }
    )
    offsets = np.asarray(state["offsets"], dtype=float)[
        interval_band(out["n_cycles_used"], state["bands"])
    ]
    out["lower_80"] = out["predicted_length"] + offsets[:, 0]
    out["upper_80"] = out["predicted_length"] + offsets[:, 1]
    out["model"] = model
    return out.sort_values(ID, ignore_index=True)[list(NEXT_CYCLE_COLUMNS)]


def forecast_columns(state: dict[str, Any]) -> tuple[str, ...]:
    """The columns :func:`predict_next` answers with under ``state``."""
    return FORECAST_COLUMNS + (SKIP_AWARE_COLUMNS if state.get("skip_aware") else ())


def _skip_aware_table(state: dict[str, Any], df: pd.DataFrame, days: pd.Series) -> pd.DataFrame:
    """:data:`SKIP_AWARE_COLUMNS` of each woman (sorted ids) on cycle day ``days`` (1 when unknown).

    Her completed cycle lengths are her logged gaps; cycle day ``d`` is ``d - 1`` days after her
    last period's first day, with no start logged since.
    """
    sa = state["skip_aware"]
    codes, ids = pd.factorize(df[ID], sort=True)
    post, _ = adherence_posterior(sa, df[Y].to_numpy(float), codes, len(ids))
    day = days.reindex(ids).fillna(1.0).to_numpy() - 1.0
    f = forecast_as_of(sa, post, day.astype(np.int64))
    return pd.DataFrame(
        index=pd.Index(ids, name=ID),
        data={
            "skip_aware_start_day": f["median_gap_days"] + 1.0,
            "skip_aware_start_day_lower_80": f["lo_gap_days"] + 1.0,
            "skip_aware_start_day_upper_80": f["hi_gap_days"] + 1.0,
            "p_missed_start": f["p_missed_start"],
            "p_start_soon": f["p_start_soon"],
        },
    )


def predict_next(
    state: dict[str, Any], histories: pd.DataFrame, *, explain: bool = True, validate: bool = True
) -> pd.DataFrame:
    """Each woman's next-cycle forecast from her history (one row per woman, sorted by id).

    Args:
        state: from :func:`fit_forecaster`.
        histories: completed cycles (see the module docstring); validated here.
        explain: add the template ``explanation``.
        validate: check ``histories`` with :func:`validate_histories` (a pipeline's own,
            already validated cycle table may skip it; missing optional columns are added).

    Returns:
        :data:`FORECAST_COLUMNS`: the day-1 forecast (:data:`NEXT_CYCLE_COLUMNS`), the in-cycle
        fields (:data:`INCYCLE_FIELDS`; NaN when the state has no in-cycle part), and, when
        ``current_cycle_start`` is given, the next period's start date with its 80% range; with
        the state's skip-aware part also :data:`SKIP_AWARE_COLUMNS` (:func:`forecast_columns`).
    """
    df = validate_histories(histories) if validate else _with_optional(histories)
    out = _day1_table(state, df)
    start = _last_value(df, "current_cycle_start").reindex(out[ID])
    days = _last_value(df, "days_since_start").reindex(out[ID])
    ov = _last_value(df, "current_ovulation_day").reindex(out[ID])
    if state.get("incycle"):
        by_woman = dict(tuple(df.groupby(ID)))
        fields = pd.DataFrame(
            [
                forecast_current_cycle(
                    state["incycle"],
                    by_woman[w],
                    days_since_start=None if pd.isna(d) else float(d),
                    ovulation_day=None if pd.isna(o) else float(o),
                    ovulation_tracked=bool(state["incycle"]["ovulation_tracked"]),
                )
                for w, d, o in zip(out[ID], days, ov, strict=True)
            ],
            index=out.index,
        )
    else:
        fields = pd.DataFrame(
            {
                "days_since_start": days.fillna(1.0).to_numpy(),
                "ovulation_day": ov.to_numpy(),
                "incycle_method": None,
                **{c: np.nan for c in INCYCLE_FIELDS[3:]},
            },
            index=out.index,
        )
    out = pd.concat([out, fields[list(INCYCLE_FIELDS)]], axis=1)
    out["current_cycle_start"] = start.to_numpy()
    length = out["incycle_predicted_length"].fillna(out["predicted_length"].round())
    lo = out["incycle_lower_80"].fillna(np.ceil(out["lower_80"]))
    hi = out["incycle_upper_80"].fillna(np.floor(out["upper_80"]))
    for col, days_ in zip(DATE_COLUMNS, (length, lo, hi), strict=True):
        out[col] = out["current_cycle_start"] + pd.to_timedelta(days_, unit="D")
    for col in ("current_cycle_start", *DATE_COLUMNS):
        out[col] = out[col].dt.strftime("%Y-%m-%d").astype(object).where(out[col].notna(), None)
    out["explanation"] = [explain_forecast(r) for r in out.to_dict("records")] if explain else ""
    if state.get("skip_aware"):
        skip_aware = _skip_aware_table(state, df, days).reindex(out[ID])
        out = pd.concat([out, skip_aware.set_axis(out.index)], axis=1)
    return out[list(forecast_columns(state))]
