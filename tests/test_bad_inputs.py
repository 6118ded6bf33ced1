"""The bad-input matrix: each of the three inputs a user supplies x each class of bad input.

Inputs (read with the project's own catalog entries, then the first node, as in a run):

* ``fedcycle`` — a FedCycle-format cycle CSV (``fedcycle_raw`` -> ``clean_fedcycle``),
* ``qa`` — a Q&A JSON Lines file (``medquad_raw`` -> ``clean_medquad``),
* ``export`` — a period-start export read with ``--env app_export`` (``period_starts`` ->
  ``validate_period_starts``, ids pseudonymised).

Every case ends in one of two ways, and the test checks which:

* **error**: a :class:`DataValidationError` whose message names the file (the user's own path),
  and the column/line where it applies; its one-screen block has at most 25 lines and 2,000
  characters, whatever the size of the offending value;
* **handled**: the documented handling, with the data unchanged where it must be (compared with
  the clean file's result) and the handling reported (cleaning report, drop report or a warning).

Files are small and generated here (three women / three users), so the whole matrix runs in seconds.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import logging
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import AbstractDataset

from cycle_kedro.pipelines.ingestion.fedcycle import clean_fedcycle
from cycle_kedro.pipelines.ingestion.medquad import clean_medquad
from cycle_kedro.pipelines.population.intake import validate_period_starts
from cycle_kedro.pseudonyms import PseudonymKey
from cycle_kedro.validation import DataValidationError

from .conftest import PROJECT_ROOT, TEST_KEY, load_params

KEY = PseudonymKey(TEST_KEY)
INGESTION = load_params("ingestion")
POPULATION = load_params("population")
CONF = PROJECT_ROOT / "conf"
BIG = 5_000_000  # a 5 MB field


def _entry(path: Path, name: str) -> dict:
    return dict(yaml.safe_load(path.read_text())[name])


def _dataset(kind: str, filepath: Path):
    if kind == "fedcycle":
        cfg = _entry(CONF / "base" / "catalog_ingestion.yml", "fedcycle_raw")
    elif kind == "qa":
        cfg = _entry(CONF / "base" / "catalog_ingestion.yml", "medquad_raw")
    else:
        cfg = _entry(CONF / "app_export" / "catalog_population.yml", "period_starts")
    cfg["filepath"] = str(filepath)
    return AbstractDataset.from_config(kind, cfg)


def _export_cfg() -> dict:
    app = _entry(CONF / "app_export" / "parameters_population.yml", "population")["app"]
    base = POPULATION["population"]["app"]["input"]
    return base | app["input"] | {"as_of": "2026-07-01"}


def run_fedcycle(path: Path):
    return clean_fedcycle(_dataset("fedcycle", path).load(), KEY, INGESTION["fedcycle_checks"])


def run_qa(path: Path):
    return clean_medquad(
        _dataset("qa", path).load(), INGESTION["medquad_licence"], INGESTION["medquad_checks"]
    )


def run_export(path: Path):
    return validate_period_starts(
        _dataset("export", path).load(), _export_cfg(), {"engine": "pandas"}, KEY
    )


# ----------------------------------------------------------------------------- generated files
FED_COLUMNS = [
    "ClientID",
    "CycleNumber",
    "Group",
    "LengthofCycle",
    "EstimatedDayofOvulation",
    "LengthofLutealPhase",
    "LengthofMenses",
    "Age",
    "BMI",
    "Height",
    "Weight",
    "Medvitexplain",
]


def fed_rows() -> list[dict]:
    """Three women (4, 3 and 3 cycles); per-woman fields on cycle 1 only, blanks as one space."""
    rows = []
    for w, (n, age) in enumerate([(4, 30), (3, 25), (3, 41)]):
        for c in range(1, n + 1):
            length = 26 + (3 * w + c) % 5
            first = c == 1
            rows.append(
                {
                    "ClientID": f"nfp9{w:03d}",
                    "CycleNumber": str(c),
                    "Group": str(w % 2),
                    "LengthofCycle": str(length),
                    "EstimatedDayofOvulation": str(length - 13),
                    "LengthofLutealPhase": "13",
                    "LengthofMenses": str(4 + c % 2),
                    "Age": str(age) if first else " ",
                    "BMI": "22.5" if first else " ",
                    "Height": "65" if first else " ",
                    "Weight": "135" if first else " ",
                    "Medvitexplain": "Multivitamin, B12" if first else " ",
                }
            )
    return rows


def csv_text(header: list[str], rows: list[dict | list], sep: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[c] for c in header] if isinstance(row, dict) else row)
    return out.getvalue()


def qa_records() -> list[dict]:
    return [
        {
            "question": f"What is condition {i}?",
            "answer": f"Condition {i} is ... ({i})",
            "source": "MedQuAD",
        }
        for i in range(4)
    ]


def jsonl_text(records: list) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def export_rows() -> list[dict]:
    """Three users, 4-5 period starts each, ISO dates."""
    rows = []
    for u, (first, gaps) in enumerate(
        [
            ("2025-01-03", [28, 30, 29, 31]),
            ("2025-02-10", [26, 27, 25]),
            ("2025-03-01", [33, 31, 34]),
        ]
    ):
        day = pd.Timestamp(first)
        for gap in [0, *gaps]:
            day += pd.Timedelta(days=gap)
            rows.append(
                {"user_id": f"user-{u}@example.org", "period_start": day.strftime("%Y-%m-%d")}
            )
    return rows


EXPORT_COLUMNS = ["user_id", "period_start"]


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def good_file(kind: str) -> str:
    if kind == "fedcycle":
        return csv_text(FED_COLUMNS, fed_rows())
    if kind == "qa":
        return jsonl_text(qa_records())
    return csv_text(EXPORT_COLUMNS, export_rows())


NAME = {"fedcycle": "cycles.csv", "qa": "qa.jsonl", "export": "my_export.csv"}
RUN: dict[str, Callable] = {"fedcycle": run_fedcycle, "qa": run_qa, "export": run_export}


def baseline(kind: str, tmp_path: Path):
    return RUN[kind](write(tmp_path, "good_" + NAME[kind], good_file(kind)))


# ----------------------------------------------------------------------------- outcomes
def expect_error(kind: str, path: Path, *fragments: str) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        RUN[kind](path)
    err = info.value
    message, block = str(err), err.block()
    assert str(path) in message, message  # the user's own file, never a default path
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    lines = block.splitlines()
    assert len(lines) <= 25 and len(block) <= 2000, block[:3000]
    assert str(path) in block
    return err


def same_fedcycle(result, base) -> dict:
    (cycles, report), (base_cycles, _) = result, base
    pd.testing.assert_frame_equal(cycles, base_cycles)
    return report


def same_export(result, base) -> pd.DataFrame:
    (kept, dropped), (base_kept, _) = result, base
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), base_kept.reset_index(drop=True))
    return dropped


# ----------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    kind: str
    klass: str
    name: str
    check: Callable[[Path], None]


CASES: list[Case] = []


def case(kind: str, klass: str, name: str):
    def register(func):
        CASES.append(Case(kind, klass, name, func))
        return func

    return register


# --- non-contiguous rows and ids that differ only by whitespace or case ---------------------
@case("fedcycle", "ids_and_order", "sorted_by_cycle_number")
def _(tmp):
    rows = sorted(fed_rows(), key=lambda r: int(r["CycleNumber"]))
    same_fedcycle(
        run_fedcycle(write(tmp, "c.csv", csv_text(FED_COLUMNS, rows))), baseline("fedcycle", tmp)
    )


@case("fedcycle", "ids_and_order", "women_interleaved")
def _(tmp):
    rows = fed_rows()
    random.Random(3).shuffle(rows)
    same_fedcycle(
        run_fedcycle(write(tmp, "c.csv", csv_text(FED_COLUMNS, rows))), baseline("fedcycle", tmp)
    )


@case("fedcycle", "ids_and_order", "trailing_space_id")
def _(tmp):
    rows = fed_rows()
    rows[5]["ClientID"] += " "
    rows[6]["ClientID"] = " " + rows[6]["ClientID"]
    report = same_fedcycle(
        run_fedcycle(write(tmp, "c.csv", csv_text(FED_COLUMNS, rows))), baseline("fedcycle", tmp)
    )
    assert report["ids_with_whitespace_rows"] == 2 and report["women"] == 3


@case("fedcycle", "ids_and_order", "case_variant_id")
def _(tmp):
    rows = fed_rows()
    rows[2]["ClientID"] = rows[2]["ClientID"].upper()
    path = write(tmp, "c.csv", csv_text(FED_COLUMNS, rows))
    expect_error(
        "fedcycle",
        path,
        "differ only by upper/lower case",
        "column 'ClientID'",
        "file line 2",
        "file line 4",
    )


@case("qa", "ids_and_order", "lines_shuffled")
def _(tmp):
    records = qa_records()
    random.Random(1).shuffle(records)
    qa = run_qa(write(tmp, "q.jsonl", jsonl_text(records)))
    base = baseline("qa", tmp)
    key = ["question", "answer"]
    pd.testing.assert_frame_equal(
        qa.sort_values(key, ignore_index=True), base.sort_values(key, ignore_index=True)
    )


@case("export", "ids_and_order", "rows_shuffled")
def _(tmp):
    rows = export_rows()
    random.Random(2).shuffle(rows)
    same_export(
        run_export(write(tmp, "e.csv", csv_text(EXPORT_COLUMNS, rows))), baseline("export", tmp)
    )


@case("export", "ids_and_order", "trailing_space_id")
def _(tmp):
    rows = export_rows()
    rows[1]["user_id"] += "  "
    rows[7]["user_id"] = "\t" + rows[7]["user_id"]
    same_export(
        run_export(write(tmp, "e.csv", csv_text(EXPORT_COLUMNS, rows))), baseline("export", tmp)
    )


@case("export", "ids_and_order", "case_variant_id")
def _(tmp):
    rows = export_rows()
    rows[3]["user_id"] = rows[3]["user_id"].upper()
    expect_error(
        "export",
        write(tmp, "e.csv", csv_text(EXPORT_COLUMNS, rows)),
        "differ only by upper/lower case",
        "file line 2",
        "file line 5",
    )


# --- a key repeated within one woman / user ---------------------------------------------------
@case("fedcycle", "repeated_key", "cycle_number_twice")
def _(tmp):
    rows = fed_rows()
    rows[2]["CycleNumber"] = "2"  # woman 0: cycles 1, 2, 2, 4
    expect_error(
        "fedcycle",
        write(tmp, "c.csv", csv_text(FED_COLUMNS, rows)),
        "cycle number 2 appears twice",
        "file line 3",
        "file line 4",
    )


@case("fedcycle", "repeated_key", "cycle_number_twice_sorted_file")
def _(tmp):
    rows = fed_rows()
    rows[8]["CycleNumber"] = "1"  # woman 2: cycles 1, 1, 3 (cycle 2 mis-numbered)
    rows = sorted(rows, key=lambda r: int(r["CycleNumber"]))
    expect_error(
        "fedcycle", write(tmp, "c.csv", csv_text(FED_COLUMNS, rows)), "cycle number 1 appears twice"
    )


@case("fedcycle", "repeated_key", "true_repeated_block")
def _(tmp):
    rows = fed_rows()
    rows += [dict(r) for r in rows[:4]]  # woman 0's whole history again, identical
    result = run_fedcycle(write(tmp, "c.csv", csv_text(FED_COLUMNS, rows)))
    report = same_fedcycle(result, baseline("fedcycle", tmp))
    assert report["repeated_blocks_dropped"] == 1 and report["repeated_rows_dropped"] == 4
    assert report["repeated_rows_identical_to_kept"] == 4


@case("fedcycle", "repeated_key", "repeated_block_in_a_sorted_file")
def _(tmp):
    rows = fed_rows()
    rows += [dict(r) for r in rows[4:7]]
    rows[-1]["LengthofMenses"] = "6"  # an almost exact copy, as in the shipped file
    rows = sorted(rows, key=lambda r: int(r["CycleNumber"]))
    report = same_fedcycle(
        run_fedcycle(write(tmp, "c.csv", csv_text(FED_COLUMNS, rows))), baseline("fedcycle", tmp)
    )
    assert (
        report["repeated_rows_dropped"] == 3 and report["repeated_cells_differing_from_kept"] == 1
    )


@case("fedcycle", "repeated_key", "second_block_with_other_data")
def _(tmp):
    rows = fed_rows()
    copy = [dict(r) for r in rows[:4]]
    for r in copy:
        r.update(
            LengthofCycle="35",
            EstimatedDayofOvulation="20",
            LengthofLutealPhase="15",
            LengthofMenses="7",
        )
    expect_error(
        "fedcycle",
        write(tmp, "c.csv", csv_text(FED_COLUMNS, rows + copy)),
        "appears twice",
        "the two rows differ",
    )


@case("fedcycle", "repeated_key", "rows_pasted_twice")
def _(tmp):
    """The whole file pasted below itself, one woman's repeated block included (as shipped)."""
    rows = fed_rows()
    rows += [dict(r) for r in rows[:4]]  # a true repeated block: lines 12-15
    text = csv_text(FED_COLUMNS, rows + rows)  # original: lines 2-15, the copy: lines 16-29
    err = expect_error(
        "fedcycle",
        write(tmp, "c.csv", text),
        "lines 16-29 repeat lines 2-15",
        "file line 16",
        "delete the copy (lines 16-29)",
    )
    assert "appears twice" not in str(err) and "give each cycle its own number" not in str(err)


