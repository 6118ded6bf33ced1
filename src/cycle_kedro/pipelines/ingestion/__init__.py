"""The 'ingestion' pipeline: raw files -> validated, cleaned primary and model-input tables.

Node modules, one per input (split by concern, STYLE rule 15):

* :mod:`.fedcycle` — the real FedCycle cycles: input contract, checks, repeated blocks, pseudonyms.
* :mod:`.medquad` — MedQuAD Q&A: length checks, whitespace, duplicates.
* :mod:`.knowledge_base` — the MedQuAD knowledge base joined with the cleaned Q&A.
* :mod:`.synthetic` — the seeded synthetic steps/E2/P4 cohort and its variants (model in that docstring);
  :mod:`.synthetic_effects` — the optional planted effects on its cycle lengths.
* :mod:`.mcphases` — mcPHASES (restricted data) in the synthetic cohort's shape.
* :mod:`.tables` — per-woman summaries and the per-cycle model input, for every cohort.
"""

from .pipeline import create_mcphases_pipeline, create_pipeline

__all__ = ["create_mcphases_pipeline", "create_pipeline"]
