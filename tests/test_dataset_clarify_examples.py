"""The documented example configs (parsed by analyzer.config) load the same data in every format."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _dataset_helpers import aws, csv_bytes  # noqa: F401

from analyzer.dataset import load_baseline, load_dataset

config = pytest.importorskip("analyzer.config", reason="analyzer.config is not available")

FEATURES = ["Age", "Gender", "Income", "Occupation"]
VARIANTS = [
    "01_pretraining_bias_all",
    "02_pre_and_posttraining_bias",
    "03_shap",
    "04_pdp",
    "05_bias_shap_pdp_combined",
]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 25
    return pd.DataFrame(
        {
            "Age": rng.integers(18, 80, n),
            "Gender": rng.integers(0, 2, n),
            "Income": rng.normal(50_000, 9_000, n).round(2),
            "Occupation": rng.integers(0, 6, n),
            "Target": rng.integers(0, 2, n),
        }
    )


def _doc(clarify_examples, kind: str, variant: str):
    folder = clarify_examples / "analysis_config" / "docs"
    matches = sorted(folder.glob(f"docs_{kind}_{variant[:2]}_*.json"))
    assert len(matches) == 1, matches
    return config.parse_config(json.loads(matches[0].read_text()))


def _write(tmp_path, kind: str, frame: pd.DataFrame):
    records = [
        {"Features": row[FEATURES].tolist(), "Label": int(row["Target"])} for _, row in frame.iterrows()
    ]
    if kind == "csv":
        path = tmp_path / "data.csv"
        path.write_bytes(csv_bytes(frame[["Target", *FEATURES]]))
    elif kind == "json":
        path = tmp_path / "data.json"
        path.write_text(json.dumps(records))
    else:
        path = tmp_path / "data.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in records))
    return path


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", ["csv", "json", "jsonlines"])
def test_docs_example_configs_load_identical_features(tmp_path, clarify_examples, frame, kind, variant):
    cfg = _doc(clarify_examples, kind, variant)
    ds = load_dataset(cfg, _write(tmp_path, kind, frame))
    np.testing.assert_array_equal(ds.features(), frame[FEATURES].to_numpy(dtype=float))
    if cfg.label is not None:
        np.testing.assert_array_equal(ds.frame[ds.label].to_numpy(), frame["Target"].to_numpy())
        assert ds.label == "Target"
    if cfg.headers is not None or kind == "csv":
        assert ds.feature_names == FEATURES
    else:  # no headers for JSON: column_0, column_1, ...
        assert ds.feature_names == [f"column_{i}" for i in range(4)]
    if cfg.facet:
        assert ds.facet_columns == {"Gender": "Gender"}


def test_sdk_config_with_s3_predicted_label_dataset(aws, tmp_path, clarify_examples):  # noqa: F811
    name = "sdk_run_bias__no_model_predicted_label_dataset_probability_threshold.json"
    cfg = config.parse_config(
        json.loads((clarify_examples / "analysis_config" / "sdk_generated" / name).read_text())
    )
    main = pd.DataFrame(
        {
            "Label": [1, 0, 1, 0],
            "F1": [0, 1, 1, 0],
            "F2": [3, 3, 4, 4],
            "F3": [0.1, 0.2, 0.3, 0.4],
            "F4": [10, 11, 12, 13],
        }
    )
    path = tmp_path / "train.csv"
    path.write_bytes(csv_bytes(main, header=False))
    aws.create_bucket(Bucket="path")
    aws.put_object(Bucket="path", Key="to/predicted_labels.csv", Body=b"1\n1\n0\n0\n")
    ds = load_dataset(cfg, path)
    assert ds.predicted_label == "PredictedLabel"
    assert ds.frame["PredictedLabel"].tolist() == [1, 1, 0, 0]
    assert (ds.label, ds.group_variable, ds.facet_columns) == ("Label", "F2", {"F1": "F1"})
    assert ds.feature_names == ["F1", "F2", "F3", "F4"]


def test_boto3_notebook_inline_baseline(clarify_examples):
    raw = (
        clarify_examples
        / "analysis_config"
        / "real"
        / "real_examples_repo__boto3_notebook__explainability_analysis_config.json"
    ).read_text()
    cfg = config.parse_config(json.loads(raw))
    features = [h for h in cfg.headers if h != cfg.label]
    baseline = load_baseline(cfg.methods.shap.baseline, cfg, features)
    assert list(baseline.columns) == features
    assert baseline.iloc[0].tolist() == [38, 2, 189794, 10, 10, 3, 6, 1, 4, 1, 1092, 88, 41, 36]
