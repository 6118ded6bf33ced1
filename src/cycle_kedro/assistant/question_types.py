"""MedQuAD question types: what a question asks about (symptoms, causes, treatment, risk, ...).

MedQuAD (Ben Abacha & Demner-Fushman 2019) labels every question pair with a type (``qtype``);
the knowledge base keeps it, so a passage's type is its row's ``qtype``. A question typed by a
user has none: :func:`question_type` reads it from the wording, by ordered keyword rules that
cover MedQuAD's templates ("What are the treatments for X?") and plain consumer wording ("how do
I get rid of", "am I likely to get", "does it run in families"). The rule that matches first in
the question wins (its frame comes before the focus's words); a question that matches none has no type (``""``) and gets no type boost in ranking.

:data:`TYPES` are MedQuAD's type names as the knowledge base spells them; :data:`CONSUMER_TEMPLATES`
rewrite a knowledge-base question of a type the way people ask it (training pairs for the
retriever, see :mod:`~cycle_kedro.assistant.retriever_training`); :func:`expand_lay_terms` adds the
knowledge base's words for plain ones ("womb" -> "uterus uterine", :data:`LAY_TERMS`).
"""

from __future__ import annotations

import re

import pandas as pd

TYPES = (
    "information", "symptoms", "causes", "treatment", "susceptibility", "prevention",
    "exams and tests", "outlook", "stages", "complications", "frequency", "genetic changes",
    "inheritance", "considerations", "research",
)  # fmt: skip

# (type, pattern): the rule whose match starts first wins (a question's frame, "What are the
# treatments for ...", comes before a focus such as "hereditary angioedema"); ties go to the earlier rule
_RULES = [
    (
        "research",
        r"\bresearch\b|clinical trials?|\bstud(y|ies)\b|\bscientists?\b|\bnew (drugs?|treatments?)\b",
    ),
    ("genetic changes", r"genetic changes?|\bgenes?\b|\bmutations?\b|\bdna\b|\bchromosomes?\b"),
    (
        "inheritance",
        r"\binherit|\bhereditary\b|runs? in (the |my )?famil|\bpass(ed)? (it |\w+ )?(on|down|to my)\b"
        r"|\bfrom (my )?(mother|mom|parents)\b",
    ),
    (
        "frequency",
        r"how (many|common)|how often do (people|women)|\bis [\w' -]+ (rare|common)\b|\bprevalen",
    ),
    ("stages", r"\bstages?\b|\bstaging\b|\bhow (advanced|far along|bad can)\b|\bspread\b"),
    (
        "complications",
        r"\bcomplications?\b|\blead to\b|\bcause (other )?problems\b|\bwhat happens if\b",
    ),
    (
        "prevention",
        r"\bprevent|\bavoid\b|\b(lower|reduce) (my|the) (risk|chance)|\bstop [\w' -]+ before\b"
        r"|\bprotect (myself|me)\b",
    ),
    (
        "susceptibility",
        r"\bat risk\b|\brisk factors?\b|\bwho (usually |typically |often )?(gets|is likely|can get)\b"
        r"|\bam i (likely|at|more)\b|\bwhat makes [\w' -]+ (more )?likely\b|\blikely to (get|have|develop)\b"
        r"|\bchances? of (getting|having)\b|\bsusceptib",
    ),
    (
        "outlook",
        r"\boutlook\b|\bprognosis\b|\bsurviv|\blife expectancy\b|\bcan (you|i|it) (die|kill)"
        r"|\bgo away\b|\bget better\b|\brecover|\bwill i be (ok|okay|fine)\b|\bcurable\b|\bfatal\b",
    ),
    (
        "exams and tests",
        r"\bdiagnos|\btests?\b|\bexams?\b|\bscreen|\bcheck(ed)? for\b|\bfind out if\b"
        r"|\bhow (does|can|would|do) (a doctor|doctors|the doctor) (know|tell)\b|\bconfirm\b",
    ),
    (
        "treatment",
        r"\btreat|\bcure\b|\btherap|\bmedicat|\bmedicine\b|\bdrugs?\b|\bsurgery\b|\bget rid of\b"
        r"|\bhelp with\b|\bwhat can i (do|take)\b|\bremed|\brelie(f|ve)\b|\bmanage\b",
    ),
    (
        "considerations",
        r"\bwhat to do for\b|\bdiet\b|\beat\b|\bnutrition\b|\bexercise\b|\blifestyle\b"
        r"|\bday to day\b|\blive with\b|\bliving with\b",
    ),
    (
        "causes",
        r"\bcaus|\bwhy (do|does|did|am|is|are|would)\b|\breasons?\b|\btrigger|\bwhat makes\b"
        r"|\bend up with\b|\bhow (do|does) (you|one|someone|a woman) get\b|\bwhere does [\w' -]+ come from\b",
    ),
    (
        "symptoms",
        r"\bsymptoms?\b|\bsigns?\b|\bfeel like\b|\bhow do i know if\b|\bwhat does [\w' -]+ look like\b"
        r"|\bwarning\b",
    ),
    (
        "information",
        r"^\s*what (is|are) \(are\)|information about\b|\btell me about\b|\bexplain\b"
        r"|\bwhat does [\w' -]+ mean\b|\bmeaning of\b|\bdefin|\bwhat is that\b",
    ),
]
# a bare "What is X?" / "What are X?" asks for the overview, when no rule above matches
_OVERVIEW = re.compile(r"^\s*what (is|are) (an? |the )?[\w' ,-]+\?*\s*$", re.IGNORECASE)
_COMPILED = [(t, re.compile(p, re.IGNORECASE)) for t, p in _RULES]

