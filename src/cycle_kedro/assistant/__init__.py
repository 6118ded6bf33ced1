"""The women's-health assistant's library: retrieval, models, prompts, safety, metrics (no Kedro in here).

The llm pipeline's nodes, the datasets, ``cycle-ask`` and a served model import from here, never
from each other. Modules:

* :mod:`.systems` — the seven systems (:data:`SYSTEMS`), which model each uses, the models they need.
* :mod:`.answering` — :func:`answer`: one question, as ``cycle-ask`` answers it (retrieval, the
  gate, generation, safety pass, cited sources); ``finish_answer``, shared with the evaluation.
* :mod:`.evaluation` — many questions with several systems, scored: :func:`run_systems` and its
  steps (question table, answers, safety pass and scores, summaries with paired bootstrap CIs).
* :mod:`.retrieval` — passages, the sentence encoder, BM25, the hybrid index, retrieved contexts.
* :mod:`.modeling` — chat format, answer-masked encoding, the LoRA training loop, scoring + decoding.
* :mod:`.adapter` — the LoRA adapter in memory and its attachment to a base model.
* :mod:`.prompting` — sources blocks, RAFT examples, citations, abstention.
* :mod:`.safety` — invented numbers and contacts and unsupported sentences flagged, the rule
  applied, the clinician pointer.
* :mod:`.metrics` — BLEU, ROUGE-L, BERTScore; Recall, K-Precision, sentence support (Adlakha et al.).
* :mod:`.gating` — the retrieval-confidence scores (:func:`~.gating.with_confidence`, the one place
  they are computed), the gate, the "not covered" answer, the answered-vs-faithful trade-off.
* :mod:`.extractive` — the extractive system: the passage sentences that best answer the question.
* :mod:`.selection` — the rules fixed on the dev set: the gating score and threshold, the default system.
* :mod:`.topics` — embedding topics of the questions and the held-out split by document and focus.
* :mod:`.corpus` — checks on forecast tables.

To answer one question (``cycle-ask``, a served model)::

    models = system_models(base_model, adapter, [system])  # once: {"base": ..., "lora": ...}
    answer(
        question,
        system,
        model=models.get(model_of(system)),
        tokenizer=tokenizer,
        index=index,
        encoder=encoder,
        params=llm_params,
        options=llm_params["ask"],
    )

Heavy libraries (torch, transformers, peft, sklearn, sacrebleu) are imported inside the functions
that use them.
"""

from .answering import answer
from .evaluation import run_systems
from .systems import SYSTEMS, model_of, system_models

__all__ = ["SYSTEMS", "answer", "model_of", "run_systems", "system_models"]