@case("qa", "repeated_key", "records_pasted_twice")
def _(tmp):
    records = qa_records()
    result = run_qa(write(tmp, NAME["qa"], jsonl_text(records + records)))
    assert len(result) == len(records)  # the copies are duplicate pairs, dropped and reported


@case("fedcycle", "repeated_key", "gap_in_cycle_numbers")
def _(tmp):
    rows = fed_rows()
    rows[3]["CycleNumber"] = "6"
    expect_error(
        "fedcycle",
        write(tmp, "c.csv", csv_text(FED_COLUMNS, rows)),
        "column 'CycleNumber'",
        "has no cycle 4",
        "file line 5",
    )


@case("qa", "repeated_key", "duplicate_pair")
def _(tmp, caplog=None):
    records = qa_records()
    records.insert(2, dict(records[0], question="What  is condition 0 ?"))  # same pair, messier
    with _warnings() as logs:
        qa = run_qa(write(tmp, "q.jsonl", jsonl_text(records)))
    pd.testing.assert_frame_equal(qa, baseline("qa", tmp))
    assert "1 duplicate Q&A pair(s) dropped" in logs.text


@case("export", "repeated_key", "same_day_twice")
def _(tmp):
    rows = export_rows()
    rows.insert(3, dict(rows[2]))
    dropped = same_export(
        run_export(write(tmp, "e.csv", csv_text(EXPORT_COLUMNS, rows))), baseline("export", tmp)
    )
    assert dropped["reason"].tolist() == ["duplicate"]
    assert dropped["user_id"].str.fullmatch(r"[0-9a-f]{16}").all()  # pseudonymised