#: consumer rewrites of a knowledge-base question, by type (``{focus}``: the row's focus, lower case)
CONSUMER_TEMPLATES = {
    "information": ["what is {focus} exactly?", "can you explain {focus} in simple words",
                    "my doctor said i might have {focus}, what is that?"],
    "symptoms": ["how do i know if i have {focus}?", "what does {focus} feel like?",
                 "what signs should i look for with {focus}"],
    "causes": ["why do people get {focus}?", "what triggers {focus}?", "how does someone end up with {focus}"],
    "treatment": ["how do i get rid of {focus}?", "what can i take for {focus}?", "is there a cure for {focus}"],
    "susceptibility": ["am i likely to get {focus}?", "who usually gets {focus}?",
                       "what makes {focus} more likely"],
    "prevention": ["can i avoid getting {focus}?", "how do i lower my chance of {focus}",
                   "is there a way to stop {focus} before it starts"],
    "exams and tests": ["how will my doctor check for {focus}?", "what test shows {focus}?",
                        "how can i find out if i have {focus}"],
    "outlook": ["will i get better from {focus}?", "can you die from {focus}?", "does {focus} go away"],
    "stages": ["how bad can {focus} get?", "what do the stages of {focus} mean", "how far has my {focus} spread"],
    "complications": ["what problems can {focus} lead to?", "can {focus} cause other problems",
                      "what happens if {focus} is not treated"],
    "frequency": ["how common is {focus}?", "is {focus} rare?", "how many women have {focus}"],
    "genetic changes": ["which gene is behind {focus}?", "is there a gene mutation behind {focus}?",
                        "what dna change causes {focus}"],
    "inheritance": ["can i pass {focus} to my kids?", "does {focus} run in families?",
                    "did i get {focus} from my parents"],
    "considerations": ["what should i eat with {focus}?", "what should i do day to day with {focus}",
                       "how do i live with {focus}"],
    "research": ["are there new studies on {focus}?", "any clinical trials for {focus} i could join",
                 "what are scientists finding out about {focus}"],
}  # fmt: skip


def question_type(question: str) -> str:
    """The MedQuAD type a question asks about (one of :data:`TYPES`), ``""`` when no rule matches."""
    text = " ".join(str(question).split())
    found = [(m.start(), i) for i, (_, p) in enumerate(_COMPILED) if (m := p.search(text))]
    if found:
        return _COMPILED[min(found)[1]][0]
    return "information" if _OVERVIEW.search(text) else ""


def question_types(questions: pd.Series | list[str]) -> list[str]:
    """:func:`question_type` of every question."""
    return [question_type(q) for q in questions]


def passage_type(qtype: object) -> str:
    """A knowledge-base row's type (its ``qtype``, lower case), ``""`` when it has none."""
    return str(qtype).strip().lower() if isinstance(qtype, str) else ""


