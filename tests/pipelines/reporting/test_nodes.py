"""Report nodes on small fixture tables."""

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from cycle_kedro.pipelines.reporting.comparisons import (
    compare_correlations,
    compare_forecasts,
    compare_llm,
    compare_population,
    tidy_metrics,
)
from cycle_kedro.pipelines.reporting.report import render_html_report, render_markdown_report


class TestTidyMetrics:
    def test_aliases_are_mapped_and_label_column_becomes_model(self):
        table = pd.DataFrame({"Variant": ["base"], "PPL": [3.0], "ROUGE-L": [0.2], "R^2": [0.5]})
        out = tidy_metrics(table)
        assert list(out.columns) == ["model", "perplexity", "rouge_l", "r2"]
        assert out.loc[0, "model"] == "base"

    def test_dict_of_models_and_mlflow_style_leaves(self):
        out = tidy_metrics({"lstm": {"mse": {"value": 2.0, "step": 0}}, "arima": {"mse": 3.0}})
        assert dict(zip(out["model"], out["mse"], strict=True)) == {"lstm": 2.0, "arima": 3.0}

    def test_models_in_the_index(self):
        out = tidy_metrics(pd.DataFrame({"MSE": [1.0, 2.0]}, index=["gru", "lstm"]))
        assert out["model"].tolist() == ["gru", "lstm"]
        assert out["mse"].tolist() == [1.0, 2.0]

    def test_none_gives_an_empty_table(self):
        assert tidy_metrics(None).empty


class TestCompareForecasts:
    def test_study_row_then_ours_for_each_study_model(self, forecast_metrics, study):
        out = compare_forecasts(forecast_metrics, forecast_metrics.assign(mse=1.0), study)
        lstm = out[out["model"] == "LSTM"]
        assert lstm["source"].tolist() == [study["source"], "ours (fedcycle)", "ours (synthetic)"]
        assert lstm["mse"].tolist() == [study["forecasting"]["LSTM"]["mse"], 19.0, 1.0]
        assert lstm["our_model"].iloc[1] == "lstm"

    def test_study_models_come_first_in_study_order_extra_models_last(
        self, forecast_metrics, study
    ):
        out = compare_forecasts(forecast_metrics, forecast_metrics, study)
        first_seen = list(dict.fromkeys(out["model"]))
        assert first_seen == [*study["forecasting"], "last_cycle"]
        average = out[(out["model"] == "Average") & (out["source"] == "ours (fedcycle)")]
        assert average["our_model"].item() == "mean_previous"

    def test_every_study_number_is_carried_unchanged(self, forecast_metrics, study):
        out = compare_forecasts(forecast_metrics, forecast_metrics, study)
        theirs = out[out["source"] == study["source"]].set_index("model")
        for model, values in study["forecasting"].items():
            for metric, value in values.items():
                assert theirs.loc[model, metric] == value

    def test_an_empty_cohort_table_leaves_only_the_other_rows(self, forecast_metrics, study):
        out = compare_forecasts(forecast_metrics, pd.DataFrame(columns=["model", "mse"]), study)
        assert "ours (synthetic)" not in set(out["source"])
        ours = forecast_metrics[forecast_metrics["kind"] != "study"]
        assert len(out) == len(study["forecasting"]) + len(ours)

    def test_the_pipelines_own_study_rows_are_not_shown_twice(self, forecast_metrics, study):
        out = compare_forecasts(forecast_metrics, forecast_metrics, study)
        lstm_mse = out.loc[out["model"] == "LSTM", "mse"].tolist()
        assert lstm_mse.count(study["forecasting"]["LSTM"]["mse"]) == 1


def test_compare_llm_puts_study_table_2_before_our_overall_rows(llm_evaluation, study):
    out = compare_llm(llm_evaluation, study)
    assert out["source"].tolist() == [study["source"]] * 2 + ["ours"] * 2  # per-kind rows left out
    ours = out[out["source"] == "ours"].set_index("model")
    assert ours.loc["lora", "perplexity"] == 12.0
    assert ours.loc["lora", "n"] == 12
    assert ours.loc["lora", "rouge_l"] == 22.0
    assert out.loc[0, "bertscore"] == study["llm"]["base model"]["bertscore"]


