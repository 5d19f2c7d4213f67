"""PDP against scikit-learn's partial_dependence on the same grid, and the section's shape."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import partial_dependence

from analyzer.explain import partial_dependence_section, top_k_features
from analyzer.explain.pdp import numeric_grid
from tests._explain_helpers import classifier, frame_predict, german_credit_model


@pytest.mark.parametrize("n_classes", [2, 3])
def test_numeric_pdp_matches_sklearn(n_classes: int) -> None:
    model, X = classifier(5, n_classes)
    records = X[:60]
    names = [f"f{j}" for j in range(5)]
    section = partial_dependence_section(records, model.predict_proba, names, ["f2", "f0"], 7, set())
    assert [s["feature_name"] for s in section] == ["f2", "f0"]
    for entry in section:
        column = names.index(entry["feature_name"])
        grid = np.array(entry["feature_values"])
        assert len(grid) == 7 and entry["data_type"] == "numerical"
        ref = partial_dependence(
            model,
            records,
            [column],
            custom_values={column: grid},
            method="brute",
            response_method="predict_proba",
            kind="average",
        )
        ours = np.array(entry["model_predictions"])
        expected = ref["average"]
        if n_classes == 2:  # scikit-learn reports the positive class only
            ours = ours[1:]
        np.testing.assert_allclose(ours, expected, rtol=1e-12)
        assert entry["label_headers"] == [f"label{k}" for k in range(n_classes)]


def test_numeric_grid_is_bucket_midpoints_with_shares() -> None:
    values = np.array([0.0, 1.0, 2.0, 3.0, 10.0, np.nan])
    mids, dist = numeric_grid(values, 5)
    np.testing.assert_allclose(mids, [1.0, 3.0, 5.0, 7.0, 9.0])
    np.testing.assert_allclose(dist, [2 / 6, 2 / 6, 0.0, 0.0, 1 / 6])


def test_categorical_pdp_uses_each_value(german_credit_csv) -> None:
    pipe, X = german_credit_model(str(german_credit_csv))
    names = list(X.columns)
    predict = frame_predict(pipe, names)
    records = X.iloc[:80].to_numpy(dtype=object)
    section = partial_dependence_section(
        records, predict, names, ["housing", "age"], 4, {"housing"}, label_headers=["bad", "good"]
    )
    housing, age = section
    assert housing["data_type"] == "categorical"
    assert housing["feature_values"] == list(pd.unique(X["housing"].iloc[:80]))
    assert abs(sum(housing["data_distribution"]) - 1.0) < 1e-12
    for k, value in enumerate(housing["feature_values"]):
        modified = X.iloc[:80].copy()
        modified["housing"] = value
        expected = pipe.predict_proba(modified).mean(axis=0)
        np.testing.assert_allclose([row[k] for row in housing["model_predictions"]], expected, rtol=1e-12)
    assert age["data_type"] == "numerical" and len(age["feature_values"]) == 4
    assert housing["label_headers"] == ["bad", "good"]
    json.dumps(section)


def test_section_keys_match_the_sdk_fixture(clarify_examples) -> None:
    fixture = json.loads(
        (
            clarify_examples
            / "analysis_json"
            / "sdk_test_fixture__model_card__kernel_shap_global_top_shap_text_and_pdp__analysis.json"
        ).read_text()
    )["explanations"]["pdp"]
    model, X = classifier(5)
    section = partial_dependence_section(X[:20], model.predict_proba, list("abcde"), ["a"], 3, set())
    assert list(section[0]) == list(fixture[0])


def test_unknown_feature_and_bad_resolution() -> None:
    model, X = classifier(5)
    with pytest.raises(ValueError, match="zzz"):
        partial_dependence_section(X[:5], model.predict_proba, list("abcde"), ["zzz"], 3, set())
    with pytest.raises(ValueError, match="grid_resolution"):
        partial_dependence_section(X[:5], model.predict_proba, list("abcde"), ["a"], 0, set())


def test_top_k_features_from_the_shap_section() -> None:
    section = {
        "label0": {"global_shap_values": {"a": 0.1, "b": 0.5, "c": 0.3}, "expected_value": 0.2},
        "label1": {"global_shap_values": {"a": 0.1, "b": 0.1, "c": 0.4}, "expected_value": 0.8},
    }
    assert top_k_features(section, 2) == ["c", "b"]
    assert top_k_features(section, 10) == ["c", "b", "a"]
    with pytest.raises(ValueError, match="top_k_features"):
        top_k_features(section, 0)
