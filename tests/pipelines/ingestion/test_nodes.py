import json

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.datasets.mcphases import McPhasesDataset
from cycle_kedro.datasets.validated import ValidatedCSVDataset, ValidatedJSONLinesDataset
from cycle_kedro.pipelines.ingestion.fedcycle import clean_fedcycle
from cycle_kedro.pipelines.ingestion.mcphases import build_mcphases_daily
from cycle_kedro.pipelines.ingestion.medquad import clean_medquad
from cycle_kedro.pipelines.ingestion.synthetic import (
    generate_synthetic_cohort,
    summarise_synthetic_cycles,
)
from cycle_kedro.pipelines.ingestion.tables import build_model_input
from cycle_kedro.pseudonyms import PseudonymKey
from cycle_kedro.validation import DataValidationError

from .conftest import FEDCYCLE_CSV, FEDCYCLE_LOAD_ARGS, PROJECT_ROOT, TEST_KEY, load_params

MEDQUAD = PROJECT_ROOT / "data" / "01_raw" / "medquad" / "medquad_womens_health_qa.jsonl"


def _fedcycle(path=FEDCYCLE_CSV) -> ValidatedCSVDataset:
    return ValidatedCSVDataset(
        filepath=str(path), schema="cycle_kedro.schemas.FEDCYCLE_RAW", load_args=FEDCYCLE_LOAD_ARGS
    )


CHECKS = load_params("ingestion")["fedcycle_checks"]
KEY = PseudonymKey(TEST_KEY)


@pytest.fixture(scope="module")
def fedcycle_clean():
    return clean_fedcycle(_fedcycle().load(), KEY, CHECKS)


def test_fedcycle_real_file_counts(fedcycle_clean):
    cycles, report = fedcycle_clean
    assert report["raw_rows"] == 1665 and report["raw_women"] == 159 and report["blocks"] == 163
    assert report["repeated_blocks_dropped"] == 4 and report["repeated_rows_dropped"] == 16
    assert report["repeated_rows_identical_to_kept"] == 12
    assert report["repeated_cells_differing_from_kept"] == 7
    assert report["weight_zero_as_missing_rows"] == 1 and report["ids_with_whitespace_rows"] == 0
    assert report["cycles"] == 1665 - report["repeated_rows_dropped"] == len(cycles)
    assert cycles["woman_id"].nunique() == 159
    assert len(cycles) == 1649


def test_fedcycle_cycles_ordered_and_per_woman_fields_carried(fedcycle_clean):
    cycles, _ = fedcycle_clean
    for _, woman in cycles.groupby("woman_id"):
        assert woman["cycle_index"].tolist() == list(range(1, len(woman) + 1))
        assert woman["age"].nunique(dropna=False) == 1
        assert woman["bmi"].nunique(dropna=False) == 1
    # 138 women report demographics; Age is carried to every one of their cycles
    assert cycles.groupby("woman_id")["age"].first().notna().sum() == 138
    assert cycles["weight_lb"].min() > 0  # Weight 0 (nfp8155) is treated as missing


def test_fedcycle_ids_are_keyed_pseudonyms(fedcycle_clean):
    cycles, _ = fedcycle_clean
    text = cycles.to_csv()
    assert "nfp8" not in text
    assert cycles["woman_id"].str.fullmatch(r"[0-9a-f]{12}").all()
    assert set(cycles["woman_id"]) <= {KEY.pseudonym(f"nfp8{n:03d}") for n in range(1000)}
    # rows are in pseudonym order, not in the order of the raw ids
    assert cycles["woman_id"].is_monotonic_increasing


def test_fedcycle_first_block_kept_for_duplicated_women():
    raw = _fedcycle().load()
    nfp8107 = raw[raw["ClientID"] == "nfp8107"]
    cycles, _ = clean_fedcycle(raw, KEY, CHECKS)
    kept = cycles[cycles["woman_id"] == KEY.pseudonym("nfp8107")]
    first_block = nfp8107.iloc[: len(kept)]
    assert kept["cycle_length"].tolist() == first_block["LengthofCycle"].tolist()
    assert len(nfp8107) == 2 * len(kept)


# ---- bad input: every message names the file, the column and the row ----


def _write_variant(tmp_path, edit) -> str:
    lines = FEDCYCLE_CSV.read_text(encoding="utf-8-sig").splitlines()
    header, rows = lines[0].split(","), lines[1:6]
    header, rows = edit(header, rows)
    path = tmp_path / "fedcycle_bad.csv"
    path.write_text("\n".join([",".join(header), *rows]) + "\n", encoding="utf-8")
    return str(path)


