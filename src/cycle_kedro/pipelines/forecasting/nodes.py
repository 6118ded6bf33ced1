"""Nodes of the ``forecasting`` pipeline: next-cycle length, honestly evaluated.

Evaluation design (same for every model, so all are scored on the same rows):

* Women are split into ``n_folds`` groups (women-held-out folds). For a cycle of a woman in
  fold *f*, population-level quantities (population mean, shrinkage strength, ridge and
  neural-net weights, interval widths) come only from women of the other folds; the woman's
  own contribution is only her *earlier* cycles (expanding window). Her target cycle and
  later cycles never enter anything used to predict it.
* A cycle is scored when it has at least ``warmup_cycles`` earlier cycles.
* 80% intervals are split-conformal: residual quantiles of the other folds' out-of-sample
  predictions (optionally per band of number of earlier cycles).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cycle_kedro.cycles.arima import expanding_arima
from cycle_kedro.cycles.baselines import (
    BASELINE_MODELS,
    estimate_shrinkage_k,
    expanding_baselines,
    expanding_history_stats,
    population_mean,
)
from cycle_kedro.cycles.contracts import NEXT_CYCLE_COLUMNS
from cycle_kedro.cycles.intervals import conformal_offsets
from cycle_kedro.cycles.metrics import (
    bootstrap_mae_difference,
    interval_coverage,
    regression_metrics,
)
from cycle_kedro.schemas import CYCLES
from cycle_kedro.validation import DataValidationError, validate

from .neural import EXOG, fit_recurrent, predict_recurrent

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

KEYS = ["woman_id", "cycle_index"]
MODEL_KIND = {
    **dict.fromkeys(BASELINE_MODELS, "baseline"),
    "arima": "statistical",
    "ridge": "pooled linear",
    "lstm": "neural",
    "gru": "neural",
}


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
    women = np.sort(df["woman_id"].unique())
    if len(women) < max(n_folds, 3):
        raise DataValidationError(
            f"{source}: column 'woman_id' has {len(women)} women; need at least "
            f"{max(n_folds, 3)} for {n_folds} women-held-out folds"
        )
    rng = np.random.default_rng(int(evaluation["seed"]))
    fold_of = dict(zip(rng.permutation(women), np.arange(len(women)) % n_folds, strict=True))
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


def _by_fold(frame: pd.DataFrame):
    for f in sorted(frame["fold"].unique()):
        yield f, frame[frame["fold"] != f], frame[frame["fold"] == f]


def predict_baselines(frame: pd.DataFrame) -> pd.DataFrame:
    """Forecast every cycle with the simple baselines; population stats from the other folds only."""
    parts = []
    for f, train, test in _by_fold(frame):
        pm, k = population_mean(train), estimate_shrinkage_k(train)
        logger.info("fold %d: population mean %.2f d, shrinkage k %.2f cycles", f, pm, k)
        parts.append(expanding_baselines(test, pm, k).drop(columns="n_prior"))
    return pd.concat(parts).loc[frame.index]


def predict_arima(frame: pd.DataFrame, arima: dict[str, Any]) -> pd.DataFrame:
    """Forecast every cycle with a per-woman statsforecast ARIMA fitted on her earlier cycles only."""
    out = expanding_arima(
        frame,
        min_prior=1,
        order=tuple(arima["order"]),
        auto=bool(arima.get("auto", False)),
        min_length=int(arima["min_length"]),
        n_jobs=int(arima.get("n_jobs", 1)),
    )
    share = (out["arima_model"] == "arima").mean()
    logger.info("ARIMA fitted on %.0f%% of forecasts (rest: mean fallback)", 100 * share)
    return out[["arima"]]


def _ridge_features(frame: pd.DataFrame) -> pd.DataFrame:
    """History features from earlier cycles only (exogenous: previous cycle's values)."""
    st = expanding_history_stats(frame)
    x = st[["last", "hist_mean", "hist_median", "hist_sd"]].copy()
    x["log_n_prior"] = np.log1p(st["n_prior"])
    x[["age", "bmi"]] = frame[["age", "bmi"]]
    prev = frame.sort_values(KEYS).groupby("woman_id")[list(EXOG)].shift(1)
    for col in EXOG:
        if frame[col].notna().any():
            x[f"prev_{col}"] = prev[col]
    return x


def predict_ridge(frame: pd.DataFrame, ridge: dict[str, Any]) -> pd.DataFrame:
    """Forecast with a ridge regression on history features, trained on the other folds' women."""
    from sklearn.linear_model import Ridge  # noqa: PLC0415

    x_all = _ridge_features(frame)
    pred = pd.Series(np.nan, index=frame.index, dtype=float)
    for _, train, test in _by_fold(frame):
        rows = train.index[train["n_prior"] >= 1]
        x_train = x_all.loc[rows]
        fill, mu, sd = x_train.median(), x_train.mean(), x_train.std(ddof=0).replace(0, 1)
        z = lambda x: ((x.fillna(fill).fillna(0) - mu) / sd).fillna(0)  # noqa: E731
        model = Ridge(alpha=float(ridge["alpha"])).fit(z(x_train), train.loc[rows, "cycle_length"])
        test_rows = test.index[test["n_prior"] >= 1]
        pred.loc[test_rows] = model.predict(z(x_all.loc[test_rows]))
    return pred.rename("ridge").to_frame()


def predict_recurrent_cv(
    frame: pd.DataFrame, neural: dict[str, Any]
) -> tuple[pd.DataFrame, list[float]]:
    """Train an LSTM or GRU per women-held-out fold (early stopping on held-out training women).

    Returns the out-of-fold predictions (column named ``neural["name"]``) and fold 0's
    validation-loss curve.
    """
    name, seed = neural["name"], int(neural["seed"])
    pred = pd.Series(np.nan, index=frame.index, dtype=float)
    curve: list[float] = []
    for f, train, test in _by_fold(frame):
        women = train["woman_id"].drop_duplicates().to_numpy()
        rng = np.random.default_rng(seed + int(f))
        n_val = max(1, round(float(neural["val_fraction"]) * len(women)))
        val_women = set(rng.choice(women, size=n_val, replace=False))
        is_val = train["woman_id"].isin(val_women)
        bundle = fit_recurrent(train[~is_val], train[is_val], neural["cell"], neural, seed + int(f))
        pred.loc[test.index] = predict_recurrent(bundle, test)
        curve = curve or bundle["val_curve"]
        logger.info(
            "%s fold %d: %d epochs, best val MSE(z) %.3f",
            name,
            f,
            bundle["epochs"],
            min(bundle["val_curve"], default=np.nan),
        )
    return pred.rename(name).to_frame(), [float(v) for v in curve]


def combine_predictions(frame: pd.DataFrame, *model_predictions: pd.DataFrame) -> pd.DataFrame:
    """Join the per-model out-of-fold forecasts to the keys, fold, n_prior and the observed length."""
    cols = [*KEYS, "fold", "n_prior", "evaluated", "cycle_length"]
    out = frame[cols].copy()
    for preds in model_predictions:
        out = out.join(preds.add_prefix("pred_"))
    return out


def _interval_band(n_prior: pd.Series, bands: list[int]) -> np.ndarray:
    return np.searchsorted(np.asarray(bands), n_prior.to_numpy(), side="right")


def add_prediction_intervals(predictions: pd.DataFrame, intervals: dict[str, Any]) -> pd.DataFrame:
    """Add split-conformal ``lo_<model>``/``hi_<model>`` for every model; calibrated on other folds only.

    For fold *f* the residual quantiles come from scored rows of the other folds in the same
    band of earlier cycles (``n_prior_bands``), or from all their rows when a band has fewer
    than ``min_calibration`` residuals.
    """
    out = predictions.copy()
    cov, min_cal = float(intervals["coverage"]), int(intervals["min_calibration"])
    band = _interval_band(out["n_prior"], list(intervals["n_prior_bands"]))
    models = [c[5:] for c in out.columns if c.startswith("pred_")]
    for m in models:
        resid = out["cycle_length"] - out[f"pred_{m}"]
        lo, hi = np.full(len(out), np.nan), np.full(len(out), np.nan)
        for f in out["fold"].unique():
            calib = (
                (out["fold"] != f).to_numpy()
                & out["evaluated"].to_numpy()
                & resid.notna().to_numpy()
            )
            for b in np.unique(band):
                target = (out["fold"] == f).to_numpy() & (band == b)
                use = calib & (band == b) if (calib & (band == b)).sum() >= min_cal else calib
                q_lo, q_hi = conformal_offsets(resid[use], cov)
                lo[target], hi[target] = q_lo, q_hi
        out[f"lo_{m}"] = out[f"pred_{m}"] + lo
        out[f"hi_{m}"] = out[f"pred_{m}"] + hi
    return out


def _models(predictions: pd.DataFrame) -> list[str]:
    return [c[5:] for c in predictions.columns if c.startswith("pred_")]


def _model_row(scored: pd.DataFrame, m: str, ref: str, evaluation: dict[str, Any]) -> dict:
    y, p = scored["cycle_length"], scored[f"pred_{m}"]
    row = {"model": m, "kind": MODEL_KIND.get(m, "other"), **regression_metrics(y, p)}
    row["n_women"] = int(scored.loc[p.notna(), "woman_id"].nunique())
    diff = bootstrap_mae_difference(
        y,
        p,
        scored[f"pred_{ref}"],
        groups=scored["woman_id"],
        n_boot=int(evaluation["n_boot"]),
        confidence=float(evaluation["confidence"]),
        seed=int(evaluation["seed"]),
    )
    row.update(
        reference=ref,
        mae_diff=diff["diff"],
        mae_diff_ci_low=diff["ci_low"],
        mae_diff_ci_high=diff["ci_high"],
    )
    if f"lo_{m}" in scored:
        row["interval_coverage"] = interval_coverage(y, scored[f"lo_{m}"], scored[f"hi_{m}"])
        row["interval_width"] = float((scored[f"hi_{m}"] - scored[f"lo_{m}"]).mean())
    return row


def _note(row: dict, shrink: dict | None) -> str:
    if row["kind"] != "neural" or shrink is None:
        return ""
    verdict = (
        "beats" if row["mae"] < shrink["mae"] and row["rmse"] < shrink["rmse"] else "does not beat"
    )
    return f"{verdict} the shrinkage baseline (MAE {row['mae']:.2f} vs {shrink['mae']:.2f})"


def evaluate_forecasts(
    predictions: pd.DataFrame,
    evaluation: dict[str, Any],
    intervals: dict[str, Any],
    study_reference: dict[str, Any],
) -> pd.DataFrame:
    """Score every model on the scored cycles; add the MAE difference vs the best simple baseline.

    The best baseline is the simple baseline with the lowest MAE; ``mae_diff < 0`` means the
    model beats it, with a woman-level cluster-bootstrap CI. The study's Table 1 numbers are
    appended as separate rows with ``source`` "study (Fu), not our data".
    """
    scored = predictions[predictions["evaluated"]]
    models = _models(scored)
    maes = {
        m: np.mean(np.abs(scored["cycle_length"] - scored[f"pred_{m}"]))
        for m in BASELINE_MODELS
        if m in models
    }
    ref = min(maes, key=maes.get)
    rows = [_model_row(scored, m, ref, evaluation) for m in models]
    shrink = next((r for r in rows if r["model"] == "shrinkage"), None)
    for r in rows:
        r["note"] = "best simple baseline (reference)" if r["model"] == ref else _note(r, shrink)
        r["source"] = f"our data: {evaluation.get('cohort', '')}".strip()
        r["interval_nominal"] = float(intervals["coverage"])
    study = pd.DataFrame(study_reference["rows"]).assign(
        source=study_reference["label"], kind="study", note=study_reference["note"]
    )
    table = pd.concat([pd.DataFrame(rows), study], ignore_index=True)
    table[["n", "n_women"]] = table[["n", "n_women"]].astype("Int64")
    first = ["source", "model", "kind", "n", "n_women", "mse", "mae", "rmse", "r2"]
    return table[first + [c for c in table.columns if c not in first]]


def metrics_for_mlflow(forecast_metrics: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Turn our rows of the metrics table into ``{"<model>.<metric>": {"value", "step"}}`` entries."""
    ours = forecast_metrics[forecast_metrics["kind"] != "study"]
    cols = [
        "n",
        "mse",
        "mae",
        "rmse",
        "r2",
        "mae_diff",
        "mae_diff_ci_low",
        "mae_diff_ci_high",
        "interval_coverage",
        "interval_width",
    ]
    out = {}
    for _, row in ours.iterrows():
        for c in cols:
            if c in row and pd.notna(row[c]):
                out[f"{row['model']}.{c}"] = {"value": float(row[c]), "step": 0}
    return out


def plot_predicted_vs_actual(predictions: pd.DataFrame, reporting: dict[str, Any]) -> Figure:
    """Scatter of forecast vs observed cycle length, one panel per model."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    scored = predictions[predictions["evaluated"]]
    models = _models(scored)
    ncol = 3
    nrow = int(np.ceil(len(models) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.6 * nrow), squeeze=False)
    lims = (scored["cycle_length"].min() - 1, scored["cycle_length"].max() + 1)
    for ax, m in zip(axes.ravel(), models, strict=False):
        ok = scored[f"pred_{m}"].notna()
        ax.scatter(scored.loc[ok, f"pred_{m}"], scored.loc[ok, "cycle_length"], s=6, alpha=0.35)
        ax.plot(lims, lims, color="grey", lw=1)
        mae = np.mean(np.abs(scored.loc[ok, "cycle_length"] - scored.loc[ok, f"pred_{m}"]))
        ax.set(
            title=f"{m} (MAE {mae:.2f} d)",
            xlim=lims,
            ylim=lims,
            xlabel="forecast (days)",
            ylabel="observed (days)",
        )
    for ax in axes.ravel()[len(models) :]:
        ax.axis("off")
    fig.suptitle(f"{reporting['title']}: next-cycle length, out-of-fold forecasts")
    fig.tight_layout()
    return fig


def plot_error_by_prior_cycles(predictions: pd.DataFrame, reporting: dict[str, Any]) -> Figure:
    """MAE by number of earlier cycles the forecast could use, one line per model."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    scored = predictions[predictions["evaluated"]]
    edges = list(reporting["prior_cycle_bins"]) + [np.inf]
    labels = [
        f"{int(a)}+" if np.isinf(b) else f"{int(a)}" if b - a == 1 else f"{int(a)}-{int(b) - 1}"
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    bins = pd.cut(scored["n_prior"], edges, right=False, labels=labels)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for m in _models(scored):
        err = (scored["cycle_length"] - scored[f"pred_{m}"]).abs()
        mae = err.groupby(bins, observed=False).mean().reindex(labels)
        ax.plot(np.arange(len(labels)), mae.to_numpy(), marker="o", label=m)
    counts = bins.value_counts().reindex(labels)
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set(
        xlabel="earlier cycles available (n per bin: " + ", ".join(map(str, counts)) + ")",
        ylabel="MAE (days)",
        title=f"{reporting['title']}: error by number of earlier cycles",
    )
    ax.legend(ncol=3, fontsize=8)
    fig.tight_layout()
    return fig


def plot_model_comparison(forecast_metrics: pd.DataFrame, reporting: dict[str, Any]) -> Figure:
    """Bar chart of MAE and RMSE per model (our data only), best simple baseline marked."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    ours = forecast_metrics[forecast_metrics["kind"] != "study"].reset_index(drop=True)
    x = np.arange(len(ours))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.bar(x - 0.2, ours["mae"], 0.4, label="MAE")
    ax.bar(x + 0.2, ours["rmse"], 0.4, label="RMSE")
    ref = ours.index[ours["note"].fillna("").str.startswith("best simple")]
    for i in ref:
        ax.axhline(
            ours.loc[i, "mae"], color="grey", ls="--", lw=1, label="best simple baseline MAE"
        )
    ax.set_xticks(x, ours["model"], rotation=30, ha="right")
    ax.set(ylabel="days", title=f"{reporting['title']}: next-cycle length error by model")
    ax.legend()
    fig.tight_layout()
    return fig


def forecast_next_cycle(
    frame: pd.DataFrame,
    predictions: pd.DataFrame,
    next_cycle: dict[str, Any],
    intervals: dict[str, Any],
) -> pd.DataFrame:
    """Forecast each woman's next, unobserved cycle from all her cycles with a simple model.

    Population mean and shrinkage strength come from the whole cohort; the 80% interval
    offsets are the conformal quantiles of that model's out-of-fold residuals in the same band
    of number of cycles (all bands pooled when a band has too few residuals).
    """
    model = next_cycle["model"]
    if model not in BASELINE_MODELS:
        raise ValueError(f"next_cycle.model must be one of {BASELINE_MODELS}, got {model!r}")
    last = frame.sort_values(KEYS).groupby("woman_id").tail(1)
    history = pd.concat(
        [frame, last.assign(cycle_index=last["cycle_index"] + 1, cycle_length=np.nan)],
        ignore_index=True,
    )
    pm, k = population_mean(frame), estimate_shrinkage_k(frame)
    fc = expanding_baselines(history, pm, k)
    stats = expanding_history_stats(history)
    rows = history.index[history["cycle_length"].isna()]
    out = pd.DataFrame(
        {
            "woman_id": history.loc[rows, "woman_id"].to_numpy(),
            "n_cycles_used": stats.loc[rows, "n_prior"].to_numpy(dtype=int),
            "last_cycle_length": stats.loc[rows, "last"].to_numpy(),
            "history_mean": stats.loc[rows, "hist_mean"].to_numpy(),
            "history_sd": stats.loc[rows, "hist_sd"].to_numpy(),
            "predicted_length": fc.loc[rows, model].to_numpy(),
        }
    )
    scored = predictions[predictions["evaluated"]]
    resid = scored["cycle_length"] - scored[f"pred_{model}"]
    bands = list(intervals["n_prior_bands"])
    cal_band, out_band = (
        _interval_band(scored["n_prior"], bands),
        _interval_band(out["n_cycles_used"], bands),
    )
    lo, hi = np.empty(len(out)), np.empty(len(out))
    for b in np.unique(out_band):
        use = (
            resid[cal_band == b]
            if (cal_band == b).sum() >= int(intervals["min_calibration"])
            else resid
        )
        lo[out_band == b], hi[out_band == b] = conformal_offsets(use, float(intervals["coverage"]))
    out["lower_80"] = out["predicted_length"] + lo
    out["upper_80"] = out["predicted_length"] + hi
    out["model"] = model
    return out.sort_values("woman_id", ignore_index=True)[list(NEXT_CYCLE_COLUMNS)]
