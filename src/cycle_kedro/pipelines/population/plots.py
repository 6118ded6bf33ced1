"""Figure nodes of the ``population`` pipeline (saved by ``MatplotlibDataset``s of the catalog)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_error_by_n_cycles(predictions: pd.DataFrame, max_cycles: int) -> Figure:
    """Figure: start-date MAE by number of logged cycles, one line per model and handling.

    Left: every held-out start. Right: held-out gaps that do not look like a missed log (a
    missed log in the scored gap costs a whole cycle whatever the model).
    """
    from matplotlib.figure import Figure  # noqa: PLC0415

    p = predictions.assign(
        n=predictions["n_cycles_logged"].clip(upper=max_cycles),
        abs_err=predictions["error_days"].abs(),
    )
    fig = Figure(figsize=(11, 4.5))
    axes = fig.subplots(1, 2, sharex=True)
    styles = {"keep": ":", "split": "-", "downweight": "--"}
    for ax, (title, part) in zip(
        axes,
        [
            ("all held-out starts", p),
            ("held-out gap not a missed log", p[~p["scored_is_skip_flag"]]),
        ],
        strict=True,
    ):
        mae = part.groupby(["handling", "model", "n"])["abs_err"].mean()
        for (handling, model), s in mae.groupby(level=[0, 1]):
            ax.plot(
                s.index.get_level_values(2),
                s.to_numpy(),
                styles.get(handling, "-"),
                marker="o",
                ms=3,
                label=f"{model} / {handling}",
            )
        ax.set_title(title)
        ax.set_xlabel(f"logged cycles before the scored one ({max_cycles} = {max_cycles}+)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("next-start MAE (days)")
    axes[1].legend(fontsize=7, ncol=3)
    fig.suptitle("Error by number of logged cycles (each user's last start held out)")
    fig.tight_layout()
    return fig


def plot_interval_coverage(table: pd.DataFrame) -> Figure:
    """Figure: 80% interval coverage per model and skip handling, against the nominal 0.8."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    t = table[table["subset"] == "all"].pivot(
        index="model", columns="handling", values="coverage80"
    )
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    width = 0.8 / max(len(t.columns), 1)
    x = np.arange(len(t.index))
    for i, handling in enumerate(t.columns):
        ax.bar(x + i * width, t[handling].to_numpy(), width, label=handling)
    ax.axhline(0.8, color="k", ls="--", lw=1, label="nominal 0.8")
    ax.set_xticks(x + width * (len(t.columns) - 1) / 2, t.index)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of held-out starts inside the 80% interval")
    ax.set_title("Interval coverage by model and skip handling")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_skip_flag_scores(table: pd.DataFrame) -> Figure:
    """Figure: skip-flag precision and recall against the planted truth, by tolerance."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(table["tolerance"], table["precision"], marker="o", label="precision")
    ax.plot(table["tolerance"], table["recall"], marker="s", label="recall")
    conf = table[table["configured"]]
    ax.axvline(float(conf["tolerance"].iloc[0]), color="grey", ls="--", lw=1, label="configured")
    ax.set_xlabel("tolerance |gap / typical - k|")
    ax.set_ylim(0, 1.02)
    ax.set_title("Missed-log flags vs planted truth (synthetic app)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_mae_by_cycle_day(table: pd.DataFrame) -> Figure:
    """Figure: MAE of the held-out next start by day of cycle (users still waiting), per model."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for model, t in table.groupby("model", sort=True):
        ax.plot(t["day"], t["mae"], marker="o", label=model)
    ax.set_xlabel("day of cycle (no start logged yet)")
    ax.set_ylabel("MAE of the next logged start (days)")
    cohort = ", ".join(sorted(set(table["cohort"])))
    ax.set_title(f"Error by day of cycle ({cohort or 'too few users to evaluate'})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
