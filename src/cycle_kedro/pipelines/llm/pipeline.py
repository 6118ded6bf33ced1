"""The ``llm`` pipeline: knowledge base → topics, held-out split, retrieval index → fine-tuned retriever → RAFT LoRA
→ evaluation, and the served model ``cycle_assistant``.

Built in namespace ``llm`` (datasets ``llm.kb_split``, ``llm.evaluation``, ...; parameters
``llm.<group>``); the forecast explanations of each cohort run in ``llm.<cohort>``. Its inputs from
other pipelines: ``knowledge_base`` (ingestion) and each cohort's next-cycle forecast (forecasting).
"""

from kedro.pipeline import Node, Pipeline

from cycle_kedro.cohorts import cohorts

from .answering import answer_base, answer_extractive, answer_lora, answer_retrieval_only
from .assessment import apply_dev_rules, score_answers, summarise_evaluation, tabulate_gating
from .curation import write_forecast_qa
from .grounding import (
    build_eval_questions,
    build_retrieval_index,
    model_question_topics,
    retrieve_passages,
    split_held_out,
)
from .plots import plot_gating_tradeoff
from .report import write_grounded_report
from .retriever import (
    build_retriever_sets,
    build_tuned_indexes,
    evaluate_retrievers,
    train_retriever,
)
from .serving import package_assistant_model
from .training import build_raft_instructions, convert_base_model, train_lora_adapter

# the forecasting pipeline's per-woman next-cycle forecast of a cohort (an input of this pipeline)
FORECAST_DATASET = "forecasting.{cohort}.next_cycle_forecast"


def _forecast_qa(cohort: str) -> Pipeline:
    """``write_forecast_qa`` in namespace ``<cohort>`` (inside ``llm``: parameters ``llm.<cohort>.forecast_qa``)."""
    template = Pipeline(
        [
            Node(
                func=write_forecast_qa,
                inputs=["next_cycle_forecast", "params:forecast_qa"],
                outputs="forecast_qa",
                name="write_forecast_qa",
            )
        ]
    )
    return Pipeline(
        template,
        namespace=cohort,
        inputs={"next_cycle_forecast": FORECAST_DATASET.format(cohort=cohort)},
    )


def _grounding(forecast_qa: dict[str, str]) -> Pipeline:
    """Topics of the KB questions, the held-out split, the index, the held-out questions' passages."""
    return Pipeline(
        [
            Node(
                func=model_question_topics,
                inputs=["knowledge_base", "text_encoder", "params:topics"],
                outputs=["kb_topics", "topic_terms"],
                name="model_question_topics",
            ),
            Node(
                func=split_held_out,
                inputs=["kb_topics", "consumer_questions", "params:split"],
                outputs="kb_split",
                name="split_held_out",
            ),
            Node(
                func=build_retrieval_index,
                inputs=["kb_split", "text_encoder", "params:index"],
                outputs="retrieval_index",
                name="build_retrieval_index",
            ),
            Node(
                func=build_eval_questions,
                inputs={
                    "kb_split": "kb_split",
                    "consumer_questions": "consumer_questions",
                    "options": "params:eval_set",
                    **forecast_qa,
                },
                outputs="eval_questions",
                name="build_eval_questions",
            ),
            Node(
                func=retrieve_passages,
                inputs={
                    "questions": "eval_questions",
                    "index": "tuned_index",
                    "encoder": "retriever_encoder",
                    "options": "params:retrieval",
                },
                outputs="eval_contexts",
                name="retrieve_passages",
            ),
        ]
    )


def _retriever() -> Pipeline:
    """The question encoder fine-tuned on the training side, the tuned and deployment indexes, recall."""
    return Pipeline(
        [
            Node(
                func=build_retriever_sets,
                inputs=["kb_split", "params:retriever"],
                outputs=["retriever_pairs", "retriever_questions"],
                name="build_retriever_sets",
            ),
            Node(
                func=train_retriever,
                inputs=["retriever_pairs", "retrieval_index", "text_encoder", "params:retriever"],
                outputs=["retriever_encoder", "retriever_loss"],
                name="train_retriever",
            ),
            Node(
                func=build_tuned_indexes,
                inputs={
                    "kb_split": "kb_split",
                    "index": "retrieval_index",
                    "encoder": "text_encoder",
                    "index_options": "params:index",
                    "options": "params:retriever",
                },
                outputs=["tuned_index", "deployment_index"],
                name="build_tuned_indexes",
            ),
            Node(
                func=evaluate_retrievers,
                inputs={
                    "questions": "retriever_questions",
                    "base_index": "retrieval_index",
                    "base_encoder": "text_encoder",
                    "tuned_index": "tuned_index",
                    "tuned_encoder": "retriever_encoder",
                    "options": "params:retriever",
                },
                outputs=["retriever_evaluation", "retriever_type_weights", "retriever_metrics"],
                name="evaluate_retrievers",
            ),
        ]
    )