def _set_cell(column: str, row: int, value: str):
    def edit(header, rows):
        cells = rows[row].split(",")
        cells[header.index(column)] = value
        rows[row] = ",".join(cells)
        return header, rows

    return edit


@pytest.mark.parametrize(
    ("column", "row", "value"),
    [
        ("LengthofCycle", 2, "0"),
        ("LengthofCycle", 3, "121"),
        ("LengthofCycle", 1, "-4"),
        ("Age", 0, "twenty"),
    ],
)
def test_bad_value_names_file_column_row(tmp_path, column, row, value):
    path = _write_variant(tmp_path, _set_cell(column, row, value))
    with pytest.raises(DataValidationError) as err:
        clean_fedcycle(_fedcycle(path).load(), KEY, CHECKS)
    message = str(err.value)
    assert (
        path in message
        and f"column '{column}'" in message
        and f"row {row} (file line {row + 2})" in message
    )


def test_text_in_numeric_cycle_length(tmp_path):
    path = _write_variant(tmp_path, _set_cell("LengthofCycle", 4, "abc"))
    with pytest.raises(
        DataValidationError, match=r"column 'LengthofCycle', row 4 \(file line 6\).*'abc'"
    ):
        _fedcycle(path).load()


def test_missing_column(tmp_path):
    def drop(header, rows):
        i = header.index("LengthofCycle")
        return header[:i] + header[i + 1 :], [
            ",".join(r.split(",")[:i] + r.split(",")[i + 1 :]) for r in rows
        ]

    path = _write_variant(tmp_path, drop)
    with pytest.raises(
        DataValidationError,
        match=r"fedcycle_bad.csv: column 'LengthofCycle'.*missing from the header",
    ):
        _fedcycle(path).load()


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataValidationError, match=r"empty.csv: the file is empty"):
        _fedcycle(path).load()


def test_header_only_file_is_rejected(tmp_path, fedcycle_header):
    path = tmp_path / "header_only.csv"
    path.write_text(fedcycle_header + "\n")
    with pytest.raises(DataValidationError, match=r"header_only.csv: the file has no data rows"):
        _fedcycle(path).load()


def test_unparseable_jsonl_line(tmp_path):
    lines = MEDQUAD.read_text(encoding="utf-8").splitlines()[:3]
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join([lines[0], lines[1], '{"question": "broken', lines[2]]) + "\n")
    dataset = ValidatedJSONLinesDataset(
        filepath=str(path), schema="cycle_kedro.schemas.MEDQUAD_RAW"
    )
    with pytest.raises(
        DataValidationError, match=r"qa.jsonl: row 2 \(file line 3\).*not valid JSON"
    ):
        dataset.load()


def test_jsonl_missing_field_names_column_and_row(tmp_path):
    records = [json.loads(line) for line in MEDQUAD.read_text(encoding="utf-8").splitlines()[:3]]
    records[1]["answer"] = ""
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    dataset = ValidatedJSONLinesDataset(
        filepath=str(path), schema="cycle_kedro.schemas.MEDQUAD_RAW"
    )
    with pytest.raises(
        DataValidationError, match=r"qa.jsonl: column 'answer', row 1 \(file line 2\)"
    ):
        dataset.load()


# ---- synthetic cohort ----


def test_generator_is_seeded(small_cohort_params):
    first = generate_synthetic_cohort(small_cohort_params)
    pd.testing.assert_frame_equal(first, generate_synthetic_cohort(small_cohort_params))
    other = generate_synthetic_cohort(
        {**small_cohort_params, "seed": small_cohort_params["seed"] + 1}
    )
    assert not first["steps"].equals(other["steps"])


def test_generator_physiology(small_cohort_params):
    daily = generate_synthetic_cohort(small_cohort_params)
    by_phase = daily.groupby("phase")[["e2", "p4"]].mean()
    assert by_phase["e2"].idxmax() == "ovulatory"  # pre-ovulatory E2 peak
    assert by_phase["p4"].idxmax() == "luteal"  # luteal P4 rise
    assert by_phase.loc["luteal", "p4"] > 10 * by_phase.loc["follicular", "p4"]
    cycles = summarise_synthetic_cycles(daily)
    assert (
        cycles["cycle_length"] == daily.groupby(["woman_id", "cycle_index"]).size().values
    ).all()
    assert cycles["luteal_length"].between(9, 17).all()


