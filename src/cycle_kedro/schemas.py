"""Pandera schemas for every raw and primary table (the project's data contract).

Primary tables shared by the pipelines:

* ``CYCLES`` — one row per cycle: ``woman_id`` (hashed), ``cycle_index`` (1, 2, ... in time order),
  ``cycle_length`` (days), optional ``luteal_length``, ``menses_length``, ``ovulation_day``,
  ``age``, ``bmi``, ``steps`` (mean daily steps in the cycle), ``e2``, ``p4`` (cycle means).
* ``DAILY`` — one row per woman-day: ``woman_id``, ``cycle_index``, ``cycle_day`` (1-based),
  ``phase``, ``steps``, ``e2``, ``p4``, ``age``, ``bmi``.
* ``QA`` — question/answer pairs with ``source``, ``focus`` and ``licence``.

Raw schemas (``FEDCYCLE_RAW``, ``MEDQUAD_RAW``, ``PERIOD_STARTS_RAW``) check structure and types
only: required columns, numbers where numbers belong, non-blank ids and text. Plausibility ranges
(a 1-day cycle, a start in 1900, a 5 MB answer) are parameters (``conf/base/parameters_*.yml``,
documented in ``conf/README.md``) applied by the first node of each input.
"""

import pandera.pandas as pa
from pandera.pandas import Check, Column

MAX_CYCLE_DAYS = 120
_cycle_len = Check.in_range(0, MAX_CYCLE_DAYS, include_min=False)
_hashed = Check.str_matches(r"^[0-9a-f]{12}$")
_not_blank = Check(
    lambda s: s.astype(str).str.strip().str.len() > 0, element_wise=False, name="not_blank"
)

# FedCycle format: id, cycle number and cycle length are required; every other column is optional.
FEDCYCLE_RAW = pa.DataFrameSchema(
    {
        "ClientID": Column(str, _not_blank),
        "CycleNumber": Column(float, coerce=True),
        "LengthofCycle": Column(float, coerce=True),
        "LengthofLutealPhase": Column(float, nullable=True, coerce=True, required=False),
        "LengthofMenses": Column(float, nullable=True, coerce=True, required=False),
        "EstimatedDayofOvulation": Column(float, nullable=True, coerce=True, required=False),
        "Age": Column(float, nullable=True, coerce=True, required=False),
        "BMI": Column(float, nullable=True, coerce=True, required=False),
        "Height": Column(float, nullable=True, coerce=True, required=False),
        "Weight": Column(float, nullable=True, coerce=True, required=False),
        "Group": Column(float, nullable=True, coerce=True, required=False),
    },
    strict=False,
    name="fedcycle_raw",
)

MEDQUAD_RAW = pa.DataFrameSchema(
    {
        "question": Column(str, _not_blank),
        "answer": Column(str, _not_blank),
        "source": Column(str, _not_blank),
        "focus": Column(str, nullable=True, required=False),
        "qtype": Column(str, nullable=True, required=False),
        "collection": Column(str, nullable=True, required=False),
        "url": Column(str, nullable=True, required=False),
    },
    strict=False,
    name="medquad_raw",
)

# A user's period-start export (``--env app_export``): two text columns; blanks, dates and ranges
# are checked by the first population node (so every engine and cohort gets the same checks).
PERIOD_STARTS_RAW = pa.DataFrameSchema(
    {"user_id": Column(nullable=True), "period_start": Column(nullable=True)},
    strict=False,
    name="period_starts_raw",
)

CYCLES = pa.DataFrameSchema(
    {
        "woman_id": Column(str, _hashed),
        "cycle_index": Column(int, Check.ge(1)),
        "cycle_length": Column(float, _cycle_len),
        "age": Column(float, Check.in_range(10, 60), nullable=True),
        "bmi": Column(float, Check.in_range(10, 80), nullable=True),
        "steps": Column(float, Check.ge(0), nullable=True),
        "e2": Column(float, Check.ge(0), nullable=True),
        "p4": Column(float, Check.ge(0), nullable=True),
    },
    unique=["woman_id", "cycle_index"],
    strict=False,
    name="cycles",
)

