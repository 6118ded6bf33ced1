"""Ingestion nodes, one module per input (split by concern, STYLE rule 15).

* :mod:`.fedcycle` — the real FedCycle cycles: input contract, checks, repeated blocks, pseudonyms.
* :mod:`.medquad` — MedQuAD Q&A: length checks, whitespace, duplicates.
* :mod:`.synthetic` — the seeded synthetic steps/E2/P4 cohort (its model is in that docstring).
* :mod:`.mcphases` — mcPHASES (restricted data) in the synthetic cohort's shape.
* :mod:`.tables` — per-woman summaries and the per-cycle model input, for every cohort.
"""

from .fedcycle import clean_fedcycle
from .mcphases import build_mcphases_daily
from .medquad import clean_medquad
from .synthetic import generate_synthetic_cohort, summarise_synthetic_cycles
from .tables import build_model_input, summarise_women

__all__ = [
    "build_mcphases_daily",
    "build_model_input",
    "clean_fedcycle",
    "clean_medquad",
    "generate_synthetic_cohort",
    "summarise_synthetic_cycles",
    "summarise_women",
]
