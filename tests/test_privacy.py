"""Privacy: keyed pseudonyms, the key's life cycle, no raw id beyond 01_raw, spreadsheet-safe CSVs."""

from __future__ import annotations

import hashlib
import subprocess

import mlflow
import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from cycle_kedro.datasets.safe_csv import SpreadsheetSafeCSVDataset, neutralise_formulas
from cycle_kedro.datasets.secrets import PseudonymKeyDataset
from cycle_kedro.pseudonyms import PseudonymKey

from .conftest import PROJECT_ROOT, TEST_KEY, copy_project

OLD_SALT = "cycle_kedro-v1"  # the committed salt of the old scheme, sha256(salt:id)[:12]
PUBLIC_IDS = [f"nfp8{n:03d}" for n in range(1000)]  # every id the public FedCycle file can hold


def _old_scheme(raw: str) -> str:
    return hashlib.sha256(f"{OLD_SALT}:{raw}".encode()).hexdigest()[:12]


def test_a_pseudonym_cannot_be_recomputed_without_the_key():
    key = PseudonymKey(TEST_KEY)
    published = key.pseudonym("nfp8122")
    # the old scheme could be reversed from the public file: try every public id
    old = _old_scheme("nfp8122")
    assert [i for i in PUBLIC_IDS if _old_scheme(i) == old] == ["nfp8122"]
    # the same attack finds nothing for the keyed pseudonym: not with the old salt, not unsalted,
    # not with an HMAC under a guessed key
    guesses = [
        _old_scheme,
        lambda i: hashlib.sha256(i.encode()).hexdigest()[:12],
        lambda i: PseudonymKey(OLD_SALT * 2).pseudonym(i),
        lambda i: PseudonymKey("0" * 64).pseudonym(i),
    ]
    assert not [i for i in PUBLIC_IDS for guess in guesses if guess(i) == published]
    # with the key it is stable, and another key gives other pseudonyms
    assert key.pseudonym("nfp8122") == published
    assert PseudonymKey("another-key-" + "x" * 40).pseudonym("nfp8122") != published
    assert TEST_KEY not in repr(key) and TEST_KEY not in str(key)


def test_key_is_created_once_in_conf_local_and_git_ignored(tmp_path):
    credentials = tmp_path / "conf" / "local" / "credentials.yml"
    credentials.parent.mkdir(parents=True)
    credentials.write_text("other_service:\n  token: abc\n")
    dataset = PseudonymKeyDataset(filepath=str(credentials))
    first = dataset.load()
    content = yaml.safe_load(credentials.read_text())
    assert content["other_service"] == {"token": "abc"}  # other credentials are kept
    key = content["pseudonymisation"]["hmac_key"]
    assert len(key) == 64 and int(key, 16) >= 0  # 32 random bytes
    assert credentials.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert dataset.load() == first  # created once, then reused
    assert key not in repr(dataset) and key not in str(dataset._describe())
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "conf/local/credentials.yml"], cwd=PROJECT_ROOT, check=False
    )
    assert ignored.returncode == 0, "conf/local/credentials.yml must be git-ignored"


def test_the_key_is_no_parameter():
    """kedro-mlflow logs every ``params:`` input: the key must never be one."""
    conf = PROJECT_ROOT / "conf"

    def leaves(tree, path=()):
        if isinstance(tree, dict):
            for k, v in tree.items():
                yield from leaves(v, (*path, str(k)))
        else:
            yield path, tree

    # population.generator.id_salt only labels the *generated* synthetic app users (no person)
    synthetic_labels = {("population", "generator", "id_salt")}
    for file in conf.rglob("parameters*.yml"):
        for path, value in leaves(yaml.safe_load(file.read_text()) or {}):
            name = path[-1].lower()
            if path in synthetic_labels:
                continue
            assert not {"salt", "key", "hmac", "secret"} & set(name.split("_")), (file.name, path)
            assert OLD_SALT not in str(value), (file.name, path)
    catalog = yaml.safe_load((conf / "base" / "catalog_ingestion.yml").read_text())
    assert catalog["pseudonym_key"]["type"].endswith("PseudonymKeyDataset")


# ----------------------------------------------------------------------------- spreadsheet safety
def test_formula_cells_are_neutralised_but_numbers_are_not():
    df = pd.DataFrame(
        {
            "text": [
                '=HYPERLINK("http://x")',
                "+cmd|' /C calc'!A0",
                "-2+3",
                "@SUM(A1)",
                "\tx",
                "\rx",
                "ok",
                None,
            ],
            "number_as_text": ["-0.25", "+3", "-1e-3", "-", "12%", "1", "-7", "0.5"],
            "number": [-0.25, -1.0, 2.0, 3.0, -4.5, 0.0, 1e-9, -1e9],
        }
    )
    out = neutralise_formulas(df)
    assert out["text"].tolist()[:6] == ["'" + v for v in df["text"][:6]]
    assert out["text"].tolist()[6] == "ok" and out["text"].isna().tolist()[7]
    assert out["number_as_text"].tolist() == ["-0.25", "+3", "-1e-3", "'-", "12%", "1", "-7", "0.5"]
    pd.testing.assert_series_equal(out["number"], df["number"])  # numbers stay numbers


