"""``cycle-ask``: ask the LoRA-adapted model a question, or have it explain a woman's forecast.

Everything is loaded through the project's Kedro catalog (paths stay in ``conf/``)::

    cycle-ask "What is premenstrual syndrome?"
    cycle-ask --explain 007784cd489e --cohort fedcycle
    cycle-ask --base "What is endometriosis?"          # the base model, without the adapter
    cycle-ask --env a100 "..."                          # another Kedro environment

Datasets used: ``llm_base_model``, ``llm_tokenizer``, ``llm_lora_adapter`` (latest version) and,
for ``--explain``, ``forecasting.<cohort>.next_cycle_forecast``; parameters ``llm.prompt`` and ``llm.ask``. The
session's ``RuntimeHooks`` set the offline environment; this entry point runs no pipeline, so it sets
torch's CPU threads itself, from the same ``runtime.yml`` (``torch_num_threads``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from cycle_kedro.pipelines.llm import corpus as C
from cycle_kedro.pipelines.llm import modeling as T
from cycle_kedro.validation import DataValidationError


def explain_question(forecast: pd.DataFrame, woman_id: str, source: str) -> str:
    """The forecast question for one (hashed) ``woman_id``; clear error if she is not in ``source``."""
    C.check_forecast(forecast, source)
    rows = forecast[forecast["woman_id"] == woman_id]
    if rows.empty:
        raise DataValidationError(
            f"{source}: no row with woman_id {woman_id!r} (ids are 12 hex digits)"
        )
    return C.forecast_question(rows.iloc[0], C.ASKS[1])


def answer(model: Any, tokenizer: Any, question: str, system: str, options: dict[str, Any]) -> str:
    """One greedy answer from ``model`` for ``question`` in the tokenizer's chat format."""
    prompt, _ = T.chat_pair(tokenizer, system, question, "")
    return T.generate(
        model,
        tokenizer,
        [prompt],
        max_new_tokens=options["max_new_tokens"],
        batch_size=1,
        device=T.resolve_device(options["device"]),
        max_prompt_tokens=options["max_length"],
        no_repeat_ngram_size=options.get("no_repeat_ngram_size", 0),
    )[0]


def _project_root(start: Path) -> Path:
    for path in (start, *start.parents):
        if (path / "pyproject.toml").is_file() and (path / "conf").is_dir():
            return path
    return Path(__file__).resolve().parents[2]


def _set_torch_threads(config_loader: Any) -> None:
    """torch's CPU threads from ``runtime.yml`` (``torch_num_threads``; null keeps torch's default)."""
    from kedro.config import MissingConfigException  # noqa: PLC0415

    try:
        threads = (config_loader["runtime"] or {}).get("torch_num_threads")
    except (KeyError, MissingConfigException):
        threads = None
    if threads:
        import torch  # noqa: PLC0415

        torch.set_num_threads(int(threads))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cycle-ask", description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", help="a women's-health question")
    parser.add_argument(
        "--explain", metavar="WOMAN_ID", help="explain this woman's next-cycle forecast"
    )
    parser.add_argument("--cohort", default="fedcycle", choices=["fedcycle", "synthetic"])
    parser.add_argument(
        "--base", action="store_true", help="use the base model without the adapter"
    )
    parser.add_argument("--env", default=None, help="Kedro environment (default: local)")
    parser.add_argument(
        "--project", type=Path, default=None, help="project root (default: found from cwd)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cycle-ask``: 0 on success, 2 with a one-line message on bad input.

    Only the answer goes to stdout (``cycle-ask "..." > answer.txt`` holds the answer alone);
    Kedro's and the libraries' log lines, warnings and progress output go to stderr.
    """
    args = _parser().parse_args(argv)
    if args.question is not None and not args.question.strip():
        _parser().error("the question is empty (only spaces): ask something")
    if bool(args.question) == bool(args.explain):
        _parser().error("give a question or --explain WOMAN_ID (not both)")
    from kedro.io import DatasetError  # noqa: PLC0415

    try:
        with contextlib.redirect_stdout(sys.stderr):
            text = _run(args)
    except (DataValidationError, DatasetError) as exc:
        sys.stderr.write(f"cycle-ask: {exc}\n")
        return 2
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def _run(args: argparse.Namespace) -> str:
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    from cycle_kedro.datasets.hf import attach_adapter  # noqa: PLC0415

    root = args.project or _project_root(Path.cwd())
    bootstrap_project(root)
    with KedroSession.create(project_path=root, env=args.env) as session:
        context = session.load_context()
        _set_torch_threads(context.config_loader)
        catalog, params = context.catalog, context.params["llm"]
        question, template = args.question, ""
        if args.explain:
            name = f"forecasting.{args.cohort}.next_cycle_forecast"
            forecast = catalog.load(name)
            question = explain_question(forecast, args.explain, name)
            row = forecast[forecast["woman_id"] == args.explain].iloc[0]
            template = (
                f"\n\nTemplate explanation (written from the numbers): {C.forecast_answer(row)}\n"
            )
        model = catalog.load("llm_base_model")
        if not args.base:
            model = attach_adapter(model, catalog.load("llm_lora_adapter"))
        reply = answer(
            model,
            catalog.load("llm_tokenizer"),
            question,
            params["prompt"]["system"],
            params["ask"],
        )
    return f"Q: {question}\n\nA ({'base' if args.base else 'LoRA'} model): {reply}\n{template}"


if __name__ == "__main__":
    raise SystemExit(main())