# --- implausible values -----------------------------------------------------------------------
def _fed_cell(tmp, row: int, column: str, value: str) -> Path:
    rows = fed_rows()
    rows[row][column] = value
    return write(tmp, "c.csv", csv_text(FED_COLUMNS, rows))


for _name, _col, _value, _fragment in [
    ("one_day_cycle", "LengthofCycle", "1", "whole days in [10, 120]"),
    ("zero_day_cycle", "LengthofCycle", "0", "whole days in [10, 120]"),
    ("negative_cycle", "LengthofCycle", "-4", "whole days in [10, 120]"),
    ("fractional_cycle", "LengthofCycle", "28.5", "whole days"),
    ("500_day_cycle", "LengthofCycle", "500", "[10, 120]"),
    ("age_200", "Age", "200", "years in [10, 60]"),
    ("bmi_3", "BMI", "3", "[10, 80]"),
    ("fractional_cycle_number", "CycleNumber", "1.5", "whole cycle numbers"),
    (
        "ovulation_after_cycle_end",
        "EstimatedDayofOvulation",
        "40",
        "ovulation day before the cycle's last day",
    ),
]:

    def _make(tmp, col=_col, value=_value, fragment=_fragment):
        err = expect_error(
            "fedcycle",
            _fed_cell(tmp, 0, col, value),
            f"column '{col}'",
            "row 0 (file line 2)",
            fragment,
        )
        assert "fedcycle_checks" in (err.hint or "") or "ovulation" in fragment

    case("fedcycle", "implausible", _name)(_make)


