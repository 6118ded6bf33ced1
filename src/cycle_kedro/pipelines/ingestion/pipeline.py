"""Ingestion: raw files → validated, cleaned primary and model-input tables.

Both pipelines are in namespace ``ingestion`` (one collapsible group in kedro-viz, node names
``ingestion.<name>``). The raw inputs, the ``pseudonym_key`` and the tables other pipelines read
(each cohort's per-cycle table and model input, ``synthetic_daily``, ``mcphases_daily``,
``medquad_qa``, ``knowledge_base``) keep their names; the rest (per-woman summaries, the FedCycle
cleaning report, the variants' daily tables) are ``ingestion.<name>``. Parameters keep their names.
"""

from kedro.pipeline import Node, Pipeline

from cycle_kedro.cohorts import cohorts

from .fedcycle import clean_fedcycle
from .knowledge_base import build_knowledge_base
from .mcphases import build_mcphases_daily
from .medquad import clean_medquad
from .synthetic import (
    generate_synthetic_cohort,
    generate_synthetic_variant,
    summarise_synthetic_cycles,
)
from .tables import build_model_input, summarise_women

NAMESPACE = "ingestion"


def create_pipeline(**kwargs) -> Pipeline:
    """FedCycle, the synthetic cohort and its variants, MedQuAD and the knowledge base (mcPHASES: below)."""
    variants = cohorts(synthetic_variant=True)
    nodes = Pipeline(
        [
            Node(
                func=clean_fedcycle,
                inputs=["fedcycle_raw", "pseudonym_key", "params:fedcycle_checks"],
                outputs=["fedcycle_cycles", "fedcycle_cleaning_report"],
                name="clean_fedcycle",
            ),
            Node(
                func=summarise_women,
                inputs="fedcycle_cycles",
                outputs="fedcycle_women",
                name="summarise_fedcycle_women",
            ),
            Node(
                func=build_model_input,
                inputs="fedcycle_cycles",
                outputs="fedcycle_model_input",
                name="build_fedcycle_model_input",
            ),
            Node(
                func=generate_synthetic_cohort,
                inputs="params:synthetic_cohort",
                outputs="synthetic_daily",
                name="generate_synthetic_cohort",
            ),
            Node(
                func=summarise_synthetic_cycles,
                inputs="synthetic_daily",
                outputs="synthetic_cycles",
                name="summarise_synthetic_cycles",
            ),
            Node(
                func=summarise_women,
                inputs="synthetic_cycles",
                outputs="synthetic_women",
                name="summarise_synthetic_women",
            ),
            Node(
                func=build_model_input,
                inputs="synthetic_cycles",
                outputs="synthetic_model_input",
                name="build_synthetic_model_input",
            ),
            Node(
                func=clean_medquad,
                inputs=["medquad_raw", "params:medquad_licence", "params:medquad_checks"],
                outputs="medquad_qa",
                name="clean_medquad",
            ),
            Node(
                func=build_knowledge_base,
                inputs=["medquad_kb_raw", "medquad_qa", "params:medquad_licence"],
                outputs="knowledge_base",
                name="build_knowledge_base",
            ),
            *(
                _variant_pipeline(cohort.name, cohort.cycles, cohort.model_input)
                for cohort in variants
            ),
        ]
    )
    return Pipeline(
        nodes,
        namespace=NAMESPACE,
        inputs={"fedcycle_raw", "pseudonym_key", "medquad_raw", "medquad_kb_raw"},
        outputs={name for c in cohorts() for name in (c.cycles, c.model_input)}
        | {"synthetic_daily", "medquad_qa", "knowledge_base"},
        parameters={"fedcycle_checks", "medquad_checks", "medquad_licence", "synthetic_cohort"}
        | {f"synthetic_variants.{cohort.name}" for cohort in variants},
    )


def _variant_pipeline(variant: str, cycles: str, model_input: str) -> Pipeline:
    """A synthetic cohort variant (``cohorts(synthetic_variant=True)``): daily table, cycles, model input."""
    daily = f"synthetic_{variant}_daily"
    return Pipeline(
        [
            Node(
                func=generate_synthetic_variant,
                inputs=["params:synthetic_cohort", f"params:synthetic_variants.{variant}"],
                outputs=daily,
                name=f"generate_synthetic_{variant}_cohort",
            ),
            Node(
                func=summarise_synthetic_cycles,
                inputs=daily,
                outputs=cycles,
                name=f"summarise_synthetic_{variant}_cycles",
            ),
            Node(
                func=build_model_input,
                inputs=cycles,
                outputs=model_input,
                name=f"build_synthetic_{variant}_model_input",
            ),
        ]
    )


def create_mcphases_pipeline() -> Pipeline:
    """mcPHASES (restricted data, local copy only) → the same DAILY table as the synthetic cohort."""
    nodes = Pipeline(
        [
            Node(
                func=build_mcphases_daily,
                inputs=["mcphases_raw", "pseudonym_key", "params:mcphases"],
                outputs="mcphases_daily",
                name="build_mcphases_daily",
            )
        ]
    )
    return Pipeline(
        nodes,
        namespace=NAMESPACE,
        inputs={"mcphases_raw", "pseudonym_key"},
        outputs={"mcphases_daily"},
        parameters={"mcphases"},
    )
