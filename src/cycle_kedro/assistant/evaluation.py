"""Evaluation of grounded answers: systems side by side, per-answer rows, paired bootstrap CIs.

Every system (:data:`~cycle_kedro.assistant.systems.SYSTEMS`) answers the same questions; the
per-answer table has one row per (system, question) with the raw and the safety-passed answer, its
sources, flags, the reference-answer NLL given the system's own prompt (no reference token is cut:
the prompt is cut from the left if needed and both cuts are counted), ROUGE-L, BERTScore F1 and
abstention. Summaries pool perplexity (exp of total NLL / tokens) and take corpus BLEU; each
difference to ``base`` gets a paired bootstrap 95% CI (questions resampled with replacement, same
draws for all).

The steps: :func:`questions_table` → :func:`~cycle_kedro.assistant.retrieval.retrieve_contexts` →
:func:`answer_questions` → :func:`assess_answers` → :func:`summarise`. :func:`run_systems` runs
them all on any Q&A table (``cycle-ask --eval``); the llm pipeline's nodes run them one by one.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .metrics import (
    bertscore_f1_scores,
    bleu,
    bleu_from_statistics,
    bleu_statistics,
    rouge_l_scores,
)
from .modeling import chat_pair, perplexity, resolve_device, score_and_generate
from .prompting import cited_sources, is_abstention, reference_head, user_message
from .retrieval import context_passages, retrieve_contexts
from .safety import claimed_numbers, find_invented, safety_pass
from .systems import check_systems, model_of, system_models, uses_retrieval

if TYPE_CHECKING:
    from .adapter import LoraAdapter
    from .retrieval import RetrievalIndex, TextEncoder

logger = logging.getLogger(__name__)

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
    out["reference"] = answer.map(lambda a: reference_head(a, reference_words))
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


def system_prompts(
    contexts: pd.DataFrame, tokenizer: Any, prompt: dict[str, Any], use_retrieval: bool
) -> tuple[list[str], list[str]]:
    """(prompt, completion) of every question in the tokenizer's chat format, with or without sources."""
    pairs = [
        chat_pair(
            tokenizer, prompt["system"],
            user_message(r["question"], context_passages(r) if use_retrieval else [], prompt),
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
    through one :func:`~cycle_kedro.assistant.modeling.score_and_generate` call (a progress bar), so a prompt two systems
    share (a question without passages) is answered once.
    """
    device = resolve_device(options["device"])
    prompts, completions = [], []
    for use_retrieval in systems.values():
        p, c = system_prompts(contexts, tokenizer, prompt, use_retrieval)
        prompts += p
        completions += c
    answers, scored = score_and_generate(
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


def answer_questions(
    contexts: pd.DataFrame,
    systems: list[str] | tuple[str, ...],
    *,
    models: dict[str, Any],
    tokenizer: Any,
    options: dict[str, Any],
    prompt: dict[str, Any],
) -> pd.DataFrame:
    """Raw answers of ``systems`` on every question, system by system in the order of ``systems``.

    ``models`` maps a model name (:func:`~cycle_kedro.assistant.systems.model_of`) to the model
    (see :func:`~cycle_kedro.assistant.systems.system_models`); each model answers its systems in
    one :func:`answer_with_model` call; ``retrieval`` answers with the top passage.
    """
    parts = []
    for name, model in models.items():
        chosen = {s: uses_retrieval(s) for s in systems if model_of(s) == name}
        if chosen:
            parts.append(
                answer_with_model(
                    model, tokenizer, contexts, chosen, options=options, prompt=prompt
                )
            )
    if "retrieval" in systems:
        parts.append(answer_with_retrieval(contexts))
    answers = pd.concat(parts, ignore_index=True)
    rank = answers["system"].map({s: i for i, s in enumerate(systems)})
    return answers.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)


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
        shown = context_passages(c) if r.used_retrieval else []
        allowed = " ".join([c["allowed"], *(p["text"] for p in shown)])
        res = safety_pass(r.raw_answer, c["question"], allowed, rule, qtype=c["qtype"])
        abstained = is_abstention(res.answer, prompt["abstain"])
        rows.append({
            "answer": res.answer, "sources": [] if abstained else cited_sources(res.answer, shown, min_overlap),
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
    n = len(claimed_numbers(raw))
    return 1 - len(flagged) / n if n else float("nan")


def _residual_contacts(answer: str, allowed: str) -> int:
    left = find_invented(answer, allowed)
    return len(left["phones"]) + len(left["urls"]) + len(left["emails"])


def score_rows(
    answers: pd.DataFrame, contexts: pd.DataFrame, bertscore_encoder: Any
) -> pd.DataFrame:
    """Per-answer ROUGE-L, BERTScore F1 and retrieval hits against the references (where given)."""
    df = answers.merge(contexts, on="question_id", how="left", validate="many_to_one")
    has_ref = df["reference"].str.len() > 0
    df["rouge_l"] = np.nan
    df["bertscore_f1"] = np.nan
    if has_ref.any():
        preds, refs = df.loc[has_ref, "answer"].tolist(), df.loc[has_ref, "reference"].tolist()
        df.loc[has_ref, "rouge_l"] = rouge_l_scores(preds, refs)
        df.loc[has_ref, "bertscore_f1"] = bertscore_f1_scores(preds, refs, bertscore_encoder)
    return df


def assess_answers(
    answers: pd.DataFrame,
    contexts: pd.DataFrame,
    bertscore_encoder: Any,
    options: dict[str, Any],
    prompt: dict[str, Any],
) -> pd.DataFrame:
    """Per-answer rows: the safety pass (flags, final answer, sources), ROUGE-L, BERTScore F1, NLL.

    ``options``: the ``llm.evaluation`` group (``safety``, ``cite_min_overlap``);
    ``bertscore_encoder``: a ``bert_score.BERTScorer`` (dataset ``llm.bertscore_encoder``).
    """
    safe = apply_safety(answers, contexts, options["safety"], prompt, options["cite_min_overlap"])
    return score_rows(safe, contexts, bertscore_encoder)


def _summary(part: pd.DataFrame) -> dict[str, float]:
    scored = part["nll"].notna().any()
    refs = part["reference"].str.len() > 0
    return {
        "n": len(part),
        "perplexity": perplexity(float(part["nll"].sum()), int(part["n_tokens"].sum()))
        if scored
        else np.nan,
        "bleu": bleu(part.loc[refs, "answer"].tolist(), part.loc[refs, "reference"].tolist())
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
        sa, sb = (
            bleu_statistics(p["answer"].tolist(), p["reference"].tolist()) for p in (part, base)
        )
        point = bleu_from_statistics(sa.sum(0)) - bleu_from_statistics(sb.sum(0))
        boots = np.array([
            bleu_from_statistics(a) - bleu_from_statistics(b)
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
    adapter: LoraAdapter | None,
    tokenizer: Any,
    index: RetrievalIndex,
    encoder: TextEncoder,
    bertscore_encoder: Any,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Answer and score ``questions`` with each of ``systems``: (per-answer rows, summary table).

    The entry point for any Q&A table (:func:`questions_table`; ``cycle-ask --eval``); ``params``
    is the ``llm`` parameter group (``retrieval``, ``generation``, ``prompt``, ``evaluation``). The
    adapter is attached to a copy of ``base_model`` (``base_model`` is unchanged). The summary
    covers the answers with a reference (with CIs against ``base`` when it is among the systems).
    """
    check_systems(systems)
    contexts = retrieve_contexts(questions, index, encoder, params["retrieval"]["k"])
    prompt, ev = params["prompt"], params["evaluation"]
    answers = answer_questions(
        contexts, systems, models=system_models(base_model, adapter, systems), tokenizer=tokenizer,
        options=params["generation"], prompt=prompt,
    )  # fmt: skip
    scores = assess_answers(answers, contexts, bertscore_encoder, ev, prompt)
    has_ref = scores["reference"].str.len() > 0
    summary = (
        summarise(scores[has_ref], ev["n_bootstrap"], ev["seed"])
        if has_ref.any()
        else pd.DataFrame()
    )
    return scores, summary
