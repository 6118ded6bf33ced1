"""A run on bad input fails before it writes anything derived from that input.

Runs the real ``ingestion`` nodes with Kedro's runner on a catalog built from the project's own
``catalog_ingestion.yml`` (paths moved to a temporary folder).
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from cycle_kedro.pipelines.ingestion import create_pipeline
from cycle_kedro.validation import DataValidationError

from .conftest import PROJECT_ROOT, load_params

NAMES = ["medquad_raw", "medquad_qa"]


def _catalog(root) -> DataCatalog:
    conf = yaml.safe_load((PROJECT_ROOT / "conf" / "base" / "catalog_ingestion.yml").read_text())
    entries = {
        name: dict(conf[name], filepath=str(root / conf[name]["filepath"])) for name in NAMES
    }
    catalog = DataCatalog.from_config(entries)
    params = load_params("ingestion")
    catalog["params:medquad_licence"] = params["medquad_licence"]
    catalog["params:medquad_checks"] = params["medquad_checks"]
    return catalog


def test_bad_qa_file_leaves_the_previous_primary_table(tmp_path):
    raw = tmp_path / "data" / "01_raw" / "medquad" / "medquad_womens_health_qa.jsonl"
    raw.parent.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "data" / "01_raw" / "medquad" / raw.name, raw)
    pipeline = create_pipeline().only_nodes("ingestion.clean_medquad")
    SequentialRunner().run(pipeline, _catalog(tmp_path))
    table = tmp_path / "data" / "03_primary" / "medquad_qa.parquet"
    before = table.read_bytes()

    records = [json.loads(line) for line in raw.read_text().splitlines()]
    records[7]["answer"] = "spam " * 1_000_000  # a 5 MB answer, accepted and written before
    raw.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(DataValidationError, match=r"qa.jsonl: column 'answer', row 7"):
        SequentialRunner().run(pipeline, _catalog(tmp_path))

    assert table.read_bytes() == before  # the earlier good table is still there, untouched
