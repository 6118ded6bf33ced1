"""MedQuAD women's-health Q&A: checked (lengths from parameters), whitespace-normalised, de-duplicated.

Input contract (``medquad_raw``, JSON Lines, UTF-8 with or without BOM): one object per line with
non-blank text ``question``, ``answer`` and ``source`` (optional ``focus``, ``qtype``,
``collection``, ``url``). Questions and answers longer than ``medquad_checks.max_question_chars``
/ ``max_answer_chars`` are an error. Exact duplicates (after whitespace normalisation) are dropped
and the run logs how many.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from cycle_kedro import schemas
from cycle_kedro.validation.file_lines import clear_attrs, source_of
from cycle_kedro.validation.plausibility import raise_rows
from cycle_kedro.validation.schema_checks import validate

logger = logging.getLogger(__name__)

_COLUMNS = [
    "question",
    "answer",
    "source",
    "focus",
    "qtype",
    "collection",
    "url",
    "licence",
    "citation",
]


def clean_medquad(
    raw: pd.DataFrame, licence: dict[str, str], checks: dict[str, Any]
) -> pd.DataFrame:
    """Check lengths, normalise whitespace and doubled question marks, drop duplicate pairs.

    Args:
        raw: the raw Q&A table as loaded by its reader.
        licence: ``name`` and ``citation`` stored on every row.
        checks: ``max_question_chars`` and ``max_answer_chars`` (``params:medquad_checks``).
    """
    source = source_of(raw, "medquad_raw")
    for column in ("question", "answer"):
        limit = int(checks[f"max_{column}_chars"])
        raise_rows(
            raw,
            raw[column].str.len() > limit,
            source,
            column=column,
            detail="implausibly long",
            expected=f"at most {limit:,} characters",
            hint=f"fix the line, or raise medquad_checks.max_{column}_chars in parameters",
        )
    df = clear_attrs(raw.copy())
    for column in ("question", "answer"):
        df[column] = df[column].str.replace(r"\s+", " ", regex=True).str.strip()
    df["question"] = (
        df["question"]
        .str.replace(r"\s*\?(\s*\?)+", "?", regex=True)
        .str.replace(r"\s+\?", "?", regex=True)
    )
    before = len(df)
    df = df.drop_duplicates(subset=["question", "answer"]).reset_index(drop=True)
    if before > len(df):
        logger.warning("%s: %d duplicate Q&A pair(s) dropped", source, before - len(df))
    logger.info("MedQuAD: %d pairs, %d duplicates dropped", len(df), before - len(df))
    df["licence"] = licence["name"]
    df["citation"] = licence["citation"]
    for column in ("focus", "qtype", "collection", "url"):
        if column not in df:
            df[column] = None
    return validate(df[_COLUMNS], schemas.QA, source="medquad_qa")