DAILY = pa.DataFrameSchema(
    {
        "woman_id": Column(str, _hashed),
        "cycle_index": Column(int, Check.ge(1)),
        "cycle_day": Column(int, Check.ge(1)),
        "phase": Column(
            str, Check.isin(["menstrual", "follicular", "ovulatory", "luteal"]), nullable=True
        ),
        "steps": Column(float, Check.ge(0), nullable=True),
        "e2": Column(float, Check.ge(0), nullable=True),
        "p4": Column(float, Check.ge(0), nullable=True),
        "age": Column(float, nullable=True),
        "bmi": Column(float, nullable=True),
    },
    strict=False,
    name="daily",
)

QA = pa.DataFrameSchema(
    {
        "question": Column(str, Check.str_length(min_value=1)),
        "answer": Column(str, Check.str_length(min_value=1)),
        "source": Column(str),
        "focus": Column(str, nullable=True),
        "licence": Column(str),
    },
    unique=["question", "answer"],
    strict=False,
    name="qa",
)

# Knowledge base: MedQuAD women's-health pairs, one MedQuAD document per `document`.
KNOWLEDGE_BASE_RAW = pa.DataFrameSchema(
    {
        "question": Column(str, Check.str_length(min_value=1)),
        "answer": Column(str, Check.str_length(min_value=1)),
        "source": Column(str, Check.str_length(min_value=1)),
        "focus": Column(str, Check.str_length(min_value=1)),
        "qtype": Column(str, nullable=True),
        "collection": Column(str),
        "url": Column(str, Check.str_startswith("http")),
        "document": Column(str, Check.str_matches(r"^\d+_[A-Za-z_]+/[0-9_]+\.xml$")),
    },
    strict=False,
    name="medquad_kb_raw",
)

KNOWLEDGE_BASE = pa.DataFrameSchema(
    {
        "doc_id": Column(str, Check.str_matches(r"^\d+_[A-Za-z_]+/[0-9_]+\.xml$")),
        "question": Column(str, Check.str_length(min_value=1)),
        "answer": Column(str, Check.str_length(min_value=1)),
        "focus": Column(str, Check.str_length(min_value=1)),
        "qtype": Column(str, nullable=True),
        "url": Column(str, Check.str_startswith("http")),
        "origin": Column(str, Check.isin(["medquad_qa", "medquad_kb"])),
        "licence": Column(str),
        "citation": Column(str),
    },
    unique=["question", "answer"],
    strict=False,
    name="knowledge_base",
)

# Our consumer-worded dev questions (data/01_raw/consumer_questions): a covered question names the
# knowledge-base document (doc_id, url) and the passage of its answer (answer) that answers it; an
# uncovered one (covered false) asks what the knowledge base does not hold.
CONSUMER_QUESTIONS = pa.DataFrameSchema(
    {
        "question": Column(str, _not_blank),
        "covered": Column(bool),
        "answer": Column(str, nullable=True),
        "doc_id": Column(str, Check.str_matches(r"^\d+_[A-Za-z_]+/[0-9_]+\.xml$"), nullable=True),
        "url": Column(str, Check.str_startswith("http"), nullable=True),
        "focus": Column(str, nullable=True),
        "qtype": Column(str, nullable=True),
    },
    checks=[
        Check(
            lambda d: ~d["covered"] | (d["answer"].notna() & d["doc_id"].notna() & d["url"].notna()),
            element_wise=False,
            name="covered_question_names_its_passage_document_and_url",
        )
    ],
    unique=["question"],
    strict=False,
    name="consumer_questions",
)

# A user's Q&A file for `cycle-ask --eval`: question, answer, optional source (URL or MedQuAD id), focus.
USER_QA = pa.DataFrameSchema(
    {
        "question": Column(str, Check.str_length(min_value=1)),
        "answer": Column(str, nullable=True, required=False),
        "source": Column(str, nullable=True, required=False),
        "focus": Column(str, nullable=True, required=False),
    },
    strict=False,
    name="user_qa",
)
