"""The llm conf envs: the CPU default keeps the study's recipe, llm_full and a100 run the same full recipe."""

from __future__ import annotations

from pathlib import Path

import yaml

CONF = Path(__file__).resolve().parents[1] / "conf"


def _llm(env: str) -> dict:
    return yaml.safe_load((CONF / env / "parameters_llm.yml").read_text(encoding="utf-8"))["llm"]


def test_study_recipe_is_the_default():
    base = _llm("base")
    assert (base["lora"]["r"], base["lora"]["alpha"]) == (16, 32)
    assert (base["training"]["epochs"], base["training"]["learning_rate"]) == (3, 2e-4)


def test_a100_builds_on_llm_full_which_keeps_the_held_out_questions_and_metrics():
    base, full = _llm("base"), _llm("llm_full")
    assert _llm("a100") == full
    assert set(full) <= set(base)  # overrides only (soft-merged onto conf/base)
    for group in ("split", "topics", "lora", "prompt"):  # same questions, topics, recipe, prompts
        assert group not in full
    assert full["raft"]["n_medquad"] > 10 * base["raft"]["n_medquad"]  # the whole corpus
    assert full["index"]["max_passages"] is None
    assert set(full["evaluation"]) <= set(base["evaluation"]) and "safety" not in full["evaluation"]
