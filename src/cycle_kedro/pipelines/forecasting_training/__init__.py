"""The ``forecasting_training`` pipeline: the next-cycle forecaster fitted on FedCycle and served as an MLflow model."""

from .pipeline import create_inference_pipeline, create_ml_pipeline, create_pipeline

__all__ = ["create_inference_pipeline", "create_ml_pipeline", "create_pipeline"]
