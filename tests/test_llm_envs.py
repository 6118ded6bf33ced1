"""The llm conf envs: the CPU default keeps the study's recipe, llm_full and a100 run the same full recipe."""

from __future__ import annotations

from pathlib import Path

import yaml

CONF = Path(__file__).resolve().parents[1] / "conf"


def _params(env: str) -> dict:
    return yaml.safe_load((CONF / env / "parameters_llm.yml").read_text(encoding="utf-8"))


def test_study_recipe_is_the_default():
    base = _params("base")
    assert (base["llm_lora"]["r"], base["llm_lora"]["alpha"]) == (16, 32)
    assert (base["llm_training"]["epochs"], base["llm_training"]["learning_rate"]) == (3, 2e-4)


def test_a100_builds_on_llm_full_and_both_hold_out_the_base_questions():
    base, full, a100 = _params("base"), _params("llm_full"), _params("a100")
    for key in ("llm", "llm_training", "llm_forecast_qa", "llm_ask"):
        assert a100[key] == full[key], key
    assert full["llm"]["split"] == base["llm"]["split"]  # the same held-out questions
    assert full["llm"]["topics"] == base["llm"]["topics"]
    assert full["llm"]["raft"]["n_medquad"] > 10 * base["llm"]["raft"]["n_medquad"]  # whole corpus
    assert full["llm"]["index"]["max_passages"] is None
    assert set(full["llm"]) == set(base["llm"])
    for group in ("evaluation", "prompt"):
        assert full["llm"][group].keys() == base["llm"][group].keys()
