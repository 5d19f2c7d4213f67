"""methods.shap.baseline: inline forms per dataset type and file/S3 baselines."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _dataset_helpers import aws, cfg, csv_text, parquet_bytes  # noqa: F401

from analyzer.dataset import load_baseline
from analyzer.errors import DatasetError

FEATURES = ["Age", "Gender", "Income", "Occupation"]
EXPECTED = pd.DataFrame([[0, 0, 0, 0], [1, 1, 1, 1]], columns=FEATURES)


def test_none_gives_none():
    assert load_baseline(None, cfg(dataset_type="text/csv"), FEATURES) is None


def test_inline_csv_rows():
    out = load_baseline([[0, 0, 0, 0], [1, 1, 1, 1]], cfg(dataset_type="text/csv"), FEATURES)
    pd.testing.assert_frame_equal(out, EXPECTED)


def test_inline_csv_rows_with_every_header_column_pick_features():
    c = cfg(dataset_type="text/csv", headers=["Target", *FEATURES], label="Target")
    out = load_baseline([[9, 0, 0, 0, 0], [9, 1, 1, 1, 1]], c, FEATURES)
    pd.testing.assert_frame_equal(out, EXPECTED)


def test_inline_rows_before_exclusions_pick_feature_names():
    c = cfg(
        dataset_type="text/csv", headers=["Target", *FEATURES], label="Target", excluded_columns=["Income"]
    )
    out = load_baseline([[0, 0, 5, 0], [1, 1, 5, 1]], c, ["Age", "Gender", "Occupation"])
    pd.testing.assert_frame_equal(out, EXPECTED.drop(columns="Income"))


def test_inline_text_baseline_keeps_strings():
    c = cfg(dataset_type="text/csv", headers=["Target", "Rating", "Comments"], label="Target")
    out = load_baseline([[4, "[MASK]"]], c, ["Rating", "Comments"])
    assert out.to_numpy().tolist() == [[4, "[MASK]"]]


def test_inline_jsonlines_objects():
    c = cfg(dataset_type="application/jsonlines", features="features")
    out = load_baseline([{"features": [0, 0, 0, 0]}, {"features": [1, 1, 1, 1]}], c, FEATURES)
    pd.testing.assert_frame_equal(out, EXPECTED)


def test_inline_json_same_structure_as_dataset():
    c = cfg(dataset_type="application/json", features="[*].Features")
    out = load_baseline([{"Features": [0, 0, 0, 0]}, {"Features": [1, 1, 1, 1]}], c, FEATURES)
    pd.testing.assert_frame_equal(out, EXPECTED)
    c = cfg(dataset_type="application/json", features="instances")
    pd.testing.assert_frame_equal(load_baseline({"instances": [[0] * 4, [1] * 4]}, c, FEATURES), EXPECTED)


def test_csv_file_baseline_with_and_without_header(tmp_path):
    c = cfg(dataset_type="text/csv")
    plain = tmp_path / "b.csv"
    plain.write_bytes(csv_text([[0, 0, 0, 0], [1, 1, 1, 1]]))
    pd.testing.assert_frame_equal(load_baseline(str(plain), c, FEATURES), EXPECTED)
    with_header = tmp_path / "h.csv"
    with_header.write_bytes(csv_text([list(reversed(FEATURES)), [0] * 4, [1] * 4]))
    pd.testing.assert_frame_equal(load_baseline(str(with_header), c, FEATURES), EXPECTED)


def test_s3_baselines_in_jsonlines_and_parquet(aws):  # noqa: F811
    body = "\n".join(json.dumps({"features": [v] * 4}) for v in (0, 1))
    aws.put_object(Bucket="bucket", Key="baseline.jsonl", Body=body.encode())
    c = cfg(dataset_type="application/jsonlines", features="features")
    pd.testing.assert_frame_equal(load_baseline("s3://bucket/baseline.jsonl", c, FEATURES), EXPECTED)
    aws.put_object(Bucket="bucket", Key="baseline.parquet", Body=parquet_bytes(EXPECTED))
    c = cfg(dataset_type="application/x-parquet")
    pd.testing.assert_frame_equal(load_baseline("s3://bucket/baseline.parquet", c, FEATURES), EXPECTED)


def test_wrong_width_is_reported():
    with pytest.raises(
        DatasetError,
        match=r"^Headers in config do not match .* inline baseline rows have 3 values "
        r"but there are 4 features",
    ):
        load_baseline([[0, 0, 0]], cfg(dataset_type="text/csv"), FEATURES)


def test_ragged_rows_are_reported():
    with pytest.raises(DatasetError, match="inline baseline row 1 has 3 values but row 0 has 4"):
        load_baseline([[0, 0, 0, 0], [1, 1, 1]], cfg(dataset_type="text/csv"), FEATURES)


def test_jsonlines_item_without_features():
    c = cfg(dataset_type="application/jsonlines", features="features")
    with pytest.raises(DatasetError, match=r"^Data must contain features. baseline item 1"):
        load_baseline([{"features": [0, 0, 0, 0]}, {"x": 1}], c, FEATURES)
