"""The knowledge base: the MedQuAD KB file (validated line by line) joined with the 122 pairs."""

from __future__ import annotations

import json

import pytest

from cycle_kedro.datasets.validated import ValidatedJSONLinesDataset
from cycle_kedro.pipelines.ingestion.knowledge_base import build_knowledge_base, document_of
from cycle_kedro.pipelines.ingestion.medquad import clean_medquad
from cycle_kedro.validation import DataValidationError
from tests.conftest import PROJECT_ROOT

RAW = PROJECT_ROOT / "data" / "01_raw"
KB = RAW / "medquad_kb" / "medquad_womens_health_kb.jsonl"
QA = RAW / "medquad" / "medquad_womens_health_qa.jsonl"


def _load(path, schema="KNOWLEDGE_BASE_RAW"):
    return ValidatedJSONLinesDataset(
        filepath=str(path), schema=f"cycle_kedro.schemas.{schema}"
    ).load()


@pytest.fixture(scope="module")
def parts():
    from tests.conftest import load_params  # noqa: PLC0415

    params = load_params("ingestion")
    licence = params["medquad_licence"]
    qa = clean_medquad(_load(QA, "MEDQUAD_RAW"), licence, params["medquad_checks"])
    return _load(KB), qa, licence


def test_real_files_give_921_pairs_with_documents_licence_and_citation(parts):
    kb_raw, qa, licence = parts
    kb = build_knowledge_base(kb_raw, qa, licence)
    assert len(kb_raw) == 799 and len(kb) == 799 + 122
    assert kb["doc_id"].notna().all() and kb["url"].str.startswith("http").all()
    assert kb.loc[kb["origin"] == "medquad_kb", "doc_id"].nunique() == 465
    assert (kb["licence"] == "CC BY 4.0").all() and kb["citation"].str.contains("Ben Abacha").all()
    assert not kb.duplicated(["question", "answer"]).any()
    assert not kb["question"].str.contains(r"\?\s*\?").any()  # doubled "?" collapsed


def test_a_pair_in_both_files_is_an_error_naming_it(parts):
    kb_raw, qa, licence = parts
    clash = kb_raw.head(1).assign(question=qa["question"].iloc[0], answer=qa["answer"].iloc[0])
    with pytest.raises(DataValidationError, match="also in medquad_qa"):
        build_knowledge_base(clash, qa, licence)


def test_bad_line_names_file_and_line(tmp_path):
    lines = KB.read_text(encoding="utf-8").splitlines()[:3]
    record = json.loads(lines[1])
    record["url"] = "not a url"
    path = tmp_path / "kb.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(record), lines[2]]) + "\n", encoding="utf-8")
    with pytest.raises(
        DataValidationError, match=r"kb\.jsonl: column 'url', row 1 \(file line 2\)"
    ):
        _load(path)
    path.write_text(lines[0] + "\n{broken\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"file line 2\).*not valid JSON"):
        _load(path)


def test_document_is_parsed_from_a_source_string():
    src = "MedQuAD (abachaa/MedQuAD, CC BY 4.0) 2_GARD_QA/0000088.xml qid=0000088-2; original NIH page: https://x"
    assert document_of(src) == "2_GARD_QA/0000088.xml"
    assert document_of("1_CancerGov_QA/0000001_7.xml") == "1_CancerGov_QA/0000001_7.xml"
    assert document_of("no document") is None
