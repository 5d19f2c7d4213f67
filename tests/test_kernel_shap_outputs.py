"""analysis.json SHAP section, explanations_shap/ files and the automatic baseline."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analyzer.explain import (
    KernelShapResult,
    aggregate_shap,
    kernel_shap,
    kmeans_baseline,
    shap_section,
)
from analyzer.output import write_shap_outputs
from tests._explain_helpers import classifier


def small_result() -> KernelShapResult:
    local = np.array([[[0.5, -0.5], [-0.25, 0.25]], [[-1.5, 1.5], [0.75, -0.75]], [[0.0, 0.0], [1.0, -1.0]]])
    return KernelShapResult(local, np.array([0.4, 0.6]), np.zeros((3, 2)), 0, [0, 1])


def test_aggregation_methods() -> None:
    local = small_result().local
    np.testing.assert_allclose(aggregate_shap(local, "mean_abs")[:, 0], [2.0 / 3.0, 2.0 / 3.0])
    np.testing.assert_allclose(aggregate_shap(local, "median")[:, 0], [0.0, 0.75])
    np.testing.assert_allclose(aggregate_shap(local, "mean_sq")[:, 0], [2.5 / 3.0, (0.0625 + 0.5625 + 1) / 3])
    with pytest.raises(ValueError, match="agg_method"):
        aggregate_shap(local, "max")


def test_section_has_the_shape_of_real_clarify_output(clarify_examples) -> None:
    real = json.loads(
        (
            clarify_examples
            / "analysis_json"
            / "real_adult_xgboost__kernel_shap__from_container_log__analysis.json"
        ).read_text()
    )["explanations"]["kernel_shap"]
    section = shap_section(small_result(), ["Age", "Workclass"], "mean_abs")
    assert list(section) == ["label0", "label1"]
    for label in section.values():
        assert list(label) == list(real["label0"])
        assert list(label["global_shap_values"]) == ["Age", "Workclass"]
        assert all(isinstance(v, float) for v in label["global_shap_values"].values())
    assert section["label1"]["expected_value"] == 0.6
    named = shap_section(small_result(), ["Age", "Workclass"], "median", label_headers=["bad", "good"])
    assert list(named) == ["bad", "good"]
    with pytest.raises(ValueError, match="label_headers"):
        shap_section(small_result(), ["Age", "Workclass"], "median", label_headers=["only"])


def test_section_names_only_the_explained_features() -> None:
    model, X = classifier(12)
    result = kernel_shap(X[200:202], X[:2], model.predict_proba, seed=0, features_to_explain=[3, 1])
    section = shap_section(result, [f"f{j}" for j in range(12)], "mean_abs")
    assert list(section["label0"]["global_shap_values"]) == ["f3", "f1"]
    same = shap_section(result, ["f3", "f1"], "mean_abs")  # the explained names, in result order
    assert same == section


def test_files_are_written_with_expected_columns(tmp_path) -> None:
    baseline = pd.DataFrame({"Age": [30.5, 41.0], "Workclass": ["Private", "State-gov"]})
    join = pd.Series(["a", "b", "c"], name="id")
    paths = write_shap_outputs(tmp_path, small_result(), ["Age", "Workclass"], baseline, join_values=join)
    assert [p.name for p in paths] == ["baseline.csv", "out.csv"]
    out = pd.read_csv(tmp_path / "explanations_shap" / "out.csv")
    assert list(out.columns) == ["id", "Age_label0", "Workclass_label0", "Age_label1", "Workclass_label1"]
    np.testing.assert_array_equal(out["Workclass_label1"], small_result().local[:, 1, 1])
    assert (tmp_path / "explanations_shap" / "baseline.csv").read_text().splitlines() == [
        "30.5,Private",
        "41.0,State-gov",
    ]
    assert not [p for p in (tmp_path / "explanations_shap").iterdir() if p.name.endswith(".tmp")]


def test_baseline_is_written_even_without_local_values(tmp_path) -> None:
    baseline = pd.DataFrame({"Age": [30.5], "Workclass": ["Private"]})
    paths = write_shap_outputs(tmp_path, small_result(), ["Age", "Workclass"], baseline, save_local=False)
    assert [p.name for p in paths] == ["baseline.csv"]
    assert not (tmp_path / "explanations_shap" / "out.csv").exists()


def test_kmeans_baseline_numeric_matches_cluster_means() -> None:
    rng = np.random.RandomState(0)
    centers = np.array([[0.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    points = np.concatenate([c + rng.normal(scale=0.1, size=(40, 2)) for c in centers])
    frame = pd.DataFrame(points, columns=["a", "b"])
    base = kmeans_baseline(frame, 3, seed=0)
    assert list(base.columns) == ["a", "b"]
    found = np.sort(np.round(base.to_numpy(dtype=float)), axis=0)
    np.testing.assert_array_equal(found, np.sort(centers, axis=0))
    auto = kmeans_baseline(frame, None, seed=0)
    assert len(auto) == 3
    one = kmeans_baseline(frame, 1)
    np.testing.assert_allclose(one.to_numpy(dtype=float)[0], points.mean(axis=0))


def test_kmeans_baseline_mixed_and_categorical(german_credit_csv) -> None:
    frame = pd.read_csv(german_credit_csv).drop(columns="risk").iloc[:150]
    base = kmeans_baseline(frame, 3, seed=1)
    assert list(base.columns) == list(frame.columns) and len(base) == 3
    for column in ("sex", "housing", "purpose"):
        assert set(base[column]) <= set(frame[column].dropna())
    assert base["age"].dtype == np.float64
    cats = frame[["sex", "housing"]]
    one = kmeans_baseline(cats, 1)
    assert one.iloc[0].tolist() == [cats["sex"].mode()[0], cats["housing"].mode()[0]]
    assert len(kmeans_baseline(cats, 2, seed=0)) == 2
    with pytest.raises(ValueError, match="num_clusters"):
        kmeans_baseline(cats, 0)
