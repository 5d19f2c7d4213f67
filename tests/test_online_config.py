"""ClarifyExplainerConfig: field names, defaults, limits and the API's messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analyzer.errors import ConfigError
from container.online.config import load_explainer_config, parse_explainer_config

BASE: dict[str, Any] = {"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": "1,2,3"}}}


def _with(**sections: dict[str, Any]) -> dict[str, Any]:
    raw = json.loads(json.dumps(BASE))
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return raw


def _error(raw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_explainer_config(raw)
    return str(info.value)


def test_real_tabular_and_nlp_configs_load_with_the_sdk_defaults() -> None:
    tabular = {
        "ClarifyExplainerConfig": {
            "InferenceConfig": {"FeatureHeaders": ["Age", "Workclass"]},
            "ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": "39,1"}},
        }
    }
    s = parse_explainer_config(tabular)
    assert s.inference.FeatureHeaders == ["Age", "Workclass"]
    assert (s.inference.MaxPayloadInMB, s.inference.MaxRecordCount) == (6, None)
    assert (s.shap.UseLogit, s.shap.Seed, s.shap.NumberOfSamples) == (False, None, None)
    assert s.shap.ShapBaselineConfig.MimeType == "text/csv"
    assert s.enable_expression.search([0.1]) is True  # explanations are on by default
    nlp = {
        "InferenceConfig": {"FeatureTypes": ["text"]},
        "ShapConfig": {
            "ShapBaselineConfig": {"ShapBaseline": "<UNK>"},
            "TextConfig": {"Language": "en", "Granularity": "sentence"},
        },
    }
    assert parse_explainer_config(nlp).shap.TextConfig is not None


def test_enable_explanations_is_compiled_at_start() -> None:
    s = parse_explainer_config(dict(BASE, EnableExplanations="[0]>`0.99`"))
    assert s.enable_expression.search([0.995]) is True
    assert s.enable_expression.search([0.5]) is False
    raw = dict(BASE, EnableExplanations="[0]>")
    assert "EnableExplanations '[0]>' is not a valid JMESPath expression" in _error(raw)


def test_service_limits_use_the_service_message() -> None:
    msg = _error(_with(InferenceConfig={"MaxPayloadInMB": 26}))
    assert msg == (
        "1 validation error detected: Value '26' at "
        "'explainerConfig.clarifyExplainerConfig.inferenceConfig.maxPayloadInMB' failed to satisfy "
        "constraint: Member must have value less than or equal to 25"
    )
    msg = _error(_with(InferenceConfig={"LabelHeaders": [f"c{i}" for i in range(17)]}))
    assert "at 'explainerConfig.clarifyExplainerConfig.inferenceConfig.labelHeaders'" in msg
    assert "Member must have length less than or equal to 16" in msg
    msg = _error(_with(InferenceConfig={"FeatureHeaders": [f"f{i}" for i in range(257)]}))
    assert "Member must have length less than or equal to 256" in msg
    msg = _error(_with(ShapConfig={"ShapBaselineConfig": {"ShapBaseline": "1," * 2049}}))
    assert msg.startswith("1 validation error detected:")
    assert "shapConfig.shapBaselineConfig.shapBaseline' failed" in msg and "4096" in msg
    msg = _error(dict(BASE, EnableExplanations="x" * 65))
    assert "Member must have length less than or equal to 64" in msg
    text = {"TextConfig": {"Language": "klingon", "Granularity": "word"}}
    msg = _error(_with(ShapConfig=text))
    assert msg.startswith("2 validation errors detected:")
    assert "Member must satisfy enum value set: [token, sentence, paragraph]" in msg
    assert "'explainerConfig.clarifyExplainerConfig.shapConfig.textConfig.language'" in msg
    msg = _error(_with(InferenceConfig={"FeatureTypes": ["numerical", "image"]}))
    assert "Member must satisfy enum value set: [numerical, categorical, text]" in msg
    msg = _error(_with(ShapConfig={"ShapBaselineConfig": {"ShapBaseline": "1", "MimeType": "csv"}}))
    assert "Member must satisfy regular expression pattern" in msg


def test_client_side_checks_use_the_boto3_message() -> None:
    msg = _error(_with(InferenceConfig={"MaxRecordCount": 0, "Foo": 1}))
    assert msg.splitlines() == [
        "Parameter validation failed:",
        "Invalid range for parameter ExplainerConfig.ClarifyExplainerConfig.InferenceConfig.MaxRecordCount, "
        "value: 0, valid min value: 1",
        'Unknown parameter in ExplainerConfig.ClarifyExplainerConfig.InferenceConfig: "Foo", must be one of: '
        "FeaturesAttribute, ContentTemplate, MaxRecordCount, MaxPayloadInMB, ProbabilityIndex, LabelIndex, "
        "ProbabilityAttribute, LabelAttribute, LabelHeaders, FeatureHeaders, FeatureTypes",
    ]
    msg = _error(_with(ShapConfig={"NumberOfSamples": "100"}))
    assert (
        "Invalid type for parameter ExplainerConfig.ClarifyExplainerConfig.ShapConfig.NumberOfSamples, "
        "value: '100', type: <class 'str'>, valid types: <class 'int'>" in msg
    )
    assert 'Missing required parameter in ExplainerConfig.ClarifyExplainerConfig: "ShapConfig"' in _error({})
    msg = _error(_with(InferenceConfig={"ProbabilityIndex": -1}))
    assert "valid min value: 0" in msg
    msg = _error(_with(InferenceConfig={"FeatureHeaders": []}))
    assert "Invalid length for parameter ExplainerConfig.ClarifyExplainerConfig.InferenceConfig." in msg


def test_rules_between_fields() -> None:
    both = {"ShapBaselineConfig": {"ShapBaseline": "1", "ShapBaselineUri": "s3://b/k.csv"}}
    assert "ShapBaseline and ShapBaselineUri are mutually exclusive" in _error(_with(ShapConfig=both))
    neither = {"ShapConfig": {"ShapBaselineConfig": {}}}
    assert "One or the either is required" in _error(neither)
    msg = _error(_with(InferenceConfig={"FeatureTypes": ["numerical", "categorical"]}))
    assert "FeatureTypes must have at least one 'text'" in msg
    msg = _error(_with(InferenceConfig={"ProbabilityIndex": 1, "ProbabilityAttribute": "score"}))
    assert "ProbabilityIndex and ProbabilityAttribute are mutually exclusive" in msg
    msg = _error(_with(InferenceConfig={"ContentTemplate": '{"x":1}'}))
    assert "must contain $features" in msg
    jsonl = {"ShapBaselineConfig": {"ShapBaseline": "1", "MimeType": "application/json"}}
    assert "MimeType 'application/json' is not supported" in _error(_with(ShapConfig=jsonl))


def test_load_from_file_and_from_json_text(tmp_path: Path) -> None:
    path = tmp_path / "explainer.json"
    path.write_text(json.dumps({"ClarifyExplainerConfig": BASE}))
    assert load_explainer_config(path).shap.ShapBaselineConfig.ShapBaseline == "1,2,3"
    assert load_explainer_config(json.dumps(BASE)).shap.ShapBaselineConfig.ShapBaseline == "1,2,3"
    with pytest.raises(ConfigError, match="Cannot read the explainer config"):
        load_explainer_config(tmp_path / "missing.json")
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_explainer_config(path)
