"""``cycle-ask``: a grounded answer with its sources, a forecast explanation, or an evaluation of a Q&A file.

Everything is loaded through the project's Kedro catalog (paths stay in ``conf/``)::

    cycle-ask "What is endometriosis?"                 # answer (the default system) and its sources
    cycle-ask --json "What is endometriosis?"          # {"answer", "sources", "flags", ...}
    cycle-ask --system lora_rag "..."                  # base | base_rag | lora | lora_rag | lora_grounded | extractive | retrieval
    cycle-ask --explain 007784cd489e --cohort fedcycle
    cycle-ask --eval my_questions.jsonl --out results.csv [--systems base,lora_rag]
    cycle-ask --env a100 "..."                          # another Kedro environment

The default system is ``llm.ask.system`` (conf/base/parameters_llm.yml), the one the dev-set rule of
the llm pipeline picks. Below the retrieval-confidence gate (``llm.gating.threshold``) the answer
says that the sources do not cover the question and lists the nearest ones. Only the answer (and
its sources) goes to stdout; logs and progress bars go to stderr.
``--eval`` reads a JSON Lines file (``question``, ``answer``; optional ``source``: a URL or MedQuAD
document, and ``focus``), answers every question with each system, writes one row per answer to
``--out`` (CSV) and prints the summary table (with paired bootstrap CIs against ``base`` when it is
among the systems). Datasets used: ``llm.base_model``, ``llm.tokenizer``, ``llm.lora_adapter``,
``llm.deployment_index`` (the whole knowledge base), ``llm.retriever_encoder`` (the fine-tuned
question encoder), ``llm.bertscore_encoder`` (latest versions) and, for
``--explain``, ``forecasting.<cohort>.next_cycle_forecast``; parameters ``llm`` (``llm.ask`` for
generation). Answers come from :func:`cycle_kedro.assistant.answer` and evaluations from
:func:`cycle_kedro.assistant.run_systems`, as in the llm pipeline. The session's ``RuntimeHooks``
set the offline environment; this entry point runs no pipeline, so it sets torch's CPU threads
itself, from the same ``runtime.yml`` (``torch_num_threads``, :func:`cycle_kedro.hooks.set_torch_threads`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from cycle_kedro.assistant import SYSTEMS, answer, model_of, run_systems, system_models
from cycle_kedro.assistant.corpus import check_forecast
from cycle_kedro.assistant.evaluation import questions_table
from cycle_kedro.assistant.systems import uses_retrieval
from cycle_kedro.cohorts import cohorts
from cycle_kedro.cycles.explain import ASKS, explain_forecast, forecast_question
from cycle_kedro.validation import DataValidationError

PER_ANSWER_COLUMNS = [
    "system", "question_id", "question", "reference", "answer", "raw_answer", "sources", "flagged",
    "flag_numbers", "flag_contacts", "replaced", "pointer_added", "abstained", "nll", "n_tokens",
    "ref_tokens", "ref_tokens_cut", "prompt_tokens_cut", "rouge_l", "bertscore_f1", "has_sibling",
    "hit_focus", "passage_urls", "recall", "k_precision", "unsupported_share", "flag_unsupported",
    "confidence", "gated",
]  # fmt: skip


def explain_question(forecast: pd.DataFrame, woman_id: str, source: str) -> str:
    """The forecast question for one (hashed) ``woman_id``; clear error if she is not in ``source``."""
    check_forecast(forecast, source)
    rows = forecast[forecast["woman_id"] == woman_id]
    if rows.empty:
        raise DataValidationError(
            f"{source}: no row with woman_id {woman_id!r} (ids are 12 hex digits)"
        )
    return forecast_question(rows.iloc[0], ASKS[1])


def evaluate_file(
    questions: pd.DataFrame, systems: list[str], resources: dict[str, Any], params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-answer rows and the summary table for a user's Q&A table (see :func:`cycle_kedro.assistant.run_systems`)."""
    table = questions_table(questions, "user", params["eval_set"]["reference_words"])
    scores, summary = run_systems(
        table, systems, base_model=resources.get("base"), adapter=resources.get("adapter"),
        tokenizer=resources["tokenizer"], index=resources["index"], encoder=resources["encoder"],
        bertscore_encoder=resources["bertscore_encoder"], params=params,
    )  # fmt: skip
    return scores.reindex(columns=PER_ANSWER_COLUMNS), summary