@case("qa", "implausible", "5_mb_answer")
def _(tmp):
    records = qa_records()
    records[1]["answer"] = "a" * BIG
    err = expect_error(
        "qa",
        write(tmp, "q.jsonl", jsonl_text(records)),
        "column 'answer'",
        "row 1 (file line 2)",
        "at most 30,000 characters",
    )
    assert "5,000,000 characters" in err.block()


@case("qa", "implausible", "long_question")
def _(tmp):
    records = qa_records()
    records[3]["question"] = "Why? " * 400
    expect_error(
        "qa",
        write(tmp, "q.jsonl", jsonl_text(records)),
        "column 'question'",
        "file line 4",
        "at most 1,000",
    )


@case("export", "implausible", "start_in_1900")
def _(tmp):
    rows = export_rows()
    rows[4]["period_start"] = "1900-01-05"
    expect_error(
        "export",
        write(tmp, "e.csv", csv_text(EXPORT_COLUMNS, rows)),
        "column 'period_start'",
        "file line 6",
        "on or after 1970-01-01",
    )


@case("export", "implausible", "start_in_the_future")
def _(tmp):
    rows = export_rows()
    rows.append({"user_id": rows[0]["user_id"], "period_start": "2031-05-01"})
    dropped = same_export(
        run_export(write(tmp, "e.csv", csv_text(EXPORT_COLUMNS, rows))), baseline("export", tmp)
    )
    assert dropped[["period_start", "reason"]].values.tolist() == [["2031-05-01", "future"]]


