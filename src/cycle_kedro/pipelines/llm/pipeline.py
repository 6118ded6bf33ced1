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
from .grounding import (
    build_eval_questions,
    build_raft_instructions,
    build_retrieval_index,
    model_question_topics,
    retrieve_passages,
    split_held_out,
)
from .nodes import convert_base_model, train_lora_adapter, write_forecast_qa

COHORTS = ("fedcycle", "synthetic")
_FORECAST_QA = ["fedcycle.forecast_qa", "synthetic.forecast_qa"]


def _forecast_qa(cohort: str) -> Pipeline:
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
        namespace=cohort,
        parameters={"params:forecast_qa": f"params:llm_forecast_qa.{cohort}"},
    )


def _grounding() -> Pipeline:
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
                inputs=["llm_kb_split", *_FORECAST_QA, "params:llm.eval_set"],
                outputs="llm_eval_questions",
                name="build_eval_questions",
            ),
            Node(
                retrieve_passages,
                inputs=[
                    "llm_eval_questions",
                    "llm_retrieval_index",
                    "llm_text_encoder",
                    "params:llm.retrieval",
                ],
                outputs="llm_eval_contexts",
                name="retrieve_passages",
            ),
        ]
    )


def _training() -> Pipeline:
    return Pipeline(
        [
            Node(
                convert_base_model,
                inputs="params:llm_model",
                outputs=["llm_base_model", "llm_tokenizer"],
                name="convert_base_model",
            ),
            Node(
                build_raft_instructions,
                inputs=[
                    "llm_kb_split",
                    *_FORECAST_QA,
                    "llm_retrieval_index",
                    "llm_text_encoder",
                    "llm_tokenizer",
                    "params:llm.raft",
                    "params:llm.prompt",
                ],
                outputs="llm_instructions",
                name="build_raft_instructions",
            ),
            Node(
                train_lora_adapter,
                inputs=[
                    "llm_base_model",
                    "llm_tokenizer",
                    "llm_instructions",
                    "params:llm_lora",
                    "params:llm_training",
                ],
                outputs=["llm_lora_adapter", "llm_loss_curve"],
                name="train_lora_adapter",
            ),
        ]
    )


def _evaluation() -> Pipeline:
    generation = ["llm_eval_contexts", "params:llm.generation", "params:llm.prompt"]
    return Pipeline(
        [
            Node(
                answer_base,
                inputs=["llm_base_model", "llm_tokenizer", *generation],
                outputs="llm_base_answers",
                name="answer_base",
            ),
            Node(
                answer_lora,
                inputs=["llm_base_model", "llm_lora_adapter", "llm_tokenizer", *generation],
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
                inputs=[
                    "llm_base_answers",
                    "llm_lora_answers",
                    "llm_retrieval_answers",
                    "llm_eval_contexts",
                    "llm_bertscore_encoder",
                    "params:llm.evaluation",
                    "params:llm.prompt",
                ],
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
                inputs=[
                    "llm_evaluation",
                    "llm_forecast_evaluation",
                    "llm_topic_terms",
                    "llm_answer_scores",
                    "params:llm.evaluation",
                ],
                outputs="llm_samples",
                name="write_grounded_report",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Forecast explanations, grounding in the knowledge base, RAFT LoRA training, evaluation."""
    forecasts = sum((_forecast_qa(c) for c in COHORTS), Pipeline([]))
    return forecasts + _grounding() + _training() + _evaluation()
