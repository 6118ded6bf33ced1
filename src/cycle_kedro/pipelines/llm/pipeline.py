"""The ``llm`` pipeline: curated women's-health corpus → LoRA adapter → held-out evaluation."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    cluster_topics,
    convert_base_model,
    curate_corpus,
    evaluate_answers,
    format_instructions,
    predict_base_answers,
    predict_lora_answers,
    predict_retrieval_answers,
    split_by_topic,
    train_lora_adapter,
    write_forecast_qa,
    write_sample_report,
)

COHORTS = ("fedcycle", "synthetic")


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
        inputs={"next_cycle_forecast": f"forecasting.{cohort}.next_cycle_forecast"},
        parameters={"params:forecast_qa": f"params:llm_forecast_qa.{cohort}"},
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Corpus, topic split, LoRA training on the base model, evaluation of base/LoRA/retrieval."""
    corpus = Pipeline(
        [
            Node(
                curate_corpus,
                inputs=[
                    "medquad_qa",
                    "fedcycle.forecast_qa",
                    "synthetic.forecast_qa",
                    "params:llm_curation",
                ],
                outputs="llm_corpus",
                name="curate_corpus",
            ),
            Node(
                cluster_topics,
                inputs=["llm_corpus", "params:llm_topics"],
                outputs=["llm_corpus_topics", "llm_topic_terms"],
                name="cluster_topics",
            ),
            Node(
                split_by_topic,
                inputs=["llm_corpus_topics", "params:llm_split"],
                outputs="llm_model_input",
                name="split_by_topic",
            ),
        ]
    )
    model = Pipeline(
        [
            Node(
                convert_base_model,
                inputs="params:llm_model",
                outputs=["llm_base_model", "llm_tokenizer"],
                name="convert_base_model",
            ),
            Node(
                format_instructions,
                inputs=["llm_model_input", "llm_tokenizer", "params:llm_prompt"],
                outputs="llm_instructions",
                name="format_instructions",
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
    evaluation = Pipeline(
        [
            Node(
                predict_base_answers,
                inputs=[
                    "llm_base_model",
                    "llm_tokenizer",
                    "llm_instructions",
                    "params:llm_evaluation",
                ],
                outputs="llm_base_predictions",
                name="predict_base_answers",
            ),
            Node(
                predict_lora_answers,
                inputs=[
                    "llm_base_model",
                    "llm_lora_adapter",
                    "llm_tokenizer",
                    "llm_instructions",
                    "params:llm_evaluation",
                ],
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
                inputs=[
                    "llm_base_predictions",
                    "llm_lora_predictions",
                    "llm_retrieval_predictions",
                    "llm_instructions",
                    "params:llm_evaluation",
                ],  # fmt: skip
                outputs=["llm_evaluation", "llm_metrics"],
                name="evaluate_answers",
            ),
            Node(
                write_sample_report,
                inputs=[
                    "llm_base_predictions",
                    "llm_lora_predictions",
                    "llm_retrieval_predictions",
                    "llm_instructions",
                    "llm_evaluation",
                    "params:llm_evaluation",
                ],  # fmt: skip
                outputs="llm_samples",
                name="write_sample_report",
            ),
        ]
    )
    return sum((_forecast_qa(c) for c in COHORTS), Pipeline([])) + corpus + model + evaluation
