from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from cycle_kedro.cohorts import cohorts
from cycle_kedro.datasets.validated import ValidatedCSVDataset, ValidatedJSONLinesDataset
from cycle_kedro.pipeline_registry import register_pipelines
from cycle_kedro.pipelines.ingestion import create_mcphases_pipeline, create_pipeline
from cycle_kedro.pseudonyms import PseudonymKey
from cycle_kedro.schemas import CYCLES

from .conftest import FEDCYCLE_CSV, FEDCYCLE_LOAD_ARGS, PROJECT_ROOT, TEST_KEY
from .test_nodes import MEDQUAD

MEDQUAD_KB = MEDQUAD.parents[1] / "medquad_kb" / "medquad_womens_health_kb.jsonl"


def test_ingestion_pipeline_writes_primary_and_model_input(small_cohort_params, ingestion_params):
    catalog = DataCatalog()
    catalog["fedcycle_raw"] = ValidatedCSVDataset(
        filepath=str(FEDCYCLE_CSV),
        schema="cycle_kedro.schemas.FEDCYCLE_RAW",
        load_args=FEDCYCLE_LOAD_ARGS,
    ).load()
    catalog["medquad_raw"] = ValidatedJSONLinesDataset(
        filepath=str(MEDQUAD), schema="cycle_kedro.schemas.MEDQUAD_RAW"
    ).load()
    catalog["medquad_kb_raw"] = ValidatedJSONLinesDataset(
        filepath=str(MEDQUAD_KB), schema="cycle_kedro.schemas.KNOWLEDGE_BASE_RAW"
    ).load()
    catalog["pseudonym_key"] = PseudonymKey(TEST_KEY)
    catalog["params:fedcycle_checks"] = ingestion_params["fedcycle_checks"]
    catalog["params:medquad_checks"] = ingestion_params["medquad_checks"]
    catalog["params:synthetic_cohort"] = small_cohort_params
    catalog["params:medquad_licence"] = ingestion_params["medquad_licence"]
    for variant, overrides in ingestion_params["synthetic_variants"].items():
        catalog[f"params:synthetic_variants.{variant}"] = {**overrides, "n_women": 12}

    outputs = SequentialRunner().run(create_pipeline(), catalog)

    fedcycle = outputs["fedcycle_model_input"].load()
    synthetic = outputs["synthetic_model_input"].load()
    CYCLES.validate(fedcycle)
    CYCLES.validate(synthetic)
    assert fedcycle["woman_id"].nunique() == 159 and fedcycle[["age", "bmi"]].notna().all().all()
    assert synthetic["woman_id"].nunique() == small_cohort_params["n_women"]
    assert synthetic[["steps", "e2", "p4"]].notna().all().all()
    women = outputs["ingestion.fedcycle_women"].load()
    assert women["n_cycles"].sum() == len(fedcycle)
    kb = outputs["knowledge_base"].load()  # medquad_qa (consumed by it) + the KB file
    assert len(kb) == 122 + 799 and (kb["origin"] == "medquad_qa").sum() == 122
    # variants for forecasting: planted effects (signal) and long cycles (heavy), 12 women each
    for variant in ("signal", "heavy"):
        cohort = outputs[f"synthetic_{variant}_model_input"].load()
        CYCLES.validate(cohort)
        assert cohort["woman_id"].nunique() == 12
        assert not cohort["cycle_length"].equals(synthetic["cycle_length"])


def test_ingestion_is_one_namespace_and_keeps_the_names_other_pipelines_read():
    pipeline = create_pipeline() + create_mcphases_pipeline()
    assert {node.namespace for node in pipeline.nodes} == {"ingestion"}
    public = {name for c in cohorts() for name in (c.cycles, c.model_input)} | {
        "synthetic_daily",
        "mcphases_daily",
        "medquad_qa",
        "knowledge_base",
    }
    assert public <= pipeline.all_outputs()
    assert all(name.startswith("ingestion.") for name in pipeline.all_outputs() - public)
    variants = {c.name for c in cohorts(synthetic_variant=True)}
    made = {n.name for n in pipeline.nodes if n.func.__name__ == "generate_synthetic_variant"}
    assert made == {f"ingestion.generate_synthetic_{v}_cohort" for v in variants}


def test_no_pipeline_reads_an_ingestion_table_by_its_name_outside_the_namespace():
    """A table the namespace renamed (``ingestion.<name>``) is read by no other pipeline as ``<name>``."""
    bootstrap_project(PROJECT_ROOT)
    registry = register_pipelines()
    internal = {
        name.removeprefix("ingestion.")
        for pipeline in (registry["__default__"], registry["mcphases"])
        for name in pipeline.all_outputs()
        if name.startswith("ingestion.")
    }
    for pipeline in (registry["__default__"], registry["mcphases"]):
        assert not internal & pipeline.inputs()
