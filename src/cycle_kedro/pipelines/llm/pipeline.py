"""The ``llm`` pipeline: knowledge base → topics, held-out split, retrieval index → RAFT LoRA → evaluation."""

from kedro.pipeline import Node, Pipeline

from .assessment import (
    answer_base,
    answer_lora,
    answer_retrieval_only,
    score_answers,
    summarise_evaluation,
    write_grounded_report,
)
from .curation import write_forecast_qa
from .grounding import (
    build_eval_questions,
    build_raft_instructions,
    build_retrieval_index,
    model_question_topics,
    retrieve_passages,
    split_held_out,
)
from .training import convert_base_model, train_lora_adapter

COHORTS = ("fedcycle", "synthetic")
# the forecasting pipeline's per-woman next-cycle forecast of a cohort (an input of this pipeline)
FORECAST_DATASET = "forecasting.{cohort}.next_cycle_forecast"
_FORECAST_QA = {
    "fedcycle_qa": "llm.fedcycle.forecast_qa",
    "synthetic_qa": "llm.synthetic.forecast_qa",
}


def _forecast_qa(cohort: str) -> Pipeline:
    """``write_forecast_qa`` in namespace ``llm.<cohort>`` (parameters ``llm.<cohort>.forecast_qa``)."""
    template = Pipeline(
        [
            Node(
                write_forecast_qa,
                inputs=["next_cycle_forecast", "params:forecast_qa"],
                outputs="forecast_qa",
                name="write_forecast_qa",
            )
        ]
    )
    return Pipeline(
        template,
        namespace=f"llm.{cohort}",
        inputs={"next_cycle_forecast": FORECAST_DATASET.format(cohort=cohort)},
    )


def _grounding() -> Pipeline:
    """Topics of the KB questions, the held-out split, the index, the held-out questions' passages."""
    return Pipeline(
        [
            Node(
                model_question_topics,
                inputs=["knowledge_base", "llm_text_encoder", "params:llm.topics"],
                outputs=["llm_kb_topics", "llm_topic_terms"],
                name="model_question_topics",
            ),
            Node(
                split_held_out,
                inputs=["llm_kb_topics", "params:llm.split"],
                outputs="llm_kb_split",
                name="split_held_out",
            ),
            Node(
                build_retrieval_index,
                inputs=["llm_kb_split", "llm_text_encoder", "params:llm.index"],
                outputs="llm_retrieval_index",
                name="build_retrieval_index",
            ),
            Node(
                build_eval_questions,
                inputs={
                    "kb_split": "llm_kb_split",
                    **_FORECAST_QA,
                    "options": "params:llm.eval_set",
                },
                outputs="llm_eval_questions",
                name="build_eval_questions",
            ),
            Node(
                retrieve_passages,
                inputs={
                    "questions": "llm_eval_questions",
                    "index": "llm_retrieval_index",
                    "encoder": "llm_text_encoder",
                    "options": "params:llm.retrieval",
                },
                outputs="llm_eval_contexts",
                name="retrieve_passages",
            ),
        ]
    )


def _training() -> Pipeline:
    """The base model, RAFT examples and the LoRA adapter."""
    return Pipeline(
        [
            Node(
                convert_base_model,
                inputs=["llm_source_model", "llm_source_tokenizer"],
                outputs=["llm_base_model", "llm_tokenizer"],
                name="convert_base_model",
            ),
            Node(
                build_raft_instructions,
                inputs={
                    "kb_split": "llm_kb_split",
                    **_FORECAST_QA,
                    "index": "llm_retrieval_index",
                    "encoder": "llm_text_encoder",
                    "tokenizer": "llm_tokenizer",
                    "options": "params:llm.raft",
                    "prompt": "params:llm.prompt",
                },
                outputs="llm_instructions",
                name="build_raft_instructions",
            ),
            Node(
                train_lora_adapter,
                inputs={
                    "base_model": "llm_base_model",
                    "tokenizer": "llm_tokenizer",
                    "instructions": "llm_instructions",
                    "lora": "params:llm.lora",
                    "training": "params:llm.training",
                },
                outputs=["llm_lora_adapter", "llm_loss_curve"],
                name="train_lora_adapter",
            ),
        ]
    )


def _evaluation() -> Pipeline:
    """Five systems on the held-out questions, the safety pass and scores, tables and the report."""
    generation = {
        "tokenizer": "llm_tokenizer",
        "contexts": "llm_eval_contexts",
        "options": "params:llm.generation",
        "prompt": "params:llm.prompt",
    }
    return Pipeline(
        [
            Node(
                answer_base,
                inputs={"base_model": "llm_base_model", **generation},
                outputs="llm_base_answers",
                name="answer_base",
            ),
            Node(
                answer_lora,
                inputs={
                    "base_model": "llm_base_model",
                    "adapter": "llm_lora_adapter",
                    **generation,
                },
                outputs="llm_lora_answers",
                name="answer_lora",
            ),
            Node(
                answer_retrieval_only,
                inputs="llm_eval_contexts",
                outputs="llm_retrieval_answers",
                name="answer_retrieval_only",
            ),
            Node(
                score_answers,
                inputs={
                    "base": "llm_base_answers",
                    "lora": "llm_lora_answers",
                    "retrieval": "llm_retrieval_answers",
                    "contexts": "llm_eval_contexts",
                    "bertscore_encoder": "bertscore_encoder",
                    "options": "params:llm.evaluation",
                    "prompt": "params:llm.prompt",
                },
                outputs="llm_answer_scores",
                name="score_answers",
            ),
            Node(
                summarise_evaluation,
                inputs=["llm_answer_scores", "params:llm.evaluation"],
                outputs=["llm_evaluation", "llm_forecast_evaluation", "llm_metrics"],
                name="summarise_evaluation",
            ),
            Node(
                write_grounded_report,
                inputs={
                    "evaluation": "llm_evaluation",
                    "forecast_evaluation": "llm_forecast_evaluation",
                    "topics": "llm_topic_terms",
                    "scores": "llm_answer_scores",
                    "options": "params:llm.evaluation",
                },
                outputs="llm_samples",
                name="write_grounded_report",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Forecast explanations, grounding in the knowledge base, RAFT LoRA training, evaluation."""
    forecasts = sum((_forecast_qa(c) for c in COHORTS), Pipeline([]))
    return forecasts + _grounding() + _training() + _evaluation()
