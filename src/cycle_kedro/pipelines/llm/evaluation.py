"""Evaluation of grounded answers: systems side by side, per-answer rows, paired bootstrap CIs.

Systems (names used in every table): ``base``, ``base_rag``, ``lora``, ``lora_rag``, ``retrieval``
(the top passage as the answer). Every system answers the same questions; the per-answer table has
one row per (system, question) with the raw and the safety-passed answer, its sources, flags, the
reference-answer NLL given the system's own prompt (no reference token is cut: the prompt is cut
from the left if needed and both cuts are counted), ROUGE-L, BERTScore F1 and abstention.
Summaries pool perplexity (exp of total NLL / tokens) and take corpus BLEU; each difference to
``base`` gets a paired bootstrap 95% CI (questions resampled with replacement, same draws for all).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import metrics as M
from . import modeling as T
from . import rag as G
from . import safety as S

if TYPE_CHECKING:
    from .retrieval import RetrievalIndex, TextEncoder

logger = logging.getLogger(__name__)

SYSTEMS = ("base", "base_rag", "lora", "lora_rag", "retrieval")
QUESTION_COLUMNS = [
    "question_id",
    "kind",
    "question",
    "reference",
    "qtype",
    "focus",
    "doc_id",
    "url",
    "allowed",
]


def questions_table(df: pd.DataFrame, kind: str, reference_words: int) -> pd.DataFrame:
    """Normalise a Q&A table (``question``, optional ``answer``/``qtype``/``focus``/``doc_id``/``url``/``source``).

    ``reference`` is the answer's head (``reference_words`` words at a sentence end, "" when the
    answer is missing); ``allowed`` is extra text a safety pass may take numbers from (the forecast
    explanation written from the row's numbers, for forecast questions).
    """
    out = pd.DataFrame(index=df.index)
    out["question"] = df["question"].astype(str)
    answer = (
        df["answer"].fillna("").astype(str) if "answer" in df else pd.Series("", index=df.index)
    )
    out["reference"] = answer.map(lambda a: G.reference_head(a, reference_words))
    for col in ("qtype", "focus", "doc_id", "url"):
        out[col] = df[col].fillna("").astype(str) if col in df else ""
    if "source" in df:  # a user's file: a URL or a MedQuAD document id
        src = df["source"].fillna("").astype(str)
        is_url = src.str.startswith("http")
        if "url" not in df:
            out["url"] = src.where(is_url, "")
        if "doc_id" not in df:
            out["doc_id"] = src.where(~is_url, "")
    out["kind"] = kind
    out["allowed"] = answer if kind == "forecast" else ""
    return out.reset_index(drop=True).assign(
        question_id=lambda d: [f"{kind}-{i}" for i in d.index]
    )[QUESTION_COLUMNS]


def retrieve_contexts(
    questions: pd.DataFrame, index: RetrievalIndex, encoder: TextEncoder, k: int
) -> pd.DataFrame:
    """Add the top-``k`` passages (ids, texts, foci, URLs, documents) of every non-forecast question."""
    ask = questions["kind"] != "forecast"
    hits = index.search(questions.loc[ask, "question"].tolist(), encoder, k=k)
    empty: list = []
    cols = {
        "passage_ids": [],
        "passage_texts": [],
        "passage_foci": [],
        "passage_urls": [],
        "passage_docs": [],
    }
    it = iter(hits)
    for use in ask:
        h = next(it) if use else None
        for key, src in (("passage_ids", "passage_id"), ("passage_texts", "text"), ("passage_foci", "focus"),
                         ("passage_urls", "url"), ("passage_docs", "doc_id")):  # fmt: skip
            cols[key].append(h[src].tolist() if h is not None else list(empty))
    out = questions.assign(**cols)
    return out.assign(**_retrieval_hits(out, index))


def _siblings(a: str, b: str) -> bool:
    """Two foci about the same condition: one's words contain the other's ("ovarian cancer",
    "childhood ovarian cancer"), compared case- and punctuation-insensitively."""
    from .topics import focus_key  # noqa: PLC0415

    x, y = set(focus_key(a).split()), set(focus_key(b).split())
    return bool(x) and bool(y) and (x <= y or y <= x)


def _retrieval_hits(contexts: pd.DataFrame, index: RetrievalIndex) -> dict[str, list]:
    """Per question: does the index hold a sibling document, and did the top k retrieve one?

    A sibling is a passage whose focus is the question's focus, broader or narrower (see
    :func:`_siblings`; the held-out split never leaves the very same focus in the index).
    ``hit_topic``: a passage of the question's embedding topic was retrieved (needs ``topic`` on
    both the questions and the index passages; NaN otherwise).
    """
    foci = sorted(set(index.passages["focus"]))
    has_sibling, hit_focus, hit_topic = [], [], []
    topic_of = dict(
        zip(
            index.passages["passage_id"],
            index.passages.get("topic", pd.Series(dtype=float)),
            strict=False,
        )
    )
    for _, r in contexts.iterrows():
        focus = r["focus"] or ""
        sib = r["kind"] != "forecast" and bool(focus) and any(_siblings(focus, f) for f in foci)
        has_sibling.append(sib)
        hit_focus.append(
            float(any(_siblings(focus, f) for f in r["passage_foci"])) if sib else np.nan
        )
        t = r.get("topic", np.nan)
        found = [topic_of.get(p) for p in r["passage_ids"]]
        hit_topic.append(
            float(t in found) if pd.notna(t) and topic_of and r["kind"] != "forecast" else np.nan
        )
    return {"has_sibling": has_sibling, "hit_focus": hit_focus, "hit_topic": hit_topic}


def _passages(row: pd.Series) -> list[dict[str, str]]:
    return [
        {"focus": f, "text": t, "url": u}
        for f, t, u in zip(
            row["passage_foci"], row["passage_texts"], row["passage_urls"], strict=True
        )
    ]


def system_prompts(
    contexts: pd.DataFrame, tokenizer: Any, prompt: dict[str, Any], use_retrieval: bool
) -> tuple[list[str], list[str]]:
    """(prompt, completion) of every question in the tokenizer's chat format, with or without sources."""
    pairs = [
        T.chat_pair(
            tokenizer, prompt["system"],
            G.user_message(r["question"], _passages(r) if use_retrieval else [], prompt),
            r["reference"],
        )
        for _, r in contexts.iterrows()
    ]  # fmt: skip
    return [p for p, _ in pairs], [c for _, c in pairs]


