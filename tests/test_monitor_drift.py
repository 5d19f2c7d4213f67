"""Drift rules, texts and CloudWatch records of Model Monitor executions (pure; issue 20, points 3-5)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from analyzer.monitor.cloudwatch import INFINITY_VALUE, bias_metrics, explainability_metrics
from analyzer.monitor.drift import attribution_drift, bias_violations, dumps_violations, ndcg


def _bias(metrics: dict[str, Any], section: str = "post_training_bias_metrics") -> dict[str, Any]:
    entries = [{"name": k, "description": k, "value": v} for k, v in metrics.items()]
    return {
        "version": "1.0",
        section: {
            "label": "y",
            "facets": {"Sex": [{"value_or_threshold": "0", "metrics": entries}]},
            "label_value_or_threshold": "1",
        },
    }


def test_documented_bias_rule_farther_from_fair_is_a_violation() -> None:
    base = _bias({"DPPL": 0.2})
    assert bias_violations(_bias({"DPPL": 0.1}), base) == []
    assert bias_violations(_bias({"DPPL": 0.2}), base) == []
    assert bias_violations(_bias({"DPPL": -0.3}), base) == [
        {
            "facet": "Sex",
            "facet_value": "0",
            "metric_name": "DPPL",
            "constraint_check_type": "bias_drift_check",
            "description": "Metric value -0.3 doesn't meet the baseline constraint requirement 0.2",
        }
    ]


def test_real_model_monitor_violation_texts() -> None:
    """The two entries of the real 2024 execution (EX endpoint JSON notebook), from their values."""
    base = _bias({"CDDPL": 0.28176563733194276, "TE": 2.916666666666667})
    now = _bias({"CDDPL": 0.3748947825295131, "TE": "Infinity"})
    texts = [v["description"] for v in bias_violations(now, base)]
    assert texts == [
        "Metric value 0.3748947825295131 doesn't meet the baseline constraint requirement 0.28176563733194276",  # noqa: E501
        "Metric value Infinity doesn't meet the baseline constraint requirement 2.916666666666667",
    ]


def test_di_is_measured_from_one_and_nulls_and_errors_are_skipped() -> None:
    base = _bias({"DI": 0.8, "CDDPL": None, "AD": 0.1})
    now = _bias({"DI": 1.1, "CDDPL": 0.5, "AD": None})
    assert bias_violations(now, base) == []
    assert [v["metric_name"] for v in bias_violations(_bias({"DI": 0.7}), base)] == ["DI"]
    pre = _bias({"CI": 0.5}, "pre_training_bias_metrics")
    assert [
        v["metric_name"] for v in bias_violations(pre, _bias({"CI": 0.1}, "pre_training_bias_metrics"))
    ] == ["CI"]


def test_ndcg_matches_the_documented_example() -> None:
    base = {"a": 0.70, "b": 0.50, "c": 0.05}
    assert ndcg(base, {"a": 0.05, "b": 0.5, "c": 0.7}) == pytest.approx(0.7155 / 1.0405, abs=1e-4)
    assert round(ndcg(base, {"a": 0.05, "b": 0.5, "c": 0.7}), 2) == 0.69
    assert ndcg(base, {"a": 9.0, "b": 2.0, "c": 1.0}) == 1.0
    assert ndcg(base, {"c": 1.0}) == pytest.approx((0.05 + 0.7 / math.log2(3) + 0.5 / 2) / 1.0405, abs=1e-4)
    assert ndcg({"a": 0.0}, {"a": 1.0}) == 1.0


def test_attribution_drift_violation_record() -> None:
    base = {
        "version": "1.0",
        "explanations": {
            "kernel_shap": {
                "label0": {"global_shap_values": {"a": 0.7, "b": 0.5, "c": 0.05}, "expected_value": 0.3}
            }
        },
    }
    same = json.loads(json.dumps(base))
    assert attribution_drift(same, base).violations == []
    drifted = {
        "explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 0.05, "b": 0.5, "c": 0.7}}}}
    }
    result = attribution_drift(drifted, base)
    score = result.scores["label0"]
    assert result.violations == [
        {
            "label": "label0",
            "metric_name": "shap",
            "constraint_check_type": "feature_attribution_drift_check",
            "description": f"Feature attribution drift {score!r} exceeds threshold 0.9",
        }
    ]
    assert attribution_drift(drifted, base, threshold=0.5).violations == []
    text = dumps_violations(result.violations)
    assert text.startswith('{\n    "version": "1.0",\n    "violations": [\n')


def test_cloudwatch_records() -> None:
    when = datetime(2024, 3, 1, 11, tzinfo=UTC)
    records = bias_metrics(_bias({"TE": "Infinity", "CDDPL": None, "DPPL": -0.25}), when, "ep", "sched")
    assert [r["MetricName"] for r in records] == ["bias_metric_TE", "bias_metric_DPPL"]
    assert records[0]["Value"] == INFINITY_VALUE and records[1]["Value"] == -0.25
    assert records[1]["Timestamp"] == "2024-03-01T11:00:00Z" and records[1]["Unit"] == "None"
    assert {d["Name"]: d["Value"] for d in records[1]["Dimensions"]} == {
        "Endpoint": "ep",
        "MonitoringSchedule": "sched",
        "BiasStage": "Post-Training",
        "Label": "y",
        "LabelValue": "1",
        "Facet": "Sex",
        "FacetValue": "0",
    }
    shap = {
        "explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 0.5}, "expected_value": 0.2}}}
    }
    ex = explainability_metrics(shap, when, "ep", None)
    assert [(r["MetricName"], r["Value"], r["Dimensions"][-1]["Value"]) for r in ex] == [
        ("feature_a", 0.5, "GlobalShapValues"),
        ("ExpectedValue", 0.2, "ExpectedValue"),
    ]
    assert not any(math.isinf(r["Value"]) for r in records)


def test_monitor_package_does_no_io() -> None:
    """``analyzer.monitor`` is pure: reading captures and writing outputs is ``container``'s job."""
    from tests.test_architecture import IO_MODULES, _violations

    assert _violations("analyzer.monitor", IO_MODULES) == []
    assert _violations("analyzer.monitor", ("analyzer.config", "analyzer.config_checks")) == []


