"""Statistics figures: steps vs hormone scatter with OLS band, hormones by activity group, correlation heatmap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from .cohort import HORMONES
from .inference import WOMAN_LEVEL, complete_pairs, correlation_problem

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# --------------------------------------------------------------------------- figures
def _new_figure(n_panels: int, width: float = 5.0, height: float = 4.2) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(width * n_panels, height), layout="constrained")
    return fig, fig.subplots(1, n_panels, squeeze=False)[0]


def plot_steps_hormone_scatter(
    women: pd.DataFrame,
    results: pd.DataFrame,
    activity: dict[str, Any],
    labels: dict[str, str],
    cohort: dict[str, Any],
) -> Figure:
    """Scatter of mean steps vs each hormone with the OLS line and its 95% confidence band."""
    fig, axes = _new_figure(len(HORMONES))
    for ax, hormone in zip(axes, HORMONES, strict=True):
        x, y = complete_pairs(women["steps"].to_numpy(float), women[hormone].to_numpy(float))
        high = x >= activity["threshold_steps"]
        ax.scatter(x[high], y[high], s=18, alpha=0.7, label=activity["high_label"])
        ax.scatter(x[~high], y[~high], s=18, alpha=0.7, label=activity["low_label"])
        if correlation_problem(x, y, 3) is None:
            grid, fit, low, high_band = _ols_band(
                x, y, level=float(results["confidence_level"].dropna().iloc[0])
            )
            ax.plot(grid, fit, color="black", lw=1.5)
            ax.fill_between(
                grid, low, high_band, color="grey", alpha=0.3, label="95% CI of the mean"
            )
        ax.axvline(activity["threshold_steps"], color="grey", ls=":", lw=1)
        ax.set(
            xlabel=labels["steps"],
            ylabel=labels[hormone],
            title=_scatter_title(results, hormone, labels),
        )
        ax.legend(fontsize=8)
    fig.suptitle(f"{cohort['title']}: per-woman means (n = {len(women)})")
    return fig


def _ols_band(x: np.ndarray, y: np.ndarray, level: float) -> tuple[np.ndarray, ...]:
    """OLS fit on a grid with the t-based confidence band of the mean response."""
    n = len(x)
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    s = np.sqrt(resid @ resid / (n - 2))
    grid = np.linspace(x.min(), x.max(), 100)
    se = s * np.sqrt(1 / n + (grid - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
    fit, half = intercept + slope * grid, stats.t.ppf(0.5 + level / 2, n - 2) * se
    return grid, fit, fit - half, fit + half


def _scatter_title(results: pd.DataFrame, hormone: str, labels: dict[str, str]) -> str:
    row = results[(results["analysis"] == WOMAN_LEVEL) & (results["test"] == "pearson")
                  & (results["variable"] == f"steps_vs_{hormone}") & (results["ci_method"] == "fisher_z")]  # fmt: skip
    if row.empty or pd.isna(row["statistic"].iloc[0]):
        return f"{labels[hormone]}: r not computable"
    r = row.iloc[0]
    return (
        f"{labels[hormone]}: r = {r.statistic:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}], p = {r.p:.3g}"
    )


def plot_hormones_by_activity(
    women: pd.DataFrame,
    results: pd.DataFrame,
    activity: dict[str, Any],
    labels: dict[str, str],
    cohort: dict[str, Any],
) -> Figure:
    """Violin and box plots of each hormone by activity group, with the women as jittered points."""
    fig, axes = _new_figure(len(HORMONES), width=4.5)
    groups = [activity["high_label"], activity["low_label"]]
    rng = np.random.default_rng(0)
    for ax, hormone in zip(axes, HORMONES, strict=True):
        data = [
            women.loc[women["activity_group"] == g, hormone].dropna().to_numpy(float)
            for g in groups
        ]
        present = [i for i, d in enumerate(data) if len(d)]
        if present:
            ax.violinplot(
                [data[i] for i in present], positions=[i + 1 for i in present], showextrema=False
            )
            ax.boxplot(
                [data[i] for i in present],
                positions=[i + 1 for i in present],
                widths=0.15,
                showfliers=False,
            )
        for i in present:
            ax.scatter(
                i + 1 + rng.uniform(-0.08, 0.08, len(data[i])),
                data[i],
                s=8,
                alpha=0.5,
                color="black",
            )
        ax.set_xticks([1, 2], [f"{g}\n(n = {len(d)})" for g, d in zip(groups, data, strict=True)])
        ax.set(ylabel=labels[hormone], title=_group_title(results, hormone, labels))
    fig.suptitle(
        f"{cohort['title']}: hormones by activity group (threshold {activity['threshold_steps']:,} steps/day)"
    )
    return fig


def _group_title(results: pd.DataFrame, hormone: str, labels: dict[str, str]) -> str:
    row = results[
        (results["analysis"] == WOMAN_LEVEL)
        & (results["test"] == "welch_t")
        & (results["variable"] == hormone)
    ]
    if row.empty or pd.isna(row["p"].iloc[0]):
        return f"{labels[hormone]}: test not computable"
    r = row.iloc[0]
    return f"{labels[hormone]}: Welch p = {r.p:.3g}, q = {r.q_bh:.3g}, g = {r.effect_size:.2f}"


def plot_correlation_heatmap(
    women: pd.DataFrame, labels: dict[str, str], cohort: dict[str, Any]
) -> Figure:
    """Heatmap of pairwise Pearson correlations between per-woman age, BMI, cycle length, steps, E2, P4."""
    variables = [
        v for v in ("age", "bmi", "cycle_length", "steps", *HORMONES) if women[v].nunique() > 1
    ]
    corr = women[variables].corr(method="pearson")
    fig, axes = _new_figure(1, width=6.0, height=5.2)
    ax = axes[0]
    image = ax.imshow(corr.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
    names = [labels.get(v, v) for v in variables]
    ax.set_xticks(range(len(variables)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(variables)), names)
    for i in range(len(variables)):
        for j in range(len(variables)):
            ax.text(j, i, f"{corr.iat[i, j]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="Pearson r")
    fig.suptitle(f"{cohort['title']}: per-woman correlations (n = {len(women)})")
    return fig