def answer_with_model(
    model: Any,
    tokenizer: Any,
    contexts: pd.DataFrame,
    systems: dict[str, bool],
    *,
    options: dict[str, Any],
    prompt: dict[str, Any],
) -> pd.DataFrame:
    """Raw greedy answers and reference NLL of one model's systems on every question.

    ``systems`` maps a system name to whether it shows the retrieved passages. All prompts go
    through one :func:`modeling.score_and_generate` call (a progress bar), so a prompt two systems
    share (a question without passages) is answered once.
    """
    device = T.resolve_device(options["device"])
    prompts, completions = [], []
    for use_retrieval in systems.values():
        p, c = system_prompts(contexts, tokenizer, prompt, use_retrieval)
        prompts += p
        completions += c
    answers, scored = T.score_and_generate(
        model, tokenizer, prompts, completions, max_new_tokens=options["max_new_tokens"],
        batch_size=options["batch_size"], device=device, max_length=options["max_length"],
        progress=f"answer {'/'.join(systems)}",
    )  # fmt: skip
    has_ref = np.tile(contexts["reference"].str.len().to_numpy() > 0, len(systems))
    scored.loc[~has_ref, ["nll", "n_tokens"]] = [np.nan, 0]
    logger.info("%s: %d answers each", ", ".join(systems), len(contexts))
    return scored.assign(
        question_id=np.tile(contexts["question_id"].to_numpy(), len(systems)),
        system=np.repeat(list(systems), len(contexts)), raw_answer=answers,
        used_retrieval=np.repeat(list(systems.values()), len(contexts)),
    )  # fmt: skip


def answer_with_retrieval(contexts: pd.DataFrame) -> pd.DataFrame:
    """The top retrieved passage as the answer (no NLL); forecast questions get no answer."""
    top = [t[0] if len(t) else "" for t in contexts["passage_texts"]]
    return pd.DataFrame({
        "question_id": contexts["question_id"].to_numpy(), "system": "retrieval", "raw_answer": top,
        "used_retrieval": True, "nll": np.nan, "n_tokens": 0, "ref_tokens": 0, "ref_tokens_cut": 0,
        "prompt_tokens_cut": 0,
    })  # fmt: skip


