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
from .synthetic_effects import generate_synthetic_variant

#: synthetic cohort variants generated for the forecasting pipeline (parameters synthetic_variants)
SYNTHETIC_VARIANTS = ("signal", "heavy")


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
            *_variant_nodes(),
        ]
    )


def _variant_nodes() -> list[Node]:
    """Synthetic cohort variants (``synthetic_<variant>_cycles`` / ``_model_input``) for forecasting."""
    nodes = []
    for v in SYNTHETIC_VARIANTS:
        nodes += [
            Node(
                generate_synthetic_variant,
                ["params:synthetic_cohort", f"params:synthetic_variants.{v}"],
                f"synthetic_{v}_daily",
                name=f"generate_synthetic_{v}_cohort",
            ),
            Node(
                summarise_synthetic_cycles,
                f"synthetic_{v}_daily",
                f"synthetic_{v}_cycles",
                name=f"summarise_synthetic_{v}_cycles",
            ),
            Node(
                build_model_input,
                f"synthetic_{v}_cycles",
                f"synthetic_{v}_model_input",
                name=f"build_synthetic_{v}_model_input",
            ),
        ]
    return nodes


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
