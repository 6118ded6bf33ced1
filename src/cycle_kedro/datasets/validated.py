"""Readers that check what they load, so every error names the file, the line and the column.

Every reader decodes the file itself before parsing (:func:`read_text`): a UTF-8 BOM is accepted
by all of them alike; UTF-16/32, other encodings (Latin-1, Windows-1252), binary and compressed
files fail with the file, the line and "save it as UTF-8" (or "decompress it first"), never with a
codec error inside the dataset's repr. CSV readers also name a wrong delimiter (``;``, tab, ``|``),
a repeated header line inside the data, and rows with too many fields.

Each loaded table carries ``attrs`` with its ``source`` (the path) and the information to map a
data row to its file line (:func:`cycle_kedro.validation.file_lines.file_line`), so checks done later in the
first node (plausibility ranges from parameters) still name the file and line.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from kedro_datasets.pandas import CSVDataset

from cycle_kedro.validation import DataValidationError, Problem
from cycle_kedro.validation.messages import truncate
from cycle_kedro.validation.schema_checks import validate

_MAGIC = [
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (gunzip FILE)"),
    (
        b"PK\x03\x04",
        "a zip archive (or an .xlsx workbook)",
        "extract the CSV / JSONL file first, or export it as CSV UTF-8",
    ),
    (b"BZh", "bzip2-compressed", "decompress it first (bunzip2 FILE)"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first (unxz FILE)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it first (unzstd FILE)"),
    (b"%PDF", "a PDF document", "export the data as CSV UTF-8"),
    (b"PAR1", "a Parquet file", "convert it to CSV UTF-8"),
]
_UTF16_32 = [
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
]


def _save_as_utf8(encoding: str) -> str:
    """The hint for a file in ``encoding`` (as ``iconv -f`` spells it)."""
    return f"save the file as UTF-8 (in Excel: 'CSV UTF-8'; or `iconv -f {encoding} -t UTF-8`)"


_DELIMITERS = {",": "comma ','", ";": "semicolon ';'", "\t": "tab", "|": "pipe '|'"}


def _schema(path: str):
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _line_of(data: bytes, position: int) -> tuple[int, int]:
    """1-based line and column of byte ``position``."""
    line = data.count(b"\n", 0, position) + 1
    return line, position - (data.rfind(b"\n", 0, position) + 1) + 1


def _utf16_without_bom(data: bytes) -> str:
    """``UTF-16LE`` / ``UTF-16BE`` when every other byte is NUL (ASCII text in UTF-16), else ``""``."""
    if data[1::2].count(b"\x00") > len(data) // 4:
        return "UTF-16LE"
    if data[0::2].count(b"\x00") > len(data) // 4:
        return "UTF-16BE"
    return ""


def read_text(
    filepath: str | PurePosixPath, source: str | None = None, missing_hint: str | None = None
) -> str:
    """Read a text file as UTF-8 (an optional BOM is dropped); clear errors for anything else.

    ``missing_hint`` says where the path comes from (the dataset's conf entry or variable).
    """
    source = source or str(filepath)
    path = Path(str(filepath))
    if not path.exists():
        raise DataValidationError(
            source=source, summary="the file does not exist", hint=missing_hint or "check the path"
        )
    if path.is_dir():
        raise DataValidationError(source=source, summary="is a folder, not a file")
    data = path.read_bytes()
    if not data.strip():
        raise DataValidationError(
            source=source,
            summary="the file is empty (no header, no rows)",
            hint="is this the right file?",
        )
    for magic, what, hint in _MAGIC:
        if data.startswith(magic):
            raise DataValidationError(
                source=source, summary=f"the file is {what}, not text", hint=hint
            )
    for bom, name in _UTF16_32:
        if data.startswith(bom):
            raise DataValidationError(
                source=source, summary=f"the file is {name} text", hint=_save_as_utf8(name)
            )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_of(data, nul)
        utf16 = _utf16_without_bom(data)
        raise DataValidationError(
            source=source,
            line=line,
            detail=(
                "NUL bytes: the file looks like UTF-16 text without a byte-order mark"
                if utf16
                else f"binary data (a NUL byte at column {col}): this is not a text file"
            ),
            hint=_save_as_utf8(utf16) if utf16 else "export the data as CSV UTF-8 / JSON Lines",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_of(data, exc.start)
        bad = data[exc.start : exc.start + 1]
        latin = exc.start and 0x80 <= bad[0]
        guess = "Latin-1 / Windows-1252" if latin else "another encoding"
        raise DataValidationError(
            source=source,
            line=line,
            detail=f"byte 0x{bad.hex().upper()} at column {col} is not UTF-8 (the file looks like {guess})",
            expected="UTF-8 text",
            hint=_save_as_utf8("LATIN1" if latin else "YOUR-ENCODING"),
        ) from None


def _breaks(text: str, sep: str, header_lines: int) -> list[list[int]]:
    """``[[row, line], ...]`` where the file line of a data row stops being ``row + header + 1``."""
    if "\n\n" not in text.replace("\r", "") and '"' not in text:
        return []
    starts, end = [], 0
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))  # a 5 MB cell is an error later, not here
    try:
        reader = csv.reader(io.StringIO(text), delimiter=sep)
        for record in reader:
            start, end = end + 1, reader.line_num
            if record:
                starts.append(start)
    except csv.Error:
        return []
    finally:
        csv.field_size_limit(limit)
    starts = starts[header_lines:]
    out, expected = [], header_lines + 1
    for row, line in enumerate(starts):
        if line != expected:
            out.append([row, line])
        expected = line + 1
    return out


def _check_delimiter(header: str, sep: str, required: list[str], source: str) -> None:
    fields = [f.strip().strip('"') for f in header.split(sep)]
    if all(name in fields for name in required):
        return
    for other, name in _DELIMITERS.items():
        if other == sep:
            continue
        others = [f.strip().strip('"') for f in header.split(other)]
        if len(others) > 1 and (len(fields) == 1 or all(c in others for c in required)):
            raise DataValidationError(
                source=source,
                line=1,
                value=header,
                detail=f"the header is separated by {name}",
                expected=f"{_DELIMITERS.get(sep, repr(sep))}-separated columns "
                + ", ".join(map(repr, required[:4]))
                + (", ..." if len(required) > 4 else ""),
                hint=f"save the file with {_DELIMITERS.get(sep, repr(sep))} as the delimiter "
                "(in a spreadsheet: 'CSV UTF-8 (comma delimited)')",
            )


def _repeated_header(df: pd.DataFrame, source: str, header_lines: int, breaks: list) -> None:
    if len(df.columns) < 2 or df.empty:
        return
    text_columns = [c for c in df.columns if df[c].dtype == object]
    if not text_columns:
        return
    hits = sum(df[c].astype(str).str.strip().eq(str(c)).to_numpy() for c in text_columns)
    need = max(2, len(df.columns) // 2) if len(df.columns) > 2 else 2
    rows = [int(i) for i in (hits >= min(need, len(text_columns))).nonzero()[0]]
    if not rows:
        return
    probe = pd.DataFrame(index=range(1))
    probe.attrs = {"header_lines": header_lines, "line_breaks": breaks}
    from cycle_kedro.validation.file_lines import file_line  # noqa: PLC0415

    problems = [
        Problem(row=r, line=file_line(probe, r), detail="this line repeats the header row")
        for r in rows[:5]
    ]
    raise DataValidationError(
        source=source,
        problems=problems,
        n_problems=len(rows),
        hint="remove the repeated header line(s) (were two files pasted together?)",
    )


class ValidatedCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` that decodes, sniffs and checks the file against a pandera schema.

    ``schema`` is a dotted path such as ``cycle_kedro.schemas.FEDCYCLE_RAW``. The file must be
    UTF-8 (a BOM is fine); ``load_args`` are passed to ``pandas.read_csv`` (``encoding`` is ignored).
    """

    def __init__(self, *, schema: str, missing_hint: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._schema_path = schema
        self._missing_hint = missing_hint

    def load(self) -> pd.DataFrame:
        source = str(self._filepath)
        schema = _schema(self._schema_path)
        args = {k: v for k, v in self._load_args.items() if k != "encoding"}
        sep = args.get("sep", args.get("delimiter", ","))
        text = read_text(self._get_load_path(), source, self._missing_hint)
        header = text.splitlines()[0] if text else ""
        required = [name for name, col in schema.columns.items() if col.required]
        _check_delimiter(header, sep, required, source)
        try:
            df = pd.read_csv(io.StringIO(text), **args)
        except pd.errors.EmptyDataError:
            raise DataValidationError(
                source=source, summary="the file is empty (no header, no rows)"
            ) from None
        except pd.errors.ParserError as exc:
            raise _parser_error(exc, source) from None
        breaks = _breaks(text, sep, 1)
        _repeated_header(df, source, 1, breaks)
        df.attrs = {"source": source, "header_lines": 1, "line_breaks": breaks}
        return validate(df, schema, source=source, header_lines=1)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "schema": self._schema_path}


def _parser_error(exc: Exception, source: str) -> DataValidationError:
    msg = str(exc)
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if match:
        expected, line, saw = (int(g) for g in match.groups())
        return DataValidationError(
            source=source,
            line=line,
            detail=f"has {saw} fields",
            expected=f"{expected} fields like the header",
            hint="put text that contains the delimiter in double quotes",
        )
    return DataValidationError(
        source=source, summary=f"cannot be parsed as CSV: {truncate(msg, 120)}"
    )


class ValidatedJSONLinesDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """JSON Lines file (one object per line, UTF-8, BOM accepted): a bad line names file and line."""

    def __init__(
        self,
        *,
        filepath: str,
        schema: str,
        missing_hint: str | None = None,
        metadata: dict | None = None,
    ) -> None:
        self._filepath = PurePosixPath(filepath)
        self._schema_path = schema
        self._missing_hint = missing_hint
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        source = str(self._filepath)
        text = read_text(self._filepath, source, self._missing_hint)
        if text.lstrip().startswith("["):
            raise DataValidationError(
                source=source,
                line=1,
                detail="the file is one JSON array",
                expected="JSON Lines: one JSON object per line",
                hint="write each record on its own line (e.g. `jq -c '.[]' FILE`)",
            )
        records, lines = [], []
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                looks_csv = line_no == 1 and "{" not in line and ("," in line or ";" in line)
                raise DataValidationError(
                    source=source,
                    row=len(records),
                    line=line_no,
                    value=line,
                    detail=f"not valid JSON ({exc.msg} at character {exc.pos + 1})",
                    expected="one JSON object per line",
                    hint="the file looks like CSV, not JSON Lines"
                    if looks_csv
                    else "a repeated or broken line? each line must be a whole JSON object",
                ) from None
            if not isinstance(record, dict):
                raise DataValidationError(
                    source=source,
                    row=len(records),
                    line=line_no,
                    value=line,
                    detail=f"a JSON {type(record).__name__}, not an object",
                    expected='an object such as {"question": ..., "answer": ..., "source": ...}',
                )
            records.append(record)
            lines.append(line_no)
        if not records:
            raise DataValidationError(source=source, summary="the file is empty (no JSON records)")
        df = pd.DataFrame(records)
        breaks = [[r, ln] for r, ln in enumerate(lines) if ln != (lines[r - 1] + 1 if r else 1)]
        df.attrs = {"source": source, "header_lines": 0, "line_breaks": breaks}
        schema = _schema(self._schema_path)
        _check_text_fields(df, schema, source)
        return validate(df, schema, source=source, header_lines=0)

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(f"{self._filepath} is read-only raw data")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "schema": self._schema_path}


def _check_text_fields(df: pd.DataFrame, schema, source: str) -> None:
    """Text columns of the schema hold text (not numbers, lists or objects)."""
    from cycle_kedro.validation.plausibility import raise_rows  # noqa: PLC0415

    for name, column in schema.columns.items():
        if name not in df or str(column.dtype) != "str":
            continue
        values = df[name]
        bad = values.notna() & ~values.map(lambda v: isinstance(v, str))
        raise_rows(df, bad, source, column=name, detail="not text", expected="a JSON string")


class ReadOnlyCSVDataset(ValidatedCSVDataset):
    """A user's own export: decoded and checked like every reader, never written over."""

    def __init__(
        self,
        *,
        schema: str = "cycle_kedro.schemas.PERIOD_STARTS_RAW",
        missing_hint: str = "check the path in PERIOD_STARTS_FILE=/path/to/export.csv",
        **kwargs: Any,
    ):
        super().__init__(schema=schema, missing_hint=missing_hint, **kwargs)

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(
            f"{self._filepath} is your own data and is never overwritten. With the app_export env run "
            "`kedro run --pipeline=population --env app_export --namespaces=population.app`, "
            "which does not run the synthetic generator."
        )
