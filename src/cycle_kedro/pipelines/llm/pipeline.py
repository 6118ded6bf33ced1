"""The ``llm`` pipeline: curated women's-health corpus → LoRA adapter → held-out evaluation."""

from kedro.pipeline import Node, Pipeline

from .curation import cluster_topics, curate_corpus, split_by_topic, write_forecast_qa
from .evaluation import (
    evaluate_answers,
    predict_base_answers,
    predict_lora_answers,
    predict_retrieval_answers,
    write_sample_report,
)
from .training import convert_base_model, format_instructions, train_lora_adapter

COHORTS = ("fedcycle", "synthetic")
# the forecasting pipeline's per-woman next-cycle forecast of a cohort (an input of this pipeline)
FORECAST_DATASET = "forecasting.{cohort}.next_cycle_forecast"


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


def create_pipeline(**kwargs) -> Pipeline:
    """Corpus, topic split, LoRA training on the base model, evaluation of base/LoRA/retrieval."""
    corpus = Pipeline(
        [
            Node(
                curate_corpus,
                inputs={
                    "medquad_qa": "medquad_qa",
                    "fedcycle_qa": "llm.fedcycle.forecast_qa",
                    "synthetic_qa": "llm.synthetic.forecast_qa",
                    "options": "params:llm.curation",
                },
                outputs="llm_corpus",
                name="curate_corpus",
            ),
            Node(
                cluster_topics,
                inputs=["llm_corpus", "params:llm.topics"],
                outputs=["llm_corpus_topics", "llm_topic_terms"],
                name="cluster_topics",
            ),
            Node(
                split_by_topic,
                inputs=["llm_corpus_topics", "params:llm.split"],
                outputs="llm_model_input",
                name="split_by_topic",
            ),
        ]
    )
    model = Pipeline(
        [
            Node(
                convert_base_model,
                inputs=["llm_source_model", "llm_source_tokenizer"],
                outputs=["llm_base_model", "llm_tokenizer"],
                name="convert_base_model",
            ),
            Node(
                format_instructions,
                inputs=["llm_model_input", "llm_tokenizer", "params:llm.prompt"],
                outputs="llm_instructions",
                name="format_instructions",
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
    evaluation = Pipeline(
        [
            Node(
                predict_base_answers,
                inputs={
                    "base_model": "llm_base_model",
                    "tokenizer": "llm_tokenizer",
                    "instructions": "llm_instructions",
                    "options": "params:llm.evaluation",
                },
                outputs="llm_base_predictions",
                name="predict_base_answers",
            ),
            Node(
                predict_lora_answers,
                inputs={
                    "base_model": "llm_base_model",
                    "adapter": "llm_lora_adapter",
                    "tokenizer": "llm_tokenizer",
                    "instructions": "llm_instructions",
                    "options": "params:llm.evaluation",
                },
                outputs="llm_lora_predictions",
                name="predict_lora_answers",
            ),
            Node(
                predict_retrieval_answers,
                inputs="llm_instructions",
                outputs="llm_retrieval_predictions",
                name="predict_retrieval_answers",
            ),
            Node(
                evaluate_answers,
                inputs={
                    "base": "llm_base_predictions",
                    "lora": "llm_lora_predictions",
                    "retrieval": "llm_retrieval_predictions",
                    "instructions": "llm_instructions",
                    "encoder": "bertscore_encoder",
                },
                outputs=["llm_evaluation", "llm_metrics"],
                name="evaluate_answers",
            ),
            Node(
                write_sample_report,
                inputs={
                    "base": "llm_base_predictions",
                    "lora": "llm_lora_predictions",
                    "retrieval": "llm_retrieval_predictions",
                    "instructions": "llm_instructions",
                    "evaluation": "llm_evaluation",
                    "options": "params:llm.evaluation",
                },
                outputs="llm_samples",
                name="write_sample_report",
            ),
        ]
    )
    return sum((_forecast_qa(c) for c in COHORTS), Pipeline([])) + corpus + model + evaluation