def apply_safety(
    answers: pd.DataFrame,
    contexts: pd.DataFrame,
    rule: dict[str, Any],
    prompt: dict[str, Any],
    min_overlap: float,
) -> pd.DataFrame:
    """Safety pass and citations on every answer (allowed: question, passages shown, forecast row)."""
    ctx = contexts.set_index("question_id")
    rows = []
    for r in answers.itertuples(index=False):
        c = ctx.loc[r.question_id]
        shown = _passages(c) if r.used_retrieval else []
        allowed = " ".join([c["allowed"], *(p["text"] for p in shown)])
        res = S.safety_pass(r.raw_answer, c["question"], allowed, rule, qtype=c["qtype"])
        abstained = G.is_abstention(res.answer, prompt["abstain"])
        rows.append({
            "answer": res.answer, "sources": [] if abstained else G.cited_sources(res.answer, shown, min_overlap),
            "flag_numbers": len(res.numbers), "flag_contacts": len(res.contacts),
            "flag_phones": len(res.phones), "flag_urls": len(res.urls), "flag_emails": len(res.emails),
            "flagged": res.flagged, "replaced": res.replaced, "pointer_added": res.pointer_added,
            "abstained": abstained,
            "residual_contacts": _residual_contacts(res.answer, f"{c['question']} {allowed}"),
            "numbers_supported": _supported_share(r.raw_answer, res.numbers),
        })  # fmt: skip
    return answers.reset_index(drop=True).join(pd.DataFrame(rows))


def _supported_share(raw: str, flagged: list[str]) -> float:
    """Share of the raw answer's stated numbers that the allowed texts support (NaN: none stated)."""
    n = len(S.claimed_numbers(raw))
    return 1 - len(flagged) / n if n else float("nan")


def _residual_contacts(answer: str, allowed: str) -> int:
    left = S.find_invented(answer, allowed)
    return len(left["phones"]) + len(left["urls"]) + len(left["emails"])


def score_rows(
    answers: pd.DataFrame, contexts: pd.DataFrame, bertscore: Any, options: dict[str, Any]
) -> pd.DataFrame:
    """Per-answer ROUGE-L, BERTScore F1 and retrieval hits against the references (where given)."""
    df = answers.merge(contexts, on="question_id", how="left", validate="many_to_one")
    has_ref = df["reference"].str.len() > 0
    df["rouge_l"] = np.nan
    df["bertscore_f1"] = np.nan
    if has_ref.any():
        preds, refs = df.loc[has_ref, "answer"].tolist(), df.loc[has_ref, "reference"].tolist()
        df.loc[has_ref, "rouge_l"] = M.rouge_l_scores(preds, refs)
        df.loc[has_ref, "bertscore_f1"] = bertscore(preds, refs)
    return df


def _summary(part: pd.DataFrame) -> dict[str, float]:
    scored = part["nll"].notna().any()
    refs = part["reference"].str.len() > 0
    return {
        "n": len(part),
        "perplexity": T.perplexity(float(part["nll"].sum()), int(part["n_tokens"].sum()))
        if scored
        else np.nan,
        "bleu": M.bleu(part.loc[refs, "answer"].tolist(), part.loc[refs, "reference"].tolist())
        if refs.any()
        else np.nan,
        "rouge_l": float(part["rouge_l"].mean()),
        "bertscore_f1": float(part["bertscore_f1"].mean()),
        "flagged_rate": float(part["flagged"].mean()),
        "flagged_contact_rate": float((part["flag_contacts"] > 0).mean()),
        "abstention_rate": float(part["abstained"].mean()),
        "numbers_supported": float(part["numbers_supported"].mean()),
        "ref_tokens_cut": int(part["ref_tokens_cut"].sum()),
    }


METRICS = ("perplexity", "bleu", "rouge_l", "bertscore_f1", "flagged_rate", "abstention_rate")


def summarise(scores: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """One row per system: metrics, and (system - base) with paired bootstrap 95% CIs.

    Perplexity's difference is relative (``ppl_change`` = system / base - 1).
    """
    questions = sorted(scores["question_id"].unique())
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(questions), size=(n_boot, len(questions)))
    by_sys = {
        s: p.set_index("question_id").loc[questions].reset_index()
        for s, p in scores.groupby("system", sort=False)
    }
    base = by_sys.get("base")
    rows = []
    for system, part in by_sys.items():
        row = {"system": system, **_summary(part)}
        if base is not None and system != "base":
            for metric in METRICS:
                point, lo, hi = _paired_ci(part, base, metric, draws)
                key = "ppl_change" if metric == "perplexity" else f"d_{metric}"
                row.update({key: point, f"{key}_lo": lo, f"{key}_hi": hi})
        rows.append(row)
    return pd.DataFrame(rows)


