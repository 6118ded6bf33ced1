"""Figure nodes of the ``forecasting`` pipeline (saved by ``MatplotlibDataset``s of the catalog)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .evaluation import model_names

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_predicted_vs_actual(predictions: pd.DataFrame, reporting: dict[str, Any]) -> Figure:
    """Scatter of forecast vs observed cycle length, one panel per model."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    scored = predictions[predictions["evaluated"]]
    models = model_names(scored)
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
    import matplotlib.pyplot as plt  # noqa: PLC0415

    scored = predictions[predictions["evaluated"]]
    edges = list(reporting["prior_cycle_bins"]) + [np.inf]
    labels = [
        f"{int(a)}+" if np.isinf(b) else f"{int(a)}" if b - a == 1 else f"{int(a)}-{int(b) - 1}"
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    bins = pd.cut(scored["n_prior"], edges, right=False, labels=labels)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for m in model_names(scored):
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


def plot_incycle_error(incycle_predictions: pd.DataFrame, reporting: dict[str, Any]) -> Figure:
    """MAE (and 80% coverage) of the predicted start against the day of the cycle it is made on."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    curve = incycle_predictions[incycle_predictions["moment"].str.fullmatch(r"day1|\d+")]
    err = (curve["cycle_length"] - curve["predicted_length"]).abs()
    cover = (curve["cycle_length"] >= curve["lower_80"]) & (
        curve["cycle_length"] <= curve["upper_80"]
    )
    by = curve.groupby("day")
    stats = pd.DataFrame({"mae": err.groupby(curve["day"]).mean(), "n": by.size()})
    stats["coverage"] = cover.groupby(curve["day"]).mean()
    stats["survival_only"] = (
        err[curve["method"] != "ovulation"].groupby(curve["day"]).mean().reindex(stats.index)
    )
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, height_ratios=[3, 1.3])
    ax.plot(stats.index, stats["mae"], marker="o", ms=3, label="all running cycles")
    ax.plot(
        stats.index,
        stats["survival_only"],
        ls="--",
        label="cycles without a detected ovulation yet",
    )
    ovu = incycle_predictions[incycle_predictions["moment"] == "ovulation"]
    if len(ovu):
        mae = (ovu["cycle_length"] - ovu["predicted_length"]).abs().mean()
        ax.axhline(mae, color="grey", lw=1, ls=":", label=f"day after ovulation ({mae:.2f} d)")
    ax.set(
        ylabel="MAE of predicted start (days)", title=f"{reporting['title']}: in-cycle forecasts"
    )
    ax.legend(fontsize=8)
    ax2.plot(stats.index, stats["coverage"], marker=".", color="C2")
    ax2.axhline(0.8, color="grey", lw=1)
    ax2.set(xlabel="cycle day the forecast is made on", ylabel="80% cover.", ylim=(0.5, 1.0))
    for x, n in stats["n"].items():
        if x in (1, 15, 29, 43):
            ax2.annotate(f"n={n}", (x, 0.52), fontsize=7)
    fig.tight_layout()
    return fig