def _project_root(start: Path) -> Path:
    for path in (start, *start.parents):
        if (path / "pyproject.toml").is_file() and (path / "conf").is_dir():
            return path
    return Path(__file__).resolve().parents[2]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cycle-ask", description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", help="a women's-health question")
    parser.add_argument(
        "--explain", metavar="WOMAN_ID", help="explain this woman's next-cycle forecast"
    )
    parser.add_argument(
        "--cohort", default="fedcycle", choices=[c.name for c in cohorts(forecast_qa=True)]
    )
    parser.add_argument(
        "--system", default=None, choices=SYSTEMS, help="default: llm.ask.system (picked on the dev set)"
    )
    parser.add_argument("--base", action="store_true", help="same as --system base_rag")
    parser.add_argument(
        "--json", action="store_true", help="print answer, sources and flags as JSON"
    )
    parser.add_argument(
        "--eval", metavar="FILE.jsonl", type=Path, help="evaluate a Q&A JSON Lines file"
    )
    parser.add_argument("--out", metavar="RESULTS.csv", type=Path, help="per-answer rows of --eval")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated, for --eval")
    parser.add_argument("--env", default=None, help="Kedro environment (default: local)")
    parser.add_argument(
        "--project", type=Path, default=None, help="project root (default: found from cwd)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cycle-ask``: 0 on success, 2 with a one-line message on bad input.

    Only the answer (and its sources, or the --eval summary) goes to stdout (``cycle-ask "..." >
    answer.txt``); Kedro's and the libraries' log lines, warnings and progress output go to stderr.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.question is not None and not args.question.strip():
        parser.error("the question is empty (only spaces): ask something")
    modes = [bool(args.question), bool(args.explain), bool(args.eval)]
    if sum(modes) != 1:
        parser.error("give one of: a question, --explain WOMAN_ID, --eval FILE.jsonl")
    if args.eval and not args.out:
        parser.error("--eval needs --out RESULTS.csv")
    if args.base:
        args.system = "base_rag"
    from kedro.io import DatasetError  # noqa: PLC0415

    try:
        with contextlib.redirect_stdout(sys.stderr):  # Kedro's and the libraries' logs: stderr
            text = _run(args)
    except (DataValidationError, DatasetError, ValueError) as exc:
        sys.stderr.write(f"cycle-ask: {exc}\n")
        return 2
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def _format(result: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return json.dumps(result, ensure_ascii=False) + "\n"
    lines = [result["answer"]]
    if result["sources"]:
        title = "Nearest sources (they do not answer it):" if result["flags"]["abstained"] else "Sources:"
        lines += ["", title, *(f"- {u}" for u in result["sources"])]
    return "\n".join(lines) + "\n"


def _resources(catalog: Any, systems: set[str]) -> dict[str, Any]:
    """The datasets ``systems`` need: tokenizer, base model, adapter, retrieval index and encoder."""
    models = {model_of(s) for s in systems}
    res: dict[str, Any] = {"tokenizer": catalog.load("llm.tokenizer")}
    if models & {"base", "lora"}:
        res["base"] = catalog.load("llm.base_model")
    if "lora" in models:
        res["adapter"] = catalog.load("llm.lora_adapter")
    if any(uses_retrieval(s) for s in systems):
        res["index"] = catalog.load("llm.deployment_index")  # every knowledge-base row
        res["encoder"] = catalog.load("llm.retriever_encoder")
    return res


def _run(args: argparse.Namespace) -> str:
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    from cycle_kedro.hooks import runtime_config, set_torch_threads  # noqa: PLC0415

    root = args.project or _project_root(Path.cwd())
    bootstrap_project(root)
    with KedroSession.create(project_path=root, env=args.env) as session:
        context = session.load_context()
        set_torch_threads(runtime_config(context.config_loader).get("torch_num_threads"))
        catalog, params = context.catalog, context.params["llm"]
        args.system = args.system or params["ask"]["system"]
        if args.eval:
            return _evaluate(args, catalog, params)
        question, allowed = args.question, ""
        if args.explain:
            name = f"forecasting.{args.cohort}.next_cycle_forecast"
            forecast = catalog.load(name)
            question = explain_question(forecast, args.explain, name)
            row = forecast[forecast["woman_id"] == args.explain].iloc[0]
            allowed = explain_forecast(row)  # the row's numbers, as the template writes them
            model = model_of(args.system)  # a forecast is explained closed book, by the system's model
            args.system = model if model in {"base", "lora"} else "lora"
        resources = _resources(catalog, {args.system})
        models = system_models(resources.get("base"), resources.get("adapter"), [args.system])
        result = answer(
            question, args.system, model=models.get(model_of(args.system)),
            tokenizer=resources["tokenizer"], index=resources.get("index"),
            encoder=resources.get("encoder"), params=params, options=params["ask"], allowed=allowed,
        )  # fmt: skip
    return _format(result, args.json)


def _evaluate(args: argparse.Namespace, catalog: Any, params: dict[str, Any]) -> str:
    from cycle_kedro.datasets.safe_csv import SpreadsheetSafeCSVDataset  # noqa: PLC0415
    from cycle_kedro.datasets.validated import ValidatedJSONLinesDataset  # noqa: PLC0415
    from cycle_kedro.tables import markdown_table  # noqa: PLC0415

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    questions = ValidatedJSONLinesDataset(
        filepath=str(args.eval),
        schema="cycle_kedro.schemas.USER_QA",
        missing_hint="check the path given to --eval",
    ).load()
    resources = _resources(catalog, set(systems))
    resources["bertscore_encoder"] = catalog.load("llm.bertscore_encoder")
    rows, summary = evaluate_file(questions, systems, resources, params)
    SpreadsheetSafeCSVDataset(filepath=str(args.out), save_args={"index": False}).save(rows)
    return markdown_table(summary, lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
