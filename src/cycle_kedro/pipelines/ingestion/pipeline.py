"""Ingestion: raw files → validated, cleaned primary and model-input tables."""

from kedro.pipeline import Node, Pipeline

from .knowledge_base import build_knowledge_base
from .nodes import (
    build_mcphases_daily,
    build_model_input,
    clean_fedcycle,
    clean_medquad,
    generate_synthetic_cohort,
    summarise_synthetic_cycles,
    summarise_women,
)


def create_pipeline(**kwargs) -> Pipeline:
    """FedCycle, the synthetic cohort, MedQuAD and the knowledge base (mcPHASES lives in ``create_mcphases_pipeline``)."""
    return Pipeline(
        [
            Node(
                clean_fedcycle,
                ["fedcycle_raw", "pseudonym_key", "params:fedcycle_checks"],
                ["fedcycle_cycles", "fedcycle_cleaning_report"],
                name="clean_fedcycle",
            ),
            Node(
                summarise_women,
                "fedcycle_cycles",
                "fedcycle_women",
                name="summarise_fedcycle_women",
            ),
            Node(
                build_model_input,
                "fedcycle_cycles",
                "fedcycle_model_input",
                name="build_fedcycle_model_input",
            ),
            Node(
                generate_synthetic_cohort,
                "params:synthetic_cohort",
                "synthetic_daily",
                name="generate_synthetic_cohort",
            ),
            Node(
                summarise_synthetic_cycles,
                "synthetic_daily",
                "synthetic_cycles",
                name="summarise_synthetic_cycles",
            ),
            Node(
                summarise_women,
                "synthetic_cycles",
                "synthetic_women",
                name="summarise_synthetic_women",
            ),
            Node(
                build_model_input,
                "synthetic_cycles",
                "synthetic_model_input",
                name="build_synthetic_model_input",
            ),
            Node(
                clean_medquad,
                ["medquad_raw", "params:medquad_licence", "params:medquad_checks"],
                "medquad_qa",
                name="clean_medquad",
            ),
            Node(
                build_knowledge_base,
                ["medquad_kb_raw", "medquad_qa", "params:medquad_licence"],
                "knowledge_base",
                name="build_knowledge_base",
            ),
        ]
    )


def create_mcphases_pipeline() -> Pipeline:
    """mcPHASES (restricted data, local copy only) → the same DAILY table as the synthetic cohort."""
    return Pipeline(
        [
            Node(
                build_mcphases_daily,
                ["mcphases_raw", "pseudonym_key", "params:mcphases"],
                "mcphases_daily",
                name="build_mcphases_daily",
            )
        ]
    )
