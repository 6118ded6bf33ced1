"""The project's per-cycle cohorts: the one registry that ingestion, forecasting, llm and reporting read.

Each cohort names its two ingestion tables (the per-cycle primary table and the model input), whether
ingestion generates it as a variant of the synthetic cohort, whether the llm pipeline turns its
forecasts into forecast-explanation questions, and which of its forecasting figures the report shows.
Adding a cohort is one entry here plus its catalog and parameter entries.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cohort:
    name: str
    #: per-cycle primary table (ingestion output, with ovulation days where known)
    cycles: str
    #: per-cycle model input (ingestion output, the forecasting pipeline's input)
    model_input: str
    #: ingestion generates it with ``generate_synthetic_variant`` (parameters ``synthetic_variants.<name>``)
    synthetic_variant: bool = False
    #: the llm pipeline writes forecast-explanation questions from its next-cycle forecasts
    forecast_qa: bool = False
    #: forecasting figures (dataset names inside ``forecasting.<name>``) the report shows
    report_figures: tuple[str, ...] = ()


COHORTS: dict[str, Cohort] = {
    c.name: c
    for c in (
        Cohort(
            "fedcycle",
            cycles="fedcycle_cycles",
            model_input="fedcycle_model_input",
            forecast_qa=True,
            report_figures=(
                "forecast_predicted_vs_actual",
                "forecast_model_comparison",
                "forecast_error_by_prior_cycles",
            ),
        ),
        Cohort(
            "synthetic",
            cycles="synthetic_cycles",
            model_input="synthetic_model_input",
            forecast_qa=True,
            report_figures=("forecast_model_comparison",),
        ),
        Cohort(
            "signal",
            cycles="synthetic_signal_cycles",
            model_input="synthetic_signal_model_input",
            synthetic_variant=True,
        ),
        Cohort(
            "heavy",
            cycles="synthetic_heavy_cycles",
            model_input="synthetic_heavy_model_input",
            synthetic_variant=True,
        ),
    )
}


def cohorts(**flags: bool) -> tuple[Cohort, ...]:
    """The registered cohorts whose fields equal ``flags``, in registry order (``cohorts(forecast_qa=True)``)."""
    return tuple(c for c in COHORTS.values() if all(getattr(c, k) == v for k, v in flags.items()))