def consumer_rewrites(focus: str, qtype: str) -> list[str]:
    """The :data:`CONSUMER_TEMPLATES` of ``qtype`` filled with ``focus`` (none for an unknown type)."""
    name = re.sub(r"\s*\(.*?\)\s*", " ", str(focus)).strip().lower()
    return [t.format(focus=name) for t in CONSUMER_TEMPLATES.get(passage_type(qtype), [])]


# Plain words people type -> the knowledge base's words, in the spirit of the Consumer Health
# Vocabulary (Zeng & Tse 2006): a question that says "womb" or "pee" also searches "uterus" and
# "urinary". Used on the BM25 side only (the dense encoder reads the question as written).
LAY_TERMS = {
    r"\bpee(ing)?\b|\bwee\b": "urine urinary bladder",
    r"\bleak(ing|s)?\b": "incontinence leakage",
    r"\bwomb\b": "uterus uterine",
    r"\bperiods?\b": "menstruation menstrual",
    r"\bprivate parts?\b|\bdown there\b": "genital vaginal vulvar",
    r"\bboobs?\b": "breast",
    r"\btummy\b|\bbelly\b": "abdominal abdomen",
    r"\blost (the|my|a) (pregnancy|baby)\b": "miscarriage pregnancy loss",
    r"\bexpecting\b|\bpregnant\b": "pregnancy",
    r"\bbaby was born\b|\bgave birth\b|\bafter (the )?birth\b|\bhad (my|a) baby\b": "postpartum childbirth",
    r"\bsugar\b": "glucose diabetes",
    r"\bblood pressure\b|\bbp\b": "blood pressure hypertension",
    r"\bheart (races|racing|pounding)\b": "palpitations rapid heartbeat",
    r"\btired\b|\bexhausted\b|\bno energy\b": "fatigue",
    r"\bsad\b|\bhopeless\b|\bfeel(ing)? down\b": "depression",
    r"\bhot (flash|flush)(es)?\b|\bnight sweats\b": "hot flashes menopause",
    r"\bthe change\b": "menopause",
    r"\b(get|getting) pregnant\b|\btrying for a baby\b": "infertility conceive pregnancy",
    r"\bgrowths?\b": "tumors fibroids",
    r"\bnon-?cancerous\b": "benign",
    r"\bitch(y|ing)?\b": "itching",
    r"\bdischarge\b": "vaginal discharge",
    r"\bsores?\b|\bblisters?\b": "sores blisters",
    r"\b(thin|weak|brittle) bones\b|\bbones [\w' ]*thin\b": "osteoporosis bone density",
    r"\b(extra|facial) hair\b|\bhair on my (chin|face|lip)\b": "hirsutism excess hair",
    r"\bspotting\b|\bbleed(ing)? between\b": "vaginal bleeding",
    r"\bcramps?\b": "cramps pelvic pain",
    r"\bswell(ing|ed|s)?\b|\bswollen\b|\bpuffy\b": "swelling edema",
    r"\bpap (smear|test)\b": "pap test cervical cancer screening",
    r"\blumps?\b": "lump mass",
    r"\bblood clots?\b": "blood clot thrombosis",
    r"\bthrow(ing)? up\b|\bpuk(e|ing)\b|\bsick to my stomach\b": "vomiting nausea",
    r"\bmorning sickness\b": "nausea vomiting pregnancy",
    r"\bnursing\b": "breastfeeding",
    r"\bjoints?\b": "joint arthritis",
    r"\bbruis(e|es|ing)\b": "bruising bleeding",
    r"\bbirth control\b|\bthe pill\b": "birth control contraception",
    r"\bstds?\b|\bstis?\b": "sexually transmitted infection",
    r"\bmood( swings)?\b": "mood irritability",
    r"\bbloat(ed|ing)?\b": "bloating",
}
_LAY = [(re.compile(p, re.IGNORECASE), words) for p, words in LAY_TERMS.items()]


def expand_lay_terms(question: str) -> str:
    """``question`` with the knowledge-base words of its plain words appended (unchanged if none)."""
    extra = [words for pattern, words in _LAY if pattern.search(question)]
    return f"{question} ({' '.join(extra)})" if extra else question