def test_spreadsheet_safe_csv_dataset_writes_neutralised_cells(tmp_path):
    path = tmp_path / "report.csv"
    data = pd.DataFrame({"user_id": ["=1+1", "a"], "effect": [-0.25, 0.5]})
    SpreadsheetSafeCSVDataset(filepath=str(path), save_args={"index": False}).save(data)
    assert path.read_text().splitlines() == ["user_id,effect", "'=1+1,-0.25", "a,0.5"]


def test_every_reporting_csv_is_spreadsheet_safe():
    for path in (PROJECT_ROOT / "conf").rglob("catalog*.yml"):
        for name, entry in (yaml.safe_load(path.read_text()) or {}).items():
            inner = entry.get("dataset", entry) if isinstance(entry, dict) else {}
            target = str(inner.get("filepath", ""))
            if target.endswith(".csv") and "08_reporting" in target:
                assert inner["type"].endswith("SpreadsheetSafeCSVDataset"), (path.name, name)


# ----------------------------------------------------------------------------- a whole run
@pytest.mark.slow
def test_app_export_run_writes_no_raw_id_and_a_lookup_only_where_asked(tmp_path, monkeypatch):
    project = copy_project(tmp_path / "project")
    mlflow_yml = project / "conf" / "base" / "mlflow.yml"  # file store: no 10 s sqlite set-up
    mlflow_yml.write_text(
        mlflow_yml.read_text().replace("sqlite:///${cwd:}/mlflow.db", "file://${cwd:}/mlruns")
    )
    raw_ids = ["alice@example.org", "bob.smith", "carol-1987"]
    rows = []
    for n, user in enumerate(raw_ids):
        day = pd.Timestamp("2025-01-05") + pd.Timedelta(days=n)
        for gap in [0, 28, 30, 29, 31, 28]:
            day += pd.Timedelta(days=gap)
            rows.append({"user_id": f" {user}", "period_start": day.strftime("%Y-%m-%d")})
    rows.append({"user_id": raw_ids[0], "period_start": '=HYPERLINK("http://evil")'})  # dropped
    export = tmp_path / "export.csv"
    pd.DataFrame(rows).to_csv(export, index=False)
    lookup = tmp_path / "private" / "lookup.csv"
    monkeypatch.setenv("PERIOD_STARTS_FILE", str(export))
    monkeypatch.setenv("USER_LOOKUP_FILE", str(lookup))
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.chdir(project)
    previous_uri = mlflow.get_tracking_uri()
    bootstrap_project(project)
    params = {
        "population": {
            "forecast": {"models": ["shrinkage", "median"]},
            "app": {"input": {"as_of": "2026-07-01"}},
        }
    }
    try:
        with KedroSession.create(
            project_path=project, env="app_export", runtime_params=params
        ) as s:
            s.run(pipeline_name="population", namespaces=["population.app"])
    finally:
        mlflow.set_tracking_uri(previous_uri)
    written = [p for p in (project / "data").rglob("*") if p.is_file() and "01_raw" not in p.parts]
    written += [p for p in (project / "mlruns").rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in written) and any(
        "mlruns" in p.parts for p in written
    )
    for path in written:
        content = path.read_bytes()
        for raw in raw_ids:
            assert raw.encode() not in content, f"raw id {raw!r} written to {path}"
        assert TEST_KEY.encode() not in content, f"the key was written to {path}"
    forecasts = pd.read_parquet(
        next(p for p in written if p.name == "app_next_period_forecasts.parquet")
    )
    assert (
        forecasts["user_id"].str.fullmatch(r"[0-9a-f]{16}").all()
        and forecasts["user_id"].nunique() == 3
    )
    table = pd.read_csv(
        lookup, dtype=str
    )  # the local lookup maps them back, outside data/ and MLflow
    assert sorted(table["raw_user_id"]) == sorted(raw_ids)
    assert set(table["user_id"]) == set(forecasts["user_id"])
    drop_report = next(
        p for p in written if p.name == "app_period_drop_report.csv" and "mlruns" not in p.parts
    )
    assert "'=HYPERLINK" in drop_report.read_text()  # neutralised for spreadsheets