def _values(part: pd.DataFrame, metric: str) -> np.ndarray:
    column = {"flagged_rate": "flagged", "abstention_rate": "abstained"}.get(metric, metric)
    return part[column].astype(float).to_numpy()


def _paired_ci(
    part: pd.DataFrame, base: pd.DataFrame, metric: str, draws: np.ndarray
) -> tuple[float, float, float]:
    """Point difference (relative for perplexity) and its percentile 95% CI over ``draws``.

    Means, pooled perplexities and corpus BLEU (from per-answer n-gram statistics) are resampled
    with array sums, the same question draws for both systems.
    """
    if metric == "perplexity":
        if part["nll"].isna().all() or base["nll"].isna().all():
            return np.nan, np.nan, np.nan
        na, ta = part["nll"].to_numpy(float), part["n_tokens"].to_numpy(float)
        nb, tb = base["nll"].to_numpy(float), base["n_tokens"].to_numpy(float)
        point = math.exp(na.sum() / ta.sum() - nb.sum() / tb.sum()) - 1
        boots = (
            np.exp(na[draws].sum(1) / ta[draws].sum(1) - nb[draws].sum(1) / tb[draws].sum(1)) - 1
        )
    elif metric == "bleu":
        sa, sb = (M.bleu_statistics(p["answer"].tolist(), p["reference"].tolist()) for p in (part, base))
        point = M.bleu_from_statistics(sa.sum(0)) - M.bleu_from_statistics(sb.sum(0))
        boots = np.array([
            M.bleu_from_statistics(a) - M.bleu_from_statistics(b)
            for a, b in zip(sa[draws].sum(1), sb[draws].sum(1), strict=True)
        ])  # fmt: skip
    else:
        diff = _values(part, metric) - _values(base, metric)
        point = float(np.nanmean(diff)) if np.isfinite(diff).any() else np.nan
        boots = np.nanmean(diff[draws], axis=1) if np.isfinite(point) else np.array([np.nan])
    if not np.isfinite(point):
        return np.nan, np.nan, np.nan
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return float(point), float(lo), float(hi)


def run_systems(
    questions: pd.DataFrame,
    systems: list[str],
    *,
    base_model: Any,
    adapter: Any,
    tokenizer: Any,
    index: RetrievalIndex,
    encoder: TextEncoder,
    bertscore: Any,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Answer and score ``questions`` with each of ``systems``: (per-answer rows, summary table).

    The entry point for any Q&A table (``cycle-ask --eval``); ``params`` is the ``llm`` parameter
    group (``retrieval``, ``generation``, ``prompt``, ``evaluation``). The adapter is attached to a
    copy of ``base_model`` (``base_model`` is unchanged).
    """
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise ValueError(f"unknown system(s) {unknown}; choose from {list(SYSTEMS)}")
    contexts = retrieve_contexts(questions, index, encoder, params["retrieval"]["k"])
    gen, prompt, ev = params["generation"], params["prompt"], params["evaluation"]
    parts = []
    models = {"base": base_model}
    if {"lora", "lora_rag"} & set(systems):
        from cycle_kedro.datasets.hf import attach_adapter  # noqa: PLC0415

        models["lora"] = attach_adapter(base_model, adapter, merge=True)
    for name, model in models.items():
        chosen = {s: s.endswith("_rag") for s in systems if s.split("_")[0] == name}
        if chosen:
            parts.append(answer_with_model(model, tokenizer, contexts, chosen, options=gen, prompt=prompt))
    if "retrieval" in systems:
        parts.append(answer_with_retrieval(contexts))
    answers = pd.concat(parts, ignore_index=True)
    rank = answers["system"].map({s: i for i, s in enumerate(systems)})
    answers = answers.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
    safe = apply_safety(answers, contexts, ev["safety"], prompt, ev["cite_min_overlap"])
    scores = score_rows(safe, contexts, bertscore, ev)
    has_ref = scores["reference"].str.len() > 0
    summary = (
        summarise(scores[has_ref], ev["n_bootstrap"], ev["seed"])
        if has_ref.any()
        else pd.DataFrame()
    )
    return scores, summary
