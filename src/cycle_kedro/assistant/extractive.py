"""The extractive system: the passage sentences that best answer the question, copied as they are.

Every sentence of the retrieved passages is scored by the share of the question's content words
(by stem, :func:`~cycle_kedro.assistant.gating.content_stems`) it holds, plus a bonus when it has a
cue word of the question's type (a symptoms question wants "signs", "symptoms", "include"; a causes
question "cause", "because" ...) and a small bonus for the first sentence of the top passage (NIH
answers open with their definition). The best sentences, up to ``max_sentences`` and
``max_words``, are returned in passage order. Deterministic; nothing is generated, so every word
is in the sources.
"""

from __future__ import annotations

import re
from typing import Any

from .gating import content_stems, stem
from .retrieval import split_sentences

# question type -> (words of the question that ask it, words of the sentences that answer it). Kept apart from
# question_types._RULES on purpose: looser patterns, several types per question, answer cue words (folding changes the answers).
QUESTION_TYPES = {
    "symptoms": (r"symptom|sign|feel|notice|look out|warning|swell|itch|pain|ache|bleed|spot",
                 "symptoms signs include feel pain swelling"),
    "causes": (r"cause|why|reason|what makes|trigger|how do(es)? .* get",
               "cause because due result happens trigger factors related"),
    "treatment": (r"treat|cure|medicine|medication|drug|therap|what helps|help with|give you",
                  "treatment medicines therapy help surgery drugs cure relieve"),
    "prevention": (r"prevent|avoid|stop .* getting|lower .* risk", "prevent avoid reduce lower"),
    "susceptibility": (r"risk|who gets|more likely|chance|more common in",
                       "risk likely chance higher women common"),
    "diagnosis": (r"test|diagnos|check|screen|find out|how do (i|you|they) know",
                  "test diagnose exam check screening blood"),
    "frequency": (r"how common|how many|how often|how likely", "common percent affects occurs"),
    "information": (r"^(what|what's|whats) (is|are)|what does .* mean|mean\b",
                    "called means condition disease disorder problem"),
}  # fmt: skip
QUESTION_TYPE_CUES = {
    name: (pattern, {stem(w) for w in words.split()})
    for name, (pattern, words) in QUESTION_TYPES.items()
}


def question_types(question: str) -> list[str]:
    """The question types whose asking words occur in ``question`` (lower-cased); ``information`` only alone."""
    q = question.lower()
    found = [name for name, (pattern, _) in QUESTION_TYPE_CUES.items() if re.search(pattern, q)]
    return [t for t in found if t != "information"] or found


def extract_answer(question: str, passages: list[dict[str, str]], options: dict[str, Any]) -> str:
    """The best-answering sentences of ``passages`` (ranked as retrieved), in passage order.

    ``options``: ``max_sentences``, ``max_words``, ``cue_weight`` (bonus for a type cue word) and
    ``lead_weight`` (bonus for the top passage's first sentence). "" without passages.
    """
    wanted = set(content_stems(question))
    cues = set().union(*(QUESTION_TYPE_CUES[t][1] for t in question_types(question)))
    candidates = []
    for rank, p in enumerate(passages):
        for position, sentence in enumerate(split_sentences(p["text"])):
            held = set(content_stems(sentence))
            score = len(wanted & held) / max(len(wanted), 1)
            score += options["cue_weight"] * bool(cues & held)
            score += options["lead_weight"] * (rank == 0 and position == 0)
            candidates.append((score, rank, position, sentence))
    chosen, words = [], 0
    for score, rank, position, sentence in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        n = len(sentence.split())
        if len(chosen) == options["max_sentences"] or (chosen and words + n > options["max_words"]):
            break
        chosen.append((rank, position, sentence))
        words += n
    return " ".join(s for _, _, s in sorted(chosen))
