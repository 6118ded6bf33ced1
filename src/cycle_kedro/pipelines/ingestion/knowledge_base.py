"""The women's-health knowledge base: the MedQuAD KB file plus the 122-pair file, one primary table.

Both files come from MedQuAD (CC BY 4.0). Each row keeps its MedQuAD document (``doc_id``, e.g.
``4_MPlus_Health_Topics_QA/0000917.xml``), source page ``url``, ``licence`` and ``citation``; the
document id is what the llm pipeline holds out by, so no document is both indexed and evaluated.
"""

from __future__ import annotations

import logging
import re

import pandas as pd

from cycle_kedro import schemas
from cycle_kedro.validation import DataValidationError
from cycle_kedro.validation.schema_checks import validate

logger = logging.getLogger(__name__)

KB_COLUMNS = [
    "doc_id", "question", "answer", "focus", "qtype", "collection", "url", "source",
    "origin", "licence", "citation",
]  # fmt: skip
_DOCUMENT = re.compile(r"\b(\d+_[A-Za-z_]+/[0-9_]+\.xml)\b")
_URL = re.compile(r"https?://\S+")


def document_of(source: str) -> str | None:
    """The MedQuAD XML file named in a ``source`` string (``None`` when it names none)."""
    match = _DOCUMENT.search(source or "")
    return match.group(1) if match else None


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for column in ("question", "answer", "focus"):
        out[column] = out[column].astype(str).str.replace(r"\s+", " ", regex=True).str.strip()
    out["question"] = out["question"].str.replace(r"\s*\?(\s*\?)+", "?", regex=True)
    out["question"] = out["question"].str.replace(r"\s+\?", "?", regex=True)
    return out


def _qa_documents(qa: pd.DataFrame) -> pd.DataFrame:
    """The 122-pair table with ``doc_id`` and ``url`` parsed from its ``source`` strings."""
    doc = qa["source"].map(document_of)
    if doc.isna().any():
        row = int(doc.isna().to_numpy().argmax())
        raise DataValidationError(
            f"medquad_qa: column 'source', row {row}: no MedQuAD document (NN_Name/NNNNNNN.xml) in "
            f"{qa['source'].iloc[row]!r}"
        )
    url = qa["url"] if "url" in qa else qa["source"].str.extract(_URL.pattern, expand=False)
    return qa.assign(doc_id=doc, url=url.fillna(""), origin="medquad_qa")


def build_knowledge_base(
    kb_raw: pd.DataFrame, medquad_qa: pd.DataFrame, licence: dict[str, str]
) -> pd.DataFrame:
    """Join the KB file (validated on load) and the cleaned 122 pairs into one knowledge-base table.

    Whitespace is collapsed, exact (question, answer) duplicates dropped, and every row gets the
    licence and citation. Raises :class:`DataValidationError` naming the row when the two files
    share a MedQuAD pair.
    """
    kb = _tidy(kb_raw).assign(doc_id=kb_raw["document"], origin="medquad_kb")
    qa = _qa_documents(medquad_qa)
    key = ["question", "answer"]
    both = kb.merge(qa[key], on=key, how="inner")
    if not both.empty:
        raise DataValidationError(
            f"medquad_kb: {len(both)} pair(s) also in medquad_qa, e.g. {both['question'].iloc[0]!r}"
        )
    df = pd.concat([qa, kb], ignore_index=True)
    before = len(df)
    df = df.drop_duplicates(subset=key).reset_index(drop=True)
    df["licence"] = licence["name"]
    df["citation"] = licence["citation"]
    logger.info(
        "Knowledge base: %d pairs (%d KB + %d QA), %d documents, %d duplicates dropped",
        len(df), len(kb), len(qa), df["doc_id"].nunique(), before - len(df),
    )  # fmt: skip
    return validate(df.reindex(columns=KB_COLUMNS), schemas.KNOWLEDGE_BASE, source="knowledge_base")
