"""The ``forecasting_training`` pipeline: the next-cycle forecaster fitted on FedCycle and served as an MLflow model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
