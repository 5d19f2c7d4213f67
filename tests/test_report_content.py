"""Pure report content: metric readings, fair values, facet groups, SHAP/PDP extraction, local SHAP split."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from analyzer.report.content import (
    bias_groups,
    facet_chart_rows,
    group_label,
    pdp_entries,
    shap_labels,
    split_local_shap,
    summary_rows,
)
from analyzer.report.metrics_info import METRICS, fair_text, metric_value, outside_tolerance, reading
from analyzer.report.notebook import library_source

EXAMPLES = Path(__file__).parent / "fixtures" / "clarify_examples" / "analysis_json"
SPEC_NAMES = {
    "CDDL",
    "CI",
    "DPL",
    "JS",
    "KL",
    "KS",
    "LP",
    "TVD",
    "AD",
    "CDDPL",
    "DAR",
    "DCA",
    "DCR",
    "DI",
    "DPPL",
    "DRR",
    "FT",
    "GE",
    "RD",
    "SD",
    "TE",
}  # bias-metrics.md section 2


def test_every_clarify_metric_has_meaning_and_fair_value() -> None:
    assert set(METRICS) == SPEC_NAMES
    assert METRICS["DI"].fair == 1.0
    assert all(METRICS[n].fair == 0.0 for n in SPEC_NAMES - {"DI"})
    assert fair_text("DI").startswith("1, range [0, ")


def test_metric_value_parses_clarify_json() -> None:
    assert metric_value("Infinity") == math.inf and metric_value("-Infinity") == -math.inf
    assert metric_value(None) is None and metric_value(0) == 0.0 and metric_value("junk") is None


def test_readings_follow_the_metric_definitions() -> None:
    # counts: a = 690 rows with 72% positive, d = 310 rows with 64.5% positive
    n_a, n_d, q_a, q_d = 690, 310, 0.72, 0.645
    ci = (n_a - n_d) / (n_a + n_d)
    assert "make up 31.0% of the rows" in reading("CI", ci, "sex = female")
    dpl = q_a - q_d
    assert reading("DPL", dpl, "sex = female") == (
        "Rows with sex = female receive the positive label 7.5 percentage points less often than the others."
    )
    assert "more often" in reading("DPL", -dpl, "g")
    assert "16.0% less often" in reading("DI", 0.84, "g") and "9.6% more often" in reading("DI", 1.096, "g")
    assert "less accurate" in reading("AD", 0.05, "g") and "fewer of the true positives" in reading(
        "RD", 0.1, "g"
    )
    assert "no false positives" in reading("TE", math.inf, "g")
    assert reading("CDDL", None, "g", "Group variable is empty or not provided") == (
        "Not computed: Group variable is empty or not provided"
    )
    for name in SPEC_NAMES:
        for value in (-0.3, 0.0, 0.3):
            assert "g" in reading(name, value, "g") or name == "GE"


@pytest.mark.parametrize(
    ("name", "value", "tol", "out"),
    [
        ("DI", 0.85, 0.1, True),
        ("DI", 0.95, 0.1, False),
        ("DI", 1.2, 0.25, False),
        ("DPL", -0.11, 0.1, True),
        ("TE", math.inf, 0.1, True),
        ("CDDL", None, 0.1, False),
        ("KL", 0.05, 0.1, False),
    ],
)
def test_outside_tolerance(name: str, value: float | None, tol: float, out: bool) -> None:
    assert outside_tolerance(name, value, tol) is out


def test_group_labels() -> None:
    assert group_label("sex", "female") == "sex = female"
    assert group_label("age", "(25, 75]") == "age in (25, 75]"
    assert group_label("Race", "1,2") == "Race in {1,2}"


def test_real_bias_output_is_read_in_report_order() -> None:
    analysis = json.loads(
        (
            EXAMPLES / "real_adult_xgboost__pre_and_post_training_bias__from_container_log__analysis.json"
        ).read_text()
    )
    groups = bias_groups(analysis)
    assert [g["stage"] for g in groups] == ["pre_training_bias_metrics", "post_training_bias_metrics"]
    assert groups[0]["facet"] == "Sex" and groups[0]["value_or_threshold"] == "0"
    rows = facet_chart_rows(analysis, "Sex", "0", 0.1)
    raw = (
        analysis["pre_training_bias_metrics"]["facets"]["Sex"][0]["metrics"]
        + analysis["post_training_bias_metrics"]["facets"]["Sex"][0]["metrics"]
    )
    assert [r["name"] for r in rows] == [m["name"] for m in raw]
    n_pre = len(analysis["pre_training_bias_metrics"]["facets"]["Sex"][0]["metrics"])
    assert [r["stage"] for r in rows] == ["pre"] * n_pre + ["post"] * (len(raw) - n_pre)


def test_shap_and_pdp_extraction() -> None:
    card = json.loads(
        (
            EXAMPLES / "sdk_test_fixture__model_card__kernel_shap_global_top_shap_text_and_pdp__analysis.json"
        ).read_text()
    )
    labels = shap_labels(card)
    assert [e["label"] for e in labels] == ["label0", "label1"]
    values = [v for _, v in labels[0]["values"]]
    assert values == sorted(values, key=abs, reverse=True)
    assert labels[0]["top_text"] is not None
    pdp = pdp_entries(card)
    assert [p["feature_name"] for p in pdp] == [p["feature_name"] for p in card["explanations"]["pdp"]]
    assert (
        pdp_entries(
            {
                "explanations": {
                    "pdp": [{"feature_name": "x", "feature_values": [1, 2], "model_predictions": [[0.1]]}]
                }
            }
        )
        == []
    )


def test_split_local_shap_by_label_suffix() -> None:
    frame = pd.DataFrame({"age_label0": [0.1], "job_title_label0": [0.2], "age_label1": [0.3], "id": [7]})
    parts = split_local_shap(frame, ["label0", "label1"])
    assert list(parts["label0"].columns) == ["age", "job_title"] and list(parts["label1"].columns) == ["age"]
    assert list(split_local_shap(frame, [])) == ["label0", "label1"]


def test_summary_filled_from_analysis_when_not_given() -> None:
    analysis = json.loads(
        (
            EXAMPLES / "real_fraud_detection__bias_1__pre_and_post__no_group_variable__analysis.json"
        ).read_text()
    )
    rows = dict(summary_rows(None, analysis))
    assert rows["Label"] == "fraud" and rows["Facets (sensitive groups)"].startswith("customer_gender_female")
    assert "pre_training_bias_metrics" in rows["Methods"]


def test_notebook_library_is_self_contained() -> None:
    source = library_source()
    assert "analyzer" not in "\n".join(
        line for line in source.splitlines() if line.startswith(("import", "from"))
    )
    compile(source, "<report-helpers>", "exec")
    namespace: dict = {}
    exec(source, namespace)  # runs without clarify-runner's package imports
    assert namespace["group_label"]("age", "(25, 75]") == "age in (25, 75]"