# --- blank required fields --------------------------------------------------------------------
for _name, _col, _value, _fragment in [
    ("blank_cycle_length", "LengthofCycle", " ", "a value (the cell is empty)"),
    ("blank_id", "ClientID", "   ", "column 'ClientID'"),
    ("empty_cycle_number", "CycleNumber", "", "column 'CycleNumber'"),
]:

    def _make(tmp, col=_col, value=_value, fragment=_fragment):
        expect_error("fedcycle", _fed_cell(tmp, 2, col, value), fragment, "row 2 (file line 4)")

    case("fedcycle", "blank", _name)(_make)


for _name, _edit, _fragment in [
    ("blank_answer", lambda r: r[1].update(answer="   "), "column 'answer'"),
    ("empty_question", lambda r: r[1].update(question=""), "column 'question'"),
    ("missing_answer_key", lambda r: r[1].pop("answer"), "column 'answer'"),
    ("answer_not_text", lambda r: r[1].update(answer=42), "not text"),
]:

    def _make(tmp, edit=_edit, fragment=_fragment):
        records = qa_records()
        edit(records)
        expect_error(
            "qa", write(tmp, "q.jsonl", jsonl_text(records)), fragment, "row 1 (file line 2)"
        )

    case("qa", "blank", _name)(_make)


for _name, _col, _value in [
    ("blank_date", "period_start", ""),
    ("spaces_date", "period_start", "   "),
    ("blank_user", "user_id", ""),
]:

    def _make(tmp, col=_col, value=_value):
        rows = export_rows()
        rows[6][col] = value
        expect_error(
            "export",
            write(tmp, "e.csv", csv_text(EXPORT_COLUMNS, rows)),
            f"column '{col}'",
            "row 6 (file line 8)",
            "empty",
        )

    case("export", "blank", _name)(_make)


