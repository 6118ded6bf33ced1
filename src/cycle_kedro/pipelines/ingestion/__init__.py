"""The 'ingestion' pipeline."""

from .pipeline import create_mcphases_pipeline, create_pipeline

__all__ = ["create_mcphases_pipeline", "create_pipeline"]
