"""CloudWatch metric records of a monitoring execution (pure), per the Model Monitor contract.

The container writes JSON records (``MetricName``, ``Timestamp``, ``Dimensions``, ``Value``,
``Unit``) into ``/opt/ml/output/metrics/cloudwatch`` when ``publish_cloudwatch_metrics`` is
``Enabled``; the service publishes them. Bias: ``bias_metric_<CODE>`` with dimensions
``Endpoint, MonitoringSchedule, BiasStage, Label, LabelValue, Facet, FacetValue``; infinities
are published as +/-2.348543e108 and null values are not published. Explainability:
``feature_<name>`` and ``ExpectedValue`` with ``Endpoint, MonitoringSchedule,
ExplainabilityMethod=KernelShap, Label, ValueType``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from analyzer.monitor.drift import metric_value

__all__ = ["INFINITY_VALUE", "bias_metrics", "dumps_metrics", "explainability_metrics"]

#: What CloudWatch receives for +/- infinity.
INFINITY_VALUE = 2.348543e108
_STAGES = (("pre_training_bias_metrics", "Pre-training"), ("post_training_bias_metrics", "Post-Training"))


def _base_dims(endpoint: str | None, schedule: str | None) -> list[dict[str, str]]:
    dims = []
    if endpoint:
        dims.append({"Name": "Endpoint", "Value": endpoint})
    if schedule:
        dims.append({"Name": "MonitoringSchedule", "Value": schedule})
    return dims


def _record(name: str, when: datetime, dims: list[dict[str, str]], value: float) -> dict[str, Any]:
    if math.isinf(value):
        value = INFINITY_VALUE if value > 0 else -INFINITY_VALUE
    return {
        "MetricName": name,
        "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Dimensions": dims,
        "Value": value,
        "Unit": "None",
    }


def bias_metrics(
    analysis: Mapping[str, Any], when: datetime, endpoint: str | None, schedule: str | None
) -> list[dict[str, Any]]:
    """One record per numeric bias metric of ``analysis`` (nulls and errors are not published)."""
    records = []
    for key, stage in _STAGES:
        section = analysis.get(key)
        if not isinstance(section, Mapping):
            continue
        label = str(section.get("label"))
        label_value = str(section.get("label_value_or_threshold"))
        for facet, groups in (section.get("facets") or {}).items():
            for group in groups or []:
                for metric in group.get("metrics") or []:
                    value = metric_value(metric.get("value"))
                    if value is None or metric.get("error"):
                        continue
                    dims = _base_dims(endpoint, schedule) + [
                        {"Name": "BiasStage", "Value": stage},
                        {"Name": "Label", "Value": label},
                        {"Name": "LabelValue", "Value": label_value},
                        {"Name": "Facet", "Value": str(facet)},
                        {"Name": "FacetValue", "Value": str(group.get("value_or_threshold"))},
                    ]
                    records.append(_record(f"bias_metric_{metric.get('name')}", when, dims, value))
    return records


def explainability_metrics(
    analysis: Mapping[str, Any], when: datetime, endpoint: str | None, schedule: str | None
) -> list[dict[str, Any]]:
    """``feature_<name>`` per global SHAP value and ``ExpectedValue`` per label."""
    records = []
    shap = (analysis.get("explanations") or {}).get("kernel_shap") or {}
    for label, entry in shap.items():
        head = _base_dims(endpoint, schedule) + [
            {"Name": "ExplainabilityMethod", "Value": "KernelShap"},
            {"Name": "Label", "Value": str(label)},
        ]
        for feature, raw in (entry.get("global_shap_values") or {}).items():
            value = metric_value(raw)
            if value is not None:
                dims = head + [{"Name": "ValueType", "Value": "GlobalShapValues"}]
                records.append(_record(f"feature_{feature}", when, dims, value))
        expected = metric_value(entry.get("expected_value"))
        if expected is not None:
            dims = head + [{"Name": "ValueType", "Value": "ExpectedValue"}]
            records.append(_record("ExpectedValue", when, dims, expected))
    return records


def dumps_metrics(records: list[dict[str, Any]]) -> str:
    """JSON Lines text of ``records``."""
    return "".join(json.dumps(r, allow_nan=False) + "\n" for r in records)
