"""The cycle-ask CLI helpers (the catalog-backed main() is exercised by hand, see the README)."""

from __future__ import annotations

import json

import pytest

from cycle_kedro.ask import PER_ANSWER_COLUMNS, _format, evaluate_file, explain_question, main
from cycle_kedro.assistant import answer, retrieval
from cycle_kedro.validation import DataValidationError


def test_explain_question_uses_her_numbers(fedcycle_forecast):
    row = fedcycle_forecast.iloc[2]
    question = explain_question(fedcycle_forecast, row["woman_id"], "fedcycle.next_cycle_forecast")
    assert f"{int(row['n_cycles_used'])} recorded cycles" in question
    assert f"predicts {row['predicted_length']:.1f}".rstrip("0").rstrip(".") in question


def test_explain_question_unknown_id_names_the_dataset(fedcycle_forecast):
    with pytest.raises(
        DataValidationError,
        match=r"fedcycle\.next_cycle_forecast: no row with woman_id 'ffffffffffff'",
    ):
        explain_question(fedcycle_forecast, "ffffffffffff", "fedcycle.next_cycle_forecast")


def test_main_needs_exactly_one_of_question_explain_or_eval():
    with pytest.raises(SystemExit):
        main([])
    with pytest.raises(SystemExit):
        main(["what is PMS?", "--explain", "0123456789ab"])
    with pytest.raises(SystemExit):
        main(["--eval", "questions.jsonl"])  # needs --out


@pytest.mark.slow
def test_eval_entry_point_on_a_tiny_model(  # noqa: PLR0917 (pytest fixtures)
    tmp_path,
    tiny_model,
    tiny_tokenizer,
    knowledge_base,
    minilm,
    llm_params,
    random_adapter,
    bertscore_encoder,
):
    torch = pytest.importorskip("torch")

    from cycle_kedro.datasets.validated import ValidatedJSONLinesDataset  # noqa: PLC0415

    index = retrieval.build_index(retrieval.split_passages(knowledge_base, 12, 2), minilm, {})
    lines = [
        {"question": "What are the symptoms of Menopause?", "answer": "Hot flashes and periods stop.",
         "source": "https://example.nih.gov/doc4", "focus": "Menopause"},
        {"question": "What is osteoporosis?", "answer": "Weak bones that fracture easily."},
        {"question": "Call 555 what?", "answer": "No."},
    ]  # fmt: skip
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    questions = ValidatedJSONLinesDataset(
        filepath=str(path), schema="cycle_kedro.schemas.USER_QA"
    ).load()
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    resources = {"base": tiny_model, "adapter": random_adapter, "tokenizer": tiny_tokenizer,
                 "index": index, "encoder": minilm, "bertscore_encoder": bertscore_encoder.load()}  # fmt: skip
    systems = ["base", "lora_rag", "retrieval"]
    rows, summary = evaluate_file(questions, systems, resources, llm_params)

    assert len(rows) == 3 * len(lines) and list(rows.columns) == PER_ANSWER_COLUMNS
    assert rows.groupby("system")["question"].apply(list).to_dict()["retrieval"] == [
        x["question"] for x in lines
    ]
    rag = rows[rows["system"] == "lora_rag"]
    assert rag["passage_urls"].map(len).eq(2).all() and rows["rouge_l"].between(0, 100).all()
    menopause = rows[rows["question"].str.contains("Menopause")]
    assert menopause["pointer_added"].all()  # a symptom question ends with the clinician pointer
    assert menopause["has_sibling"].all() and menopause["hit_focus"].notna().all()
    assert (
        rows.loc[rows["system"] == "retrieval", "nll"].isna().all()
        and rows.loc[rows["system"] == "base", "nll"].gt(0).all()
    )
    assert summary["system"].tolist() == systems and summary["n"].eq(len(lines)).all()
    assert {"d_rouge_l", "d_rouge_l_lo", "d_rouge_l_hi", "ppl_change"} <= set(summary.columns)
    assert all(
        torch.equal(v, before[k]) for k, v in tiny_model.state_dict().items()
    )  # base unchanged
    with pytest.raises(ValueError, match="unknown system"):
        evaluate_file(questions, ["gpt"], resources, llm_params)
    no_model = {k: v for k, v in resources.items() if k not in {"base", "adapter"}}
    rows, _ = evaluate_file(questions, ["extractive"], no_model, llm_params)  # no model loaded
    assert rows["k_precision"].dropna().eq(1.0).all() and rows["confidence"].notna().all()


def test_answers_format_for_stdout_and_json(
    tiny_model, tiny_tokenizer, knowledge_base, minilm, llm_params
):
    index = retrieval.build_index(retrieval.split_passages(knowledge_base, 12, 2), minilm, {})
    resources = {"tokenizer": tiny_tokenizer, "index": index, "encoder": minilm, "params": llm_params,
                 "options": {"max_new_tokens": 4, "max_length": 256, "device": "cpu"}}  # fmt: skip
    top = answer("What is osteoporosis?", "retrieval", model=None, **resources)
    rag = answer("What are the symptoms of menopause?", "base_rag", model=tiny_model, **resources)
    text = _format(top, as_json=False)
    assert text.startswith(top["answer"]) and "\nSources:\n- https://" in text
    assert json.loads(_format(rag, as_json=True))["flags"]["clinician_pointer"] is True