def _training(forecast_qa: dict[str, str]) -> Pipeline:
    """The base model, RAFT examples and the LoRA adapter."""
    return Pipeline(
        [
            Node(
                func=convert_base_model,
                inputs=["source_model", "source_tokenizer"],
                outputs=["base_model", "tokenizer"],
                name="convert_base_model",
            ),
            Node(
                func=build_raft_instructions,
                inputs={
                    "kb_split": "kb_split",
                    "index": "tuned_index",
                    "encoder": "retriever_encoder",
                    "tokenizer": "tokenizer",
                    "options": "params:raft",
                    "prompt": "params:prompt",
                    **forecast_qa,
                },
                outputs="instructions",
                name="build_raft_instructions",
            ),
            Node(
                func=train_lora_adapter,
                inputs={
                    "base_model": "base_model",
                    "tokenizer": "tokenizer",
                    "instructions": "instructions",
                    "lora": "params:lora",
                    "training": "params:training",
                },
                outputs=["lora_adapter", "loss_curve"],
                name="train_lora_adapter",
            ),
        ]
    )


def _evaluation() -> Pipeline:
    """Every system on the evaluation questions, the safety pass, gate and scores, the dev rules and the report."""
    generation = {
        "tokenizer": "tokenizer",
        "contexts": "eval_contexts",
        "options": "params:generation",
        "prompt": "params:prompt",
        "answered_by": "params:answered_by",
    }
    return Pipeline(
        [
            Node(
                func=answer_base,
                inputs={"base_model": "base_model", **generation},
                outputs="base_answers",
                name="answer_base",
            ),
            Node(
                func=answer_lora,
                inputs={"base_model": "base_model", "adapter": "lora_adapter", **generation},
                outputs="lora_answers",
                name="answer_lora",
            ),
            Node(
                func=answer_extractive,
                inputs=["eval_contexts", "params:extractive", "params:answered_by"],
                outputs="extractive_answers",
                name="answer_extractive",
            ),
            Node(
                func=answer_retrieval_only,
                inputs=["eval_contexts", "params:answered_by"],
                outputs="retrieval_answers",
                name="answer_retrieval_only",
            ),
            Node(
                func=score_answers,
                inputs={
                    "base": "base_answers",
                    "lora": "lora_answers",
                    "extractive": "extractive_answers",
                    "retrieval": "retrieval_answers",
                    "contexts": "eval_contexts",
                    "index": "retrieval_index",
                    "bertscore_encoder": "bertscore_encoder",
                    "options": "params:evaluation",
                    "prompt": "params:prompt",
                    "gating": "params:gating",
                },
                outputs="answer_scores",
                name="score_answers",
            ),
            Node(
                func=summarise_evaluation,
                inputs=["answer_scores", "params:evaluation", "params:gating"],
                outputs=["evaluation", "forecast_evaluation", "metrics"],
                name="summarise_evaluation",
            ),
            Node(
                func=tabulate_gating,
                inputs=["answer_scores", "params:gating"],
                outputs="gating_tradeoff",
                name="tabulate_gating",
            ),
            Node(
                func=plot_gating_tradeoff,
                inputs=["gating_tradeoff", "params:gating", "params:ask"],
                outputs="gating_tradeoff_plot",
                name="plot_gating_tradeoff",
            ),
            Node(
                func=apply_dev_rules,
                inputs={
                    "evaluation": "evaluation",
                    "gating_tradeoff": "gating_tradeoff",
                    "scores": "answer_scores",
                    "gating": "params:gating",
                    "selection": "params:selection",
                    "ask": "params:ask",
                },
                outputs=["dev_choices", "selection_metrics"],
                name="apply_dev_rules",
            ),
            Node(
                func=write_grounded_report,
                inputs={
                    "evaluation": "evaluation",
                    "forecast_evaluation": "forecast_evaluation",
                    "topics": "topic_terms",
                    "scores": "answer_scores",
                    "gating_tradeoff": "gating_tradeoff",
                    "dev_choices": "dev_choices",
                    "options": "params:evaluation",
                    "gating": "params:gating",
                    "ask": "params:ask",
                },
                outputs="samples",
                name="write_grounded_report",
            ),
        ]
    )


def _serving() -> Pipeline:
    """The served model ``cycle_assistant`` (logged and registered by its catalog dataset)."""
    return Pipeline(
        [
            Node(
                func=package_assistant_model,
                inputs={
                    "base_model": "base_model",
                    "tokenizer": "tokenizer",
                    "adapter": "lora_adapter",
                    "index": "deployment_index",  # the whole knowledge base, as cycle-ask
                    "encoder": "retriever_encoder",
                    "prompt": "params:prompt",
                    "retrieval": "params:retrieval",
                    "evaluation": "params:evaluation",
                    "gating": "params:gating",
                    "extractive": "params:extractive",
                    "ask": "params:ask",
                    "serving": "params:serving",
                },
                outputs="cycle_assistant",
                name="package_assistant_model",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Forecast explanations, grounding in the knowledge base, RAFT LoRA training, evaluation,
    the served model."""
    names = [c.name for c in cohorts(forecast_qa=True)]
    # the forecast Q&A tables in cohort order (fedcycle before synthetic): argument <cohort>_qa
    forecast_qa = {f"{name}_qa": f"{name}.forecast_qa" for name in names}
    explanations = sum((_forecast_qa(name) for name in names), Pipeline([]))
    return Pipeline(
        explanations
        + _grounding(forecast_qa)
        + _retriever()
        + _training(forecast_qa)
        + _evaluation()
        + _serving(),
        namespace="llm",
        inputs={"knowledge_base", *(FORECAST_DATASET.format(cohort=name) for name in names)},
    )
