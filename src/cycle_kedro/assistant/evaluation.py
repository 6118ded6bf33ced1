"""Evaluation of grounded answers: systems side by side, per-answer rows, paired bootstrap CIs.

Every system (:data:`~cycle_kedro.assistant.systems.SYSTEMS`) answers the same questions; the
per-answer table has one row per (system, question) with the raw and the finished answer (safety
pass, gate, sources: :func:`~cycle_kedro.assistant.answering.finish_answer`), its flags, the
reference-answer NLL given the system's own prompt (no reference token is cut: the prompt is cut
from the left if needed and both cuts are counted), ROUGE-L, BERTScore F1, the token metrics of
Adlakha et al. (Recall against the reference, K-Precision against the retrieved passages, the share
of unsupported sentences) and abstention. The same metrics of the answer before the gate
(``raw_*``) feed the gating trade-off. Summaries pool perplexity (exp of total NLL / tokens) and take
corpus BLEU; each difference to ``base`` gets a paired bootstrap 95% CI (questions resampled with
replacement, same draws for all).

The steps: :func:`questions_table` → :func:`~cycle_kedro.assistant.retrieval.retrieve_contexts` →
:func:`~cycle_kedro.assistant.gating.with_confidence` → :func:`answer_questions` →
:func:`assess_answers` → :func:`summarise`. :func:`run_systems` runs them all on any Q&A table
(``cycle-ask --eval``); the llm pipeline's nodes run them one by one.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .answering import finish_answer
from .extractive import extract_answer
from .gating import is_gated, strip_templates, with_confidence
from .metrics import (
    bertscore_f1_scores,
    bleu,
    bleu_from_statistics,
    bleu_statistics,
    k_precision,
    rouge_l_scores,
    sentence_support,
    token_recall,
    tokens,
)
from .modeling import chat_pair, perplexity, resolve_device, score_and_generate
from .prompting import reference_head, restricted_text, user_message
from .retrieval import context_passages, retrieve_contexts
from .safety import answer_sentences, claimed_numbers, find_invented
from .systems import (
    WITHOUT_MODEL,
    check_systems,
    is_restricted,
    model_of,
    system_models,
    uses_retrieval,
)

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


def _asked(contexts: pd.DataFrame, system: str, answered_by: dict[str, list[str]] | None) -> pd.Series:
    """Which questions ``system`` answers: those of the kinds ``answered_by`` lists it for (None: all)."""
    if answered_by is None:
        return pd.Series(True, index=contexts.index)
    return contexts["kind"].map(lambda kind: system in answered_by.get(kind, ())).astype(bool)


def answer_with_model(  # noqa: PLR0913 (a model, its prompts and which questions)
    model: Any,
    tokenizer: Any,
    contexts: pd.DataFrame,
    systems: dict[str, bool],
    *,
    options: dict[str, Any],
    prompt: dict[str, Any],
    answered_by: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Raw greedy answers and reference NLL of one model's systems on every question.

    ``systems`` maps a system name to whether it shows the retrieved passages; ``answered_by``
    (kind -> systems) limits the questions each system answers; ``options['unscored']`` (optional)
    lists kinds whose reference NLL is not scored (only answered: less to compute). All prompts go through one
    :func:`~cycle_kedro.assistant.modeling.score_and_generate` call (a progress bar), so a prompt
    two systems share (a question without passages) is answered once. A restricted system
    (:func:`~cycle_kedro.assistant.systems.is_restricted`) shares its prompts with the model's other
    system with passages: the same pass is decoded a second time, restricted to the question's and
    passages' words.
    """
    device = resolve_device(options["device"])
    if options.get("unscored"):  # these kinds of questions are only answered, their references not scored
        skipped = contexts["kind"].isin(options["unscored"])
        contexts = contexts.assign(reference=contexts["reference"].mask(skipped, ""))
    asked = {s: _asked(contexts, s, answered_by) for s in systems}
    blocks = {}  # one block of prompts per retrieval setting: the questions its systems answer
    for system, use_retrieval in systems.items():
        blocks[use_retrieval] = blocks.get(use_retrieval, False) | asked[system]
    prompts, completions, restrict_to, where = [], [], [], {}
    for use_retrieval, rows in blocks.items():
        part = contexts[rows]
        where[use_retrieval] = (len(prompts), part["question_id"].to_numpy())
        p, c = system_prompts(part, tokenizer, prompt, use_retrieval)
        prompts += p
        completions += c
        restricted = [s for s, r in systems.items() if r == use_retrieval and is_restricted(s)]
        wants = asked[restricted[0]][rows] if restricted else pd.Series(False, index=part.index)
        restrict_to += [
            restricted_text(r["question"], context_passages(r)) if want else None
            for (_, r), want in zip(part.iterrows(), wants, strict=True)
        ]
    any_restricted = any(t is not None for t in restrict_to)
    answers, scored = score_and_generate(
        model, tokenizer, prompts, completions, max_new_tokens=options["max_new_tokens"],
        batch_size=options["batch_size"], device=device, max_length=options["max_length"],
        progress=f"answer {'/'.join(systems)}", restrict_to=restrict_to if any_restricted else None,
        free=not all(is_restricted(s) for s in systems),
    )  # fmt: skip
    scored = scored.assign(answer=answers, question_id=np.concatenate([ids for _, ids in where.values()]))
    references = contexts.set_index("question_id").loc[scored["question_id"], "reference"]
    scored.loc[(references.str.len() == 0).to_numpy(), ["nll", "n_tokens"]] = [np.nan, 0]
    parts = []
    for system, use_retrieval in systems.items():
        start, ids = where[use_retrieval]
        part = scored.iloc[start : start + len(ids)]
        part = part[asked[system][blocks[use_retrieval]].to_numpy()]
        raw = part.get("restricted_answer", part["answer"]) if is_restricted(system) else part["answer"]
        parts.append(part.drop(columns=["answer", "restricted_answer"], errors="ignore").assign(
            system=system, raw_answer=raw.to_numpy(), used_retrieval=use_retrieval,
        ))  # fmt: skip
    logger.info("%s: %s answers", ", ".join(systems), [len(p) for p in parts])
    return pd.concat(parts, ignore_index=True)