# --- wrong delimiter / not the expected format ------------------------------------------------
for _kind in ("fedcycle", "export"):
    for _sep, _word in [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")]:

        def _make(tmp, kind=_kind, sep=_sep, word=_word):
            header = FED_COLUMNS if kind == "fedcycle" else EXPORT_COLUMNS
            rows = fed_rows() if kind == "fedcycle" else export_rows()
            expect_error(
                kind,
                write(tmp, NAME[kind], csv_text(header, rows, sep)),
                f"separated by {word}",
                "line 1",
            )

        case(_kind, "delimiter", f"sep_{_word}")(_make)


@case("qa", "delimiter", "json_array_not_lines")
def _(tmp):
    expect_error(
        "qa", write(tmp, "q.jsonl", json.dumps(qa_records(), indent=1)), "one JSON array", "line 1"
    )


@case("qa", "delimiter", "csv_given_as_jsonl")
def _(tmp):
    text = csv_text(["question", "answer", "source"], [list(r.values()) for r in qa_records()])
    err = expect_error("qa", write(tmp, "q.jsonl", text), "file line 1", "not valid JSON")
    assert "looks like CSV" in (err.hint or "")


# --- encodings, binary and compressed files ---------------------------------------------------
def _with_accent(kind: str) -> str:
    if kind == "fedcycle":
        rows = fed_rows()
        rows[4]["Medvitexplain"] = "Fer, vitamine B, crème"
        return csv_text(FED_COLUMNS, rows)
    if kind == "qa":
        records = qa_records()
        records[2]["answer"] = "Ménopause: ..."
        return jsonl_text(records)
    rows = export_rows()
    rows[5]["user_id"] = "josé"
    rows[6]["user_id"] = "josé"
    return csv_text(EXPORT_COLUMNS, rows)


_ACCENT_LINE = {"fedcycle": "line 6", "qa": "line 3", "export": "line 7"}

for _kind in ("fedcycle", "qa", "export"):

    def _latin1(tmp, kind=_kind):
        path = write(tmp, NAME[kind], _with_accent(kind), encoding="latin-1")
        err = expect_error(kind, path, _ACCENT_LINE[kind], "is not UTF-8", "Latin-1")
        assert "save the file as UTF-8" in err.hint

    def _cp1252(tmp, kind=_kind):
        text = _with_accent(kind).replace("é", "’").replace("è", "’")
        expect_error(
            kind, write(tmp, NAME[kind], text, encoding="cp1252"), "byte 0x92", "not UTF-8"
        )

    def _utf16(tmp, kind=_kind):
        expect_error(
            kind,
            write(tmp, NAME[kind], good_file(kind), encoding="utf-16"),
            "UTF-16",
            "save the file as UTF-8",
        )

    def _utf16_no_bom(tmp, kind=_kind):
        expect_error(
            kind, write(tmp, NAME[kind], good_file(kind), encoding="utf-16-le"), "UTF-16", "line 1"
        )

    def _binary(tmp, kind=_kind):
        data = bytes(random.Random(0).randrange(256) for _ in range(3000)) + b"\x00"
        expect_error(kind, write(tmp, NAME[kind], b"\x89PNG\r\n\x1a\n" + data), "not a text file")

    def _gzip(tmp, kind=_kind):
        expect_error(
            kind,
            write(tmp, NAME[kind], gzip.compress(good_file(kind).encode())),
            "gzip-compressed",
            "gunzip",
        )

    def _zip(tmp, kind=_kind):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(NAME[kind], good_file(kind))
        expect_error(kind, write(tmp, NAME[kind], buffer.getvalue()), "zip archive")

    def _bom(tmp, kind=_kind):
        result = RUN[kind](write(tmp, NAME[kind], "\ufeff" + good_file(kind)))
        _assert_same(kind, result, baseline(kind, tmp))

    def _crlf(tmp, kind=_kind):
        result = RUN[kind](write(tmp, NAME[kind], good_file(kind).replace("\n", "\r\n")))
        _assert_same(kind, result, baseline(kind, tmp))

    def _encoding_named(tmp, kind=_kind):
        for encoding, named in (
            ("utf-16", "UTF-16"),
            ("utf-16-le", "UTF-16LE"),
            ("utf-16-be", "UTF-16BE"),
        ):
            err = expect_error(kind, write(tmp, NAME[kind], good_file(kind), encoding=encoding))
            assert f"iconv -f {named} -t UTF-8" in str(err) and "LATIN1" not in str(err), str(err)
        text = _with_accent(kind)
        err = expect_error(kind, write(tmp, NAME[kind], text, encoding="latin-1"), "not UTF-8")
        assert "iconv -f LATIN1 -t UTF-8" in str(err), str(err)

    for _name, _func in [
        ("hint_names_the_encoding", _encoding_named),
        ("latin1", _latin1),
        ("windows_1252", _cp1252),
        ("utf16_with_bom", _utf16),
        ("utf16_without_bom", _utf16_no_bom),
        ("binary", _binary),
        ("gzip", _gzip),
        ("zip", _zip),
        ("utf8_bom_accepted", _bom),
        ("crlf_accepted", _crlf),
    ]:
        case(_kind, "encoding", _name)(_func)


def _assert_same(kind, result, base):
    if kind == "fedcycle":
        same_fedcycle(result, base)
    elif kind == "export":
        same_export(result, base)
    else:
        pd.testing.assert_frame_equal(result, base)


# --- a repeated header line inside the data ---------------------------------------------------
for _kind in ("fedcycle", "export"):

    def _middle(tmp, kind=_kind):
        lines = good_file(kind).splitlines()
        lines.insert(4, lines[0])
        err = expect_error(
            kind,
            write(tmp, NAME[kind], "\n".join(lines) + "\n"),
            "repeats the header",
            "file line 5",
        )
        assert "TypeError" not in str(err)

    def _twice(tmp, kind=_kind):
        lines = good_file(kind).splitlines()
        text = "\n".join(lines + lines) + "\n"  # two exports pasted together
        expect_error(
            kind, write(tmp, NAME[kind], text), "repeats the header", f"file line {len(lines) + 1}"
        )

    case(_kind, "repeated_header", "header_in_the_middle")(_middle)
    case(_kind, "repeated_header", "two_files_pasted")(_twice)


@case("qa", "repeated_header", "csv_header_line_inside")
def _(tmp):
    lines = good_file("qa").splitlines()
    lines.insert(2, "question,answer,source")
    expect_error("qa", write(tmp, "q.jsonl", "\n".join(lines)), "file line 3", "not valid JSON")


@case("qa", "repeated_header", "truncated_json_line")
def _(tmp):
    lines = good_file("qa").splitlines()
    lines[1] = lines[1][:20]
    expect_error("qa", write(tmp, "q.jsonl", "\n".join(lines)), "file line 2", "not valid JSON")


# --- dates in another format (export) ---------------------------------------------------------
for _name, _fmt, _found in [
    ("all_dd_mm_yyyy", "%d/%m/%Y", "dd/mm/yyyy or mm/dd/yyyy"),
    ("all_mm_dd_yyyy", "%m/%d/%Y", "dd/mm/yyyy or mm/dd/yyyy"),
    ("all_dd_dot_mm", "%d.%m.%Y", "dd.mm.yyyy"),
    ("all_yyyy_slash", "%Y/%m/%d", "yyyy/mm/dd"),
]:

    def _make(tmp, fmt=_fmt, found=_found):
        rows = export_rows()
        for r in rows:
            r["period_start"] = pd.Timestamp(r["period_start"]).strftime(fmt)
        n = len(rows)
        expect_error(
            "export",
            write(tmp, "e.csv", csv_text(EXPORT_COLUMNS, rows)),
            f"{n} of {n} dates are not ISO",
            found,
            "YYYY-MM-DD",
        )

    case("export", "date_format", _name)(_make)


@case("export", "date_format", "one_user_one_date")
def _(tmp):
    text = csv_text(EXPORT_COLUMNS, [{"user_id": "only-me", "period_start": "2026-03-01"}])
    expect_error(
        "export", write(tmp, "e.csv", text), "no completed cycle: 1 user(s)", "two period starts"
    )


@case("export", "date_format", "a_few_bad_dates_are_dropped_and_listed")
def _(tmp):
    rows = export_rows()
    rows += [
        {"user_id": rows[0]["user_id"], "period_start": "31/12/2025"},
        {"user_id": rows[0]["user_id"], "period_start": "2025-12"},
    ]
    dropped = same_export(
        run_export(write(tmp, "e.csv", csv_text(EXPORT_COLUMNS, rows))), baseline("export", tmp)
    )
    assert sorted(dropped["period_start"]) == ["2025-12", "31/12/2025"]
    assert set(dropped["reason"]) == {"unparseable"}


# --- long values in messages ------------------------------------------------------------------
@case("fedcycle", "long_value", "5_mb_cell_in_a_number_column")
def _(tmp):
    err = expect_error(
        "fedcycle",
        _fed_cell(tmp, 1, "LengthofCycle", "9x" * (BIG // 2)),
        "column 'LengthofCycle'",
        "file line 3",
    )
    assert len(str(err)) < 1000


@case("qa", "long_value", "5_mb_line_of_broken_json")
def _(tmp):
    lines = good_file("qa").splitlines()
    lines[2] = '{"question": "' + "q" * BIG
    err = expect_error("qa", write(tmp, "q.jsonl", "\n".join(lines)), "file line 3")
    assert len(str(err)) < 1000


@case("export", "long_value", "5_mb_date")
def _(tmp):
    rows = export_rows()
    for r in rows:
        r["period_start"] = "x" * (BIG // 20)
    err = expect_error(
        "export", write(tmp, "e.csv", csv_text(EXPORT_COLUMNS, rows)), "column 'period_start'"
    )
    assert len(str(err)) < 2000


# --- structure: empty, header only, missing column, ragged rows -------------------------------
for _kind in ("fedcycle", "qa", "export"):

    def _empty(tmp, kind=_kind):
        expect_error(kind, write(tmp, NAME[kind], ""), "empty")

    def _blank_lines(tmp, kind=_kind):
        expect_error(kind, write(tmp, NAME[kind], "\n \n\n"), "empty")

    case(_kind, "structure", "empty_file")(_empty)
    case(_kind, "structure", "only_blank_lines")(_blank_lines)

for _kind in ("fedcycle", "export"):

    def _header_only(tmp, kind=_kind):
        expect_error(
            kind, write(tmp, NAME[kind], good_file(kind).splitlines()[0] + "\n"), "no data rows"
        )

    def _missing_column(tmp, kind=_kind):
        frame = pd.read_csv(io.StringIO(good_file(kind)), dtype=str, keep_default_na=False)
        column = "LengthofCycle" if kind == "fedcycle" else "period_start"
        text = frame.drop(columns=column).to_csv(index=False)
        expect_error(
            kind, write(tmp, NAME[kind], text), f"column '{column}'", "missing from the header"
        )

    def _ragged(tmp, kind=_kind):
        lines = good_file(kind).splitlines()
        lines[3] += ",extra,fields"
        expect_error(
            kind,
            write(tmp, NAME[kind], "\n".join(lines) + "\n"),
            "line 4",
            "fields like the header",
        )

    case(_kind, "structure", "header_only")(_header_only)
    case(_kind, "structure", "missing_column")(_missing_column)
    case(_kind, "structure", "ragged_row")(_ragged)


@case("export", "structure", "file_does_not_exist")
def _(tmp):
    expect_error("export", tmp / "no_such_export.csv", "does not exist", "PERIOD_STARTS_FILE")


@case("fedcycle", "structure", "file_does_not_exist")
def _(tmp):
    err = expect_error("fedcycle", tmp / "no_such.csv", "does not exist", "FEDCYCLE_FILE")
    assert "PERIOD_STARTS_FILE" not in str(err) and "fedcycle_raw" in str(err)


@case("qa", "structure", "file_does_not_exist")
def _(tmp):
    err = expect_error("qa", tmp / "no_such.jsonl", "does not exist", "medquad_raw")
    assert "PERIOD_STARTS_FILE" not in str(err)


@case("qa", "structure", "cycle_ask_eval_file_does_not_exist")
def _(tmp):
    from cycle_kedro import ask  # noqa: PLC0415

    args = argparse.Namespace(eval=tmp / "no_such.jsonl", out=tmp / "out.csv", systems="base")
    with pytest.raises(DataValidationError) as info:
        ask._evaluate(args, None, {})
    assert "does not exist" in str(info.value) and "--eval" in str(info.value)
    assert "PERIOD_STARTS_FILE" not in str(info.value)


@case("fedcycle", "structure", "only_required_columns")
def _(tmp):
    """Another cohort in the FedCycle format: id, cycle number and length only (the rest optional)."""
    rows = [{c: r[c] for c in ("ClientID", "CycleNumber", "LengthofCycle")} for r in fed_rows()]
    cycles, report = run_fedcycle(
        write(tmp, NAME["fedcycle"], csv_text(["ClientID", "CycleNumber", "LengthofCycle"], rows))
    )
    assert len(cycles) == 10 and report["cycles"] == 10
    assert cycles[["ovulation_day", "luteal_length", "age", "bmi"]].isna().all().all()
    assert cycles["cycle_length"].tolist() == baseline("fedcycle", tmp)[0]["cycle_length"].tolist()


# ----------------------------------------------------------------------------- the test
class _warnings:
    """Collect cycle_kedro warnings (the run's report of a documented handling)."""

    def __enter__(self):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        logging.getLogger("cycle_kedro").addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        logging.getLogger("cycle_kedro").removeHandler(self.handler)

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.mark.parametrize("bad", CASES, ids=[f"{c.kind}-{c.klass}-{c.name}" for c in CASES])
def test_bad_input(bad: Case, tmp_path):
    bad.check(tmp_path)


def test_every_input_meets_every_class():
    """The matrix is complete: each input has cases in each class that applies to it."""
    have = {(c.kind, c.klass) for c in CASES}
    classes = {c.klass for c in CASES}
    not_applicable = {("qa", "date_format"), ("fedcycle", "date_format")}  # no dates there
    for kind in ("fedcycle", "qa", "export"):
        for klass in classes:
            assert (kind, klass) in have or (kind, klass) in not_applicable, (kind, klass)