@pytest.mark.parametrize(("rho_p4", "rho_e2"), [(-0.28, -0.05), (0.4, 0.0)])
def test_planted_correlation_recovered_at_large_n(small_cohort_params, rho_p4, rho_e2):
    params = {
        **small_cohort_params,
        "n_women": 3000,
        "cycles_per_woman": [1, 1],
        "seed": 11,
        "effects": {"rho_steps_p4": rho_p4, "rho_steps_e2": rho_e2},
    }
    women = generate_synthetic_cohort(params).groupby("woman_id")[["steps", "e2", "p4"]].mean()
    # sampling SE of r at n=3000 is about 0.018
    assert women["steps"].corr(women["p4"]) == pytest.approx(rho_p4, abs=0.06)
    assert women["steps"].corr(women["e2"]) == pytest.approx(rho_e2, abs=0.06)


def test_model_input_imputes_per_woman_median():
    cycles = pd.DataFrame(
        {
            "woman_id": ["a"] * 2 + ["b"] * 3 + ["c"],
            "cycle_index": [1, 2, 1, 2, 3, 1],
            "cycle_length": [28.0, 29, 30, 31, 30, 27],
            "age": [20.0, 20, 40, 40, 40, np.nan],
            "bmi": [20.0, 20, np.nan, np.nan, np.nan, 30],
            "steps": np.nan,
            "e2": np.nan,
            "p4": np.nan,
        }
    )
    model_input = build_model_input(cycles.sample(frac=1, random_state=0))
    assert model_input["woman_id"].tolist() == ["a", "a", "b", "b", "b", "c"]
    assert model_input.loc[5, "age"] == 30.0  # median of women a (20) and b (40), not of rows
    assert model_input["bmi_imputed"].tolist() == [False, False, True, True, True, False]


# ---- MedQuAD ----


def test_medquad_cleaned():
    raw = ValidatedJSONLinesDataset(
        filepath=str(MEDQUAD), schema="cycle_kedro.schemas.MEDQUAD_RAW"
    ).load()
    doubled = pd.concat([raw, raw.head(3)], ignore_index=True)
    doubled.loc[0, "question"] = (
        "What are the  symptoms of Acromegaly ? ?"  # same pair, messier spacing
    )
    checks = load_params("ingestion")["medquad_checks"]
    qa = clean_medquad(doubled, {"name": "CC BY 4.0", "citation": "Ben Abacha 2019"}, checks)
    assert len(qa) == len(raw) == 122
    assert qa.loc[0, "question"] == "What are the symptoms of Acromegaly?"
    assert not qa["question"].str.contains(r"\?\s*\?").any()
    assert (qa["licence"] == "CC BY 4.0").all() and qa["source"].str.len().gt(0).all()


# ---- mcPHASES-shaped loader ----


def test_mcphases_loader_on_fixtures(mcphases_dir):
    tables = McPhasesDataset(path=str(mcphases_dir)).load()
    daily = build_mcphases_daily(
        tables, KEY, {"max_steps_per_record": 5000, "zero_is_missing": True}
    )
    # duplicated 12:00 record counted once, the 6,000-step record dropped: 400 + 600
    assert (daily["steps"] == 1000).all()
    assert set(daily["phase"].dropna()) == {"menstrual", "follicular", "ovulatory", "luteal"}
    person2 = daily[daily["study_interval"] == 2024]
    assert person2["cycle_index"].min() == 3  # continues after the two 2022 cycles
    person2_id = person2["woman_id"].iloc[0]
    first = daily[(daily["woman_id"] != person2_id) & (daily["cycle_index"] == 1)]
    assert first["cycle_day"].tolist() == list(range(1, 11))  # days 1-10, then the next menses
    assert daily.loc[daily["study_interval"] == 2022, "p4"].isna().all()  # PdG absent in 2022
    ages = daily.groupby("study_interval")["age"].agg(["min", "max"])
    assert ages.loc[2022, "min"] == 22 and ages.loc[2024, "max"] == 26
    assert person2["bmi"].iloc[0] == pytest.approx(72.25 / 1.7**2)
    assert (
        daily["woman_id"].nunique() == 2 and daily["woman_id"].str.fullmatch(r"[0-9a-f]{12}").all()
    )


def test_mcphases_missing_file_and_dir(mcphases_dir, tmp_path):
    (mcphases_dir / "steps.csv").unlink()
    with pytest.raises(DataValidationError, match=r"steps.csv: required mcPHASES table is missing"):
        McPhasesDataset(path=str(mcphases_dir)).load()
    with pytest.raises(DataValidationError, match=r"set MCPHASES_DIR"):
        McPhasesDataset(path=str(tmp_path / "nope")).load()


def test_mcphases_missing_column(mcphases_dir):
    path = mcphases_dir / "subject-info.csv"
    pd.read_csv(path).drop(columns="birth_year").to_csv(path, index=False)
    with pytest.raises(
        DataValidationError, match=r"subject-info.csv: column\(s\) \['birth_year'\] missing"
    ):
        McPhasesDataset(path=str(mcphases_dir)).load()
