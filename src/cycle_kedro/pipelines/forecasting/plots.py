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
