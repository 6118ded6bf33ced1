"""Figure nodes of the ``llm`` pipeline (saved by ``MatplotlibDataset``s of the catalog)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_LABELS = {"dev": "dev (consumer questions)", "in_kb": "in-KB test", "out_of_kb": "out-of-KB test"}


def plot_gating_tradeoff(
    gating_tradeoff: pd.DataFrame, gating: dict[str, Any], ask: dict[str, Any]
) -> Figure:
    """Answered share against faithfulness over thresholds for the default system, one line per setting.

    Left: the share answered faithfully (K-Precision >= the parameter) among the answered ones;
    right: the share that is faithful and cites the answering document (precision). The parameter
    threshold is marked.
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415

    part = gating_tradeoff[gating_tradeoff["system"] == ask["system"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    for setting, rows in part.groupby("setting", sort=False):
        g = rows.sort_values("threshold")
        at = g[(g["threshold"] - gating["threshold"]).abs() < 1e-9]
        for ax, column in zip(axes, ("faithfulness", "precision"), strict=True):
            (line,) = ax.plot(
                g["answered"], g[column], marker=".", label=_LABELS.get(setting, setting)
            )
            ax.scatter(
                at["answered"], at[column], s=80, facecolors="none", edgecolors=line.get_color()
            )
    axes[0].set(xlabel="answered share", ylabel="faithful share of answered (K-Precision >= "
                f"{gating['faithful_min_k_precision']})", ylim=(0, 1.02), xlim=(0, 1.02))  # fmt: skip
    axes[1].set(xlabel="answered share", ylabel="faithful and citing the answering document",
                ylim=(0, 1.02))  # fmt: skip
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle(
        f"{ask['system']}: gating on {gating['score']} (circles: threshold {gating['threshold']})"
    )
    fig.tight_layout()
    return fig
