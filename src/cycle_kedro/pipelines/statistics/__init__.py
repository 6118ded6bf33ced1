"""The 'statistics' pipeline: physical activity vs E2 and P4 (synthetic cohort; mcPHASES when present)."""

from .pipeline import create_mcphases_pipeline, create_pipeline

__all__ = ["create_mcphases_pipeline", "create_pipeline"]