def test_real_clarify_analysis_files_as_baselines() -> None:
    """Real Clarify container outputs (the fraud-detection example) are read as constraints."""
    from container.monitor import load_baseline
    from tests.conftest import REPO_ROOT

    folder = REPO_ROOT / "tests" / "fixtures" / "clarify_examples" / "analysis_json"
    first = load_baseline(
        str(folder / "real_fraud_detection__bias_1__pre_and_post__no_group_variable__analysis.json")
    )
    second = load_baseline(
        str(folder / "real_fraud_detection__bias_2__pre_and_post__no_group_variable__analysis.json")
    )
    assert bias_violations(first, first) == []
    expected = []
    for section in ("post_training_bias_metrics", "pre_training_bias_metrics"):
        for facet, groups in second[section]["facets"].items():
            for group in groups:
                base_group = next(
                    g
                    for g in first[section]["facets"][facet]
                    if g["value_or_threshold"] == group["value_or_threshold"]
                )
                base = {m["name"]: m["value"] for m in base_group["metrics"]}
                for m in group["metrics"]:
                    if m.get("value") is None or base.get(m["name"]) is None:
                        continue
                    fair = 1.0 if m["name"] == "DI" else 0.0
                    if abs(float(m["value"]) - fair) > abs(float(base[m["name"]]) - fair):
                        expected.append((facet, m["name"]))
    found = [(v["facet"], v["metric_name"]) for v in bias_violations(second, first)]
    assert found == expected and found  # the two real runs differ in some metrics
    shap = load_baseline(str(folder / "real_fraud_detection__kernel_shap__analysis.json"))
    assert attribution_drift(shap, shap).scores == {"label0": pytest.approx(1.0)}