def test_compare_llm_reads_the_v2_table_by_system_and_headline_subset(study):
    v2 = pd.DataFrame({
        "system": ["base", "lora_rag", "retrieval"], "subset": "medquad", "n": 84,
        "perplexity": [11.0, 9.0, float("nan")], "bleu": [3.0, 2.0, 5.0],
        "rouge_l": [17.0, 11.0, 16.0], "bertscore_f1": [0.54, 0.36, 0.44],
    })  # fmt: skip
    ours = compare_llm(v2, study).query("source == 'ours'").set_index("model")
    assert ours.index.tolist() == ["base", "lora_rag", "retrieval"]
    assert ours.loc["lora_rag", "rouge_l"] == 11.0 and ours.loc["base", "n"] == 84


class TestCompareCorrelations:
    def test_woman_level_pearson_r_beside_the_study(self, statistics_results, women, study):
        out = compare_correlations(statistics_results, study).set_index("hormone")
        expected = np.corrcoef(women["steps"], women["p4"])[0, 1]
        assert out.loc["P4", "our_r"] == pytest.approx(expected)
        assert out.loc["P4", "study_r"] == study["correlations"]["p4"]
        assert out.loc["E2", "n"] == len(women)

    def test_missing_columns_give_an_empty_table_not_a_crash(self, study):
        out = compare_correlations(pd.DataFrame({"x": [1]}), study)
        assert out.empty


def test_compare_population_stacks_both_cohorts_overall_rows_and_chosen_columns(
    app_evaluation, fedcycle_evaluation, options
):
    out = compare_population(app_evaluation, fedcycle_evaluation, options)
    assert out["cohort"].tolist() == ["app", "app", "fedcycle", "fedcycle"]
    assert list(out.columns) == [c for c in options["population_columns"] if c in app_evaluation]
    assert out["start_mae_days"].tolist() == [3.5, 2.9, 3.5, 2.9]


def test_compare_population_with_no_rows_is_empty(options):
    assert compare_population(pd.DataFrame(), pd.DataFrame(), options).empty


@pytest.fixture
def report_inputs(
    *,
    statistics_results,
    forecast_metrics,
    llm_evaluation,
    app_evaluation,
    fedcycle_evaluation,
    study,
    options,
):
    return {
        "correlations": compare_correlations(statistics_results, study),
        "statistics_results": statistics_results,
        "forecasts": compare_forecasts(forecast_metrics, forecast_metrics, study),
        "llm": compare_llm(llm_evaluation, study),
        "population": compare_population(app_evaluation, fedcycle_evaluation, options),
        "options": options,
    } | {fig["figure"]: b"\x89PNG figure" for fig in options["figures"]}


def test_markdown_report_has_every_section_the_study_numbers_and_figure_refs(
    report_inputs, options
):
    text = render_markdown_report(**report_inputs)["text"]
    assert text.startswith(f"# {options['title']}")
    for heading in ("Steps and hormones", "forecasting", "language model", "Population", "Figures"):
        assert heading.lower() in text.lower()
    assert "| LSTM | | study" in text.replace("|  |", "| |")
    assert "22.970" in text and "0.871" in text  # study Table 1 LSTM MSE, Table 2 LoRA BERTScore
    for fig in options["figures"]:
        assert f"(figure:{fig['figure']})" in text
    assert "luteal" not in text  # phase-level rows stay in the CSV


def test_markdown_tables_have_a_consistent_number_of_cells(report_inputs):
    text = render_markdown_report(**report_inputs)["text"]
    blocks = [b for b in text.split("\n\n") if b.startswith("| ")]
    assert len(blocks) == 5
    for block in blocks:
        widths = {line.count(" | ") for line in block.splitlines() if not line.startswith("|---")}
        assert len(widths) == 1, block


def test_markdown_report_says_when_a_table_is_empty(report_inputs):
    report_inputs["llm"] = report_inputs["llm"].iloc[0:0]
    assert "_No rows" in render_markdown_report(**report_inputs)["text"]


def test_html_report_is_well_formed_with_one_table_per_section(report_inputs, options):
    page = render_html_report(**report_inputs)["text"]

    class Counter(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags: dict[str, int] = {}

        def handle_starttag(self, tag, attrs):
            self.tags[tag] = self.tags.get(tag, 0) + 1

    parser = Counter()
    parser.feed(page)
    assert parser.tags["table"] == 5
    assert parser.tags["img"] == len(options["figures"])
    assert page.count("<h2>") == 6


def test_report_returns_the_figures_it_shows_and_rejects_an_unknown_one(report_inputs, options):
    report = render_markdown_report(**report_inputs)
    assert list(report["figures"]) == [fig["figure"] for fig in options["figures"]]
    assert render_html_report(**report_inputs)["figures"] == report["figures"]
    report_inputs.pop(options["figures"][0]["figure"])
    with pytest.raises(ValueError, match="not report inputs"):
        render_markdown_report(**report_inputs)
