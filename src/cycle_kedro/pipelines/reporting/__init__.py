"""Reporting: the study's published numbers beside ours, in one markdown and one HTML report."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