def answer_without_model(
    contexts: pd.DataFrame,
    system: str,
    options: dict[str, Any] | None = None,
    answered_by: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """``retrieval``: the top passage as the answer; ``extractive``: its best sentences (``options``).

    No NLL; forecast questions (no passages) get no answer; ``answered_by`` as in
    :func:`answer_with_model`.
    """
    contexts = contexts[_asked(contexts, system, answered_by)]
    if system == "retrieval":
        raw = [t[0] if len(t) else "" for t in contexts["passage_texts"]]
    else:
        raw = [
            extract_answer(r["question"], context_passages(r), options) if len(r["passage_texts"]) else ""
            for _, r in contexts.iterrows()
        ]  # fmt: skip
    return pd.DataFrame({
        "question_id": contexts["question_id"].to_numpy(), "system": system, "raw_answer": raw,
        "used_retrieval": True, "nll": np.nan, "n_tokens": 0, "ref_tokens": 0, "ref_tokens_cut": 0,
        "prompt_tokens_cut": 0,
    })  # fmt: skip


def answer_questions(  # noqa: PLR0913 (the models, prompts and options of all systems)
    contexts: pd.DataFrame,
    systems: list[str] | tuple[str, ...],
    *,
    models: dict[str, Any],
    tokenizer: Any,
    options: dict[str, Any],
    prompt: dict[str, Any],
    extractive: dict[str, Any] | None = None,
    answered_by: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Raw answers of ``systems`` on the questions, system by system in the order of ``systems``.

    ``models`` maps a model name (:func:`~cycle_kedro.assistant.systems.model_of`) to the model
    (see :func:`~cycle_kedro.assistant.systems.system_models`); each model answers its systems in
    one :func:`answer_with_model` call; ``extractive`` (its options) and ``retrieval`` answer from
    the passages (:func:`answer_without_model`). ``answered_by`` (kind -> systems; None: every
    system answers every question) limits which questions each system answers.
    """
    parts = []
    for name, model in models.items():
        chosen = {s: uses_retrieval(s) for s in systems if model_of(s) == name}
        if chosen:
            parts.append(
                answer_with_model(
                    model, tokenizer, contexts, chosen, options=options, prompt=prompt,
                    answered_by=answered_by,
                )  # fmt: skip
            )
    parts += [
        answer_without_model(contexts, s, extractive, answered_by) for s in WITHOUT_MODEL if s in systems
    ]
    answers = pd.concat(parts, ignore_index=True)
    rank = answers["system"].map({s: i for i, s in enumerate(systems)})
    return answers.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)


def apply_safety(
    answers: pd.DataFrame,
    contexts: pd.DataFrame,
    *,
    options: dict[str, Any],
    prompt: dict[str, Any],
    gating: dict[str, Any],
) -> pd.DataFrame:
    """Every answer finished before and after the gate (allowed: question, passages shown, forecast row).

    ``contexts`` need ``confidence`` (:func:`~cycle_kedro.assistant.gating.with_confidence`). The
    ``raw_*`` columns are the answer as it would be without the gate (``raw_final``,
    ``raw_sources``, ``raw_abstained``): the gating trade-off is read from them.
    """
    ctx = contexts.set_index("question_id")
    rows = []
    for r in answers.itertuples(index=False):
        c = ctx.loc[r.question_id]
        shown = context_passages(c) if r.used_retrieval else []
        rules = {"prompt": prompt, "evaluation": options, "gating": gating, "qtype": c["qtype"],
                 "allowed": c["allowed"]}  # fmt: skip
        ungated = finish_answer(r.raw_answer, c["question"], shown, **rules)
        gated = bool(shown) and is_gated(c["confidence"], gating["threshold"])
        done = finish_answer(r.raw_answer, c["question"], shown, gated=True, **rules) if gated else ungated
        f = done["flags"]
        rows.append({
            "answer": done["answer"], "sources": done["sources"],
            "flag_numbers": len(f["numbers"]), "flag_contacts": len(f["phones"] + f["emails"] + f["urls"]),
            "flag_phones": len(f["phones"]), "flag_urls": len(f["urls"]), "flag_emails": len(f["emails"]),
            "flag_unsupported": len(ungated["flags"]["unsupported"]),
            "flagged": bool(f["numbers"] or f["phones"] or f["emails"] or f["urls"]),
            "replaced": f["replaced"], "pointer_added": f["clinician_pointer"], "abstained": f["abstained"],
            "gated": gated,
            "raw_final": ungated["answer"], "raw_sources": ungated["sources"],
            "raw_abstained": ungated["flags"]["abstained"],
            **_residual(done["answer"], " ".join([c["question"], c["allowed"],
                                                  *(f"{p['focus']}: {p['text']}" for p in shown)])),
            "numbers_supported": _supported_share(r.raw_answer, ungated["flags"]["numbers"]),
        })  # fmt: skip
    return answers.reset_index(drop=True).join(pd.DataFrame(rows))


def _supported_share(raw: str, flagged: list[str]) -> float:
    """Share of the raw answer's stated numbers that the allowed texts support (NaN: none stated)."""
    n = len(claimed_numbers(raw))
    return 1 - len(flagged) / n if n else float("nan")


def _residual(answer: str, allowed: str) -> dict[str, int]:
    """Invented contacts and numbers left in the final answer (the pass removed what it flagged)."""
    left = find_invented(answer, allowed)
    return {
        "residual_contacts": len(left["phones"]) + len(left["urls"]) + len(left["emails"]),
        "residual_numbers": len(left["numbers"]),
    }


def _token_scores(
    answer: str, abstained: bool, row: pd.Series, templates: list[str], min_support: float
) -> tuple[float, float, float]:
    """Recall, K-Precision and the unsupported share of one answer (an abstention claims nothing)."""
    claim = "" if abstained else strip_templates(answer, templates)
    recall = token_recall(claim, row["reference"]) if row["reference"] else np.nan
    knowledge = " ".join(  # the passages as the prompt shows them: "focus: text"
        f"{f}: {t}" for f, t in zip(row["passage_foci"], row["passage_texts"], strict=True)
    )
    if not tokens(claim):
        return recall, np.nan, np.nan
    known = set(tokens(f"{row['question']} {knowledge}"))
    supports = [sentence_support(s, known) for s in answer_sentences(claim)]
    claimed = [v for v in supports if np.isfinite(v)]
    unsupported = float(np.mean([v < min_support for v in claimed])) if claimed else np.nan
    return recall, k_precision(claim, knowledge), unsupported


def score_rows(
    answers: pd.DataFrame,
    contexts: pd.DataFrame,
    bertscore_encoder: Any,
    options: dict[str, Any] | None = None,
    templates: list[str] | None = None,
) -> pd.DataFrame:
    """Per-answer ROUGE-L, BERTScore F1, token metrics and retrieval hits against the references (where given).

    Recall is against the reference, K-Precision against the retrieved passages (for a closed-book
    system: the passages it was not shown), the unsupported share (sentences whose content words
    the question and passages hold less than ``options['safety']['unsupported']['min_support']``)
    likewise; the fixed texts in ``templates`` (pointer, "not covered") are not the model's claim.
    ``raw_*``: the same for the answer before the gate, and whether it cites the answering document.
    """
    df = answers.merge(contexts, on="question_id", how="left", validate="many_to_one")
    has_ref = df["reference"].str.len() > 0
    df["rouge_l"] = np.nan
    df["bertscore_f1"] = np.nan
    if has_ref.any():
        preds, refs = df.loc[has_ref, "answer"].tolist(), df.loc[has_ref, "reference"].tolist()
        df.loc[has_ref, "rouge_l"] = rouge_l_scores(preds, refs)
        df.loc[has_ref, "bertscore_f1"] = bertscore_f1_scores(preds, refs, bertscore_encoder)
    if "raw_final" not in df:
        return df
    templates = templates or []
    min_support = (options or {}).get("safety", {}).get("unsupported", {}).get("min_support", 0.5)
    final = [_token_scores(a, ab, r, templates, min_support)
             for (_, r), a, ab in zip(df.iterrows(), df["answer"], df["abstained"], strict=True)]  # fmt: skip
    raw = [_token_scores(a, ab, r, templates, min_support)
           for (_, r), a, ab in zip(df.iterrows(), df["raw_final"], df["raw_abstained"], strict=True)]  # fmt: skip
    df[["recall", "k_precision", "unsupported_share"]] = final
    df["raw_k_precision"] = [k for _, k, _ in raw]
    target = df["url"].fillna("").astype(str)
    df["on_target"] = [bool(t) and t in s for t, s in zip(target, df["sources"], strict=True)]
    df["raw_on_target"] = [
        (bool(t) and t in s) if t else np.nan
        for t, s in zip(target, df["raw_sources"], strict=True)
    ]
    return df


def assess_answers(  # noqa: PLR0913, PLR0917 (the inputs and rules of the scoring)
    answers: pd.DataFrame,
    contexts: pd.DataFrame,
    bertscore_encoder: Any,
    options: dict[str, Any],
    prompt: dict[str, Any],
    gating: dict[str, Any],
) -> pd.DataFrame:
    """Per-answer rows: the finished answer (safety pass, gate, sources), flags, scores, NLL.

    ``options``: the ``llm.evaluation`` group (``safety``, ``cite_min_overlap``); ``gating``:
    ``llm.gating``; ``contexts`` with ``confidence``; ``bertscore_encoder``: a
    ``bert_score.BERTScorer`` (dataset ``llm.bertscore_encoder``).
    """
    safe = apply_safety(answers, contexts, options=options, prompt=prompt, gating=gating)
    templates = [gating["not_covered"], options["safety"].get("symptoms", {}).get("pointer", "")]
    return score_rows(safe, contexts, bertscore_encoder, options, templates)


def _mean(part: pd.DataFrame, column: str) -> float:
    return float(part[column].mean()) if column in part and part[column].notna().any() else np.nan


def _summary(part: pd.DataFrame, kp_min: float) -> dict[str, float]:
    scored = part["nll"].notna().any()
    refs = part["reference"].str.len() > 0
    answered = ~part["abstained"].astype(bool)
    faithful = answered & (part["k_precision"] >= kp_min) if "k_precision" in part else answered
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
        "recall": _mean(part, "recall"),
        "k_precision": _mean(part, "k_precision"),
        "unsupported_share": _mean(part, "unsupported_share"),
        "faithful_or_abstained": float((faithful | ~answered).mean()),
        "flagged_rate": float(part["flagged"].mean()),
        "flagged_contact_rate": float((part["flag_contacts"] > 0).mean()),
        "flagged_unsupported_rate": float((part["flag_unsupported"] > 0).mean())
        if "flag_unsupported" in part
        else np.nan,
        "abstention_rate": float(part["abstained"].mean()),
        "gated_rate": _mean(part, "gated"),
        "numbers_supported": float(part["numbers_supported"].mean()),
        "unflagged_invented": int(part["residual_contacts"].sum() + part["residual_numbers"].sum())
        if "residual_numbers" in part
        else np.nan,
        "ref_tokens_cut": int(part["ref_tokens_cut"].sum()),
    }


METRICS = ("perplexity", "bleu", "rouge_l", "bertscore_f1", "recall", "k_precision",
           "unsupported_share", "flagged_rate", "abstention_rate")  # fmt: skip


def summarise(scores: pd.DataFrame, n_boot: int, seed: int, kp_min: float = 0.8) -> pd.DataFrame:
    """One row per system: metrics, and (system - base) with paired bootstrap 95% CIs.

    Perplexity's difference is relative (``ppl_change`` = system / base - 1). K-Precision and the
    unsupported share are means over the answers that claim something (not abstentions); their
    differences over the questions both systems answered. ``faithful_or_abstained``: the share of
    questions answered with K-Precision >= ``kp_min`` or abstained (with the nearest sources).
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
        row = {"system": system, **_summary(part, kp_min)}
        if base is not None and system != "base":
            for metric in (m for m in METRICS if _column(m) in part):
                point, lo, hi = _paired_ci(part, base, metric, draws)
                key = "ppl_change" if metric == "perplexity" else f"d_{metric}"
                row.update({key: point, f"{key}_lo": lo, f"{key}_hi": hi})
        rows.append(row)
    return pd.DataFrame(rows)


def _column(metric: str) -> str:
    """The per-answer column a summary metric is the mean of (perplexity: the NLL)."""
    return {"flagged_rate": "flagged", "abstention_rate": "abstained", "perplexity": "nll",
            "bleu": "answer"}.get(metric, metric)  # fmt: skip


def _values(part: pd.DataFrame, metric: str) -> np.ndarray:
    return part[_column(metric)].astype(float).to_numpy()


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
    is the ``llm`` parameter group (``retrieval``, ``generation``, ``prompt``, ``evaluation``,
    ``gating``, ``extractive``). The adapter is attached to a copy of ``base_model``
    (``base_model`` is unchanged). The summary covers the answers with a reference (with CIs
    against ``base`` when it is among the systems).
    """
    check_systems(systems)
    prompt, ev, gating = params["prompt"], params["evaluation"], params["gating"]
    contexts = with_confidence(
        retrieve_contexts(questions, index, encoder, params["retrieval"]["k"]), index, gating["score"]
    )
    # a user's own table: every reference is scored (``scored`` limits the pipeline's question kinds)
    every_kind_scored = {k: v for k, v in params["generation"].items() if k != "scored"}
    answers = answer_questions(
        contexts, systems, models=system_models(base_model, adapter, systems), tokenizer=tokenizer,
        options=every_kind_scored, prompt=prompt, extractive=params["extractive"],
    )  # fmt: skip
    scores = assess_answers(answers, contexts, bertscore_encoder, ev, prompt, gating)
    has_ref = scores["reference"].str.len() > 0
    summary = (
        summarise(scores[has_ref], ev["n_bootstrap"], ev["seed"], gating["faithful_min_k_precision"])
        if has_ref.any()
        else pd.DataFrame()
    )
    return scores, summary
