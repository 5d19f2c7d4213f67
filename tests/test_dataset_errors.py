"""Each Clarify dataset error message, followed by the column/record/file that caused it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from _dataset_helpers import (
    LABEL,
    aws,  # noqa: F401  (fixture)
    cfg,
    csv_bytes,
    csv_text,
    features_of,
    jsonlines_bytes,
    parquet_bytes,
    reference_frame,
)

from analyzer.dataset import dataset_problems, load_dataset
from analyzer.errors import ConfigError, DatasetError, NotSupportedError


@pytest.fixture
def ref(german_credit_csv: Path) -> pd.DataFrame:
    return reference_frame(german_credit_csv, n=20)


@pytest.fixture
def csv_path(tmp_path, ref) -> Path:
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(ref))
    return path


def _error(c, uri) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(c, uri)
    return str(info.value)


def test_headers_must_contain_label_by_name(csv_path, ref):
    msg = _error(cfg(dataset_type="text/csv", label="Target"), csv_path)
    assert msg == f"Headers must contain label. Label 'Target' is not one of the headers: {list(ref.columns)}"


def test_headers_must_contain_label_by_index(csv_path, ref):
    msg = _error(cfg(dataset_type="text/csv", label=11), csv_path)
    assert msg.startswith("Headers must contain label. Label index 11 is out of range")
    assert f"{ref.shape[1]} columns" in msg


def test_headers_must_contain_label_when_csv_has_no_header_row(tmp_path, ref):
    path = tmp_path / "d.csv"
    path.write_bytes(csv_bytes(ref, header=False))
    msg = _error(cfg(dataset_type="text/csv", label="risk"), path)
    assert msg.startswith("Headers must contain label. Label 'risk' is not one of the headers: ['column_0'")


def test_unable_to_locate_the_facet(csv_path):
    msg = _error(cfg(dataset_type="text/csv", label=LABEL, facet=["Gender"]), csv_path)
    assert msg.startswith("Unable to locate the facet. Facet 'Gender' is not one of the headers: ['risk', ")


def test_unable_to_locate_the_facet_in_the_facet_dataset(tmp_path, csv_path):
    facets = tmp_path / "facets.csv"
    facets.write_bytes(csv_text([["F"]] + [[i % 2] for i in range(20)]))
    c = cfg(
        dataset_type="text/csv",
        label=LABEL,
        facet=["sex"],
        facet_dataset_uri=str(facets),
        facet_headers=["F"],
    )
    msg = _error(c, csv_path)
    assert msg == "Unable to locate the facet. Facet 'sex' is not one of the facet_headers: ['F']"


def test_headers_do_not_match_number_of_csv_columns(tmp_path, ref):
    path = tmp_path / "d.csv"
    path.write_bytes(csv_bytes(ref, header=False))
    headers = list(ref.columns)[:-1]
    msg = _error(cfg(dataset_type="text/csv", headers=headers, label=LABEL), path)
    assert msg.startswith("Headers in config do not match with the number of columns in the dataset.")
    assert f"headers has {len(headers)} names" in msg and f"has {ref.shape[1]} columns" in msg
    assert str(path) in msg


def test_headers_do_not_match_a_ragged_csv_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"1,2,3\n4,5,6\n7,8,9,10\n")
    msg = _error(cfg(dataset_type="text/csv", headers=["a", "b", "c"], label="a"), path)
    assert msg.startswith("Headers in config do not match with the number of columns in the dataset.")
    assert "7,8,9,10" in msg


def test_headers_do_not_match_jsonlines_features(tmp_path, ref):
    path = tmp_path / "d.jsonl"
    path.write_bytes(jsonlines_bytes(ref))
    c = cfg(dataset_type="application/jsonlines", headers=["a", "b"], features="features", label="label")
    msg = _error(c, path)
    assert msg.startswith("Headers in config do not match with the number of columns in the dataset.")
    assert f"{len(features_of(ref))} feature names + label name" in msg


def test_headers_do_not_match_parquet_columns(tmp_path, ref):
    path = tmp_path / "d.parquet"
    path.write_bytes(parquet_bytes(ref))
    msg = _error(cfg(dataset_type="application/x-parquet", headers=["a"], label="a"), path)
    assert msg.startswith("Headers in config do not match with the number of columns in the dataset.")
    assert "['a']" in msg and str(path) in msg


def test_jsonlines_record_with_a_different_feature_count(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"f": [1, 2]}\n{"f": [3, 4]}\n\n{"f": [5]}\n')
    msg = _error(cfg(dataset_type="application/jsonlines", features="f"), path)
    assert msg.startswith("Headers in config do not match with the number of columns in the dataset.")
    assert "record 2 (line 4)" in msg


def test_feature_names_not_found_for_excluded_column(csv_path, ref):
    msg = _error(cfg(dataset_type="text/csv", label=LABEL, excluded_columns=["age", "zip"]), csv_path)
    assert msg == (
        "Feature names not found. excluded_columns entry 'zip' is not one of the headers: "
        f"{list(ref.columns)}"
    )


def test_data_must_contain_features_jsonlines_names_record_and_line(tmp_path, ref):
    data = jsonlines_bytes(ref).decode().splitlines()
    data[17] = json.dumps({"label": 1, "Features": [1, 2]})
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(data) + "\n")
    msg = _error(cfg(dataset_type="application/jsonlines", features="features", label="label"), path)
    assert msg.startswith("Data must contain features.")
    assert f"record 17 (line 18) of '{path}'" in msg


def test_data_must_contain_features_json(tmp_path, ref):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"instances": [[1, 2], [3, 4]]}))
    msg = _error(cfg(dataset_type="application/json", features="[*].Features"), path)
    assert msg.startswith("Data must contain features. features JMESPath '[*].Features' gave null")
    assert str(path) in msg


def test_data_must_contain_features_when_features_key_missing(tmp_path, ref):
    path = tmp_path / "d.jsonl"
    path.write_bytes(jsonlines_bytes(ref))
    msg = _error(cfg(dataset_type="application/jsonlines", label="label"), path)
    assert msg.startswith(
        "Data must contain features. 'features' JMESPath is required for application/jsonlines"
    )


def test_data_must_contain_features_when_everything_is_excluded(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"y,a\n1,2\n0,3\n")
    msg = _error(cfg(dataset_type="text/csv", label="y", excluded_columns=[1]), path)
    assert msg.startswith("Data must contain features. No feature columns are left in ['y', 'a']")


def test_json_label_count_must_match_records(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"x": [[1, 2], [3, 4]], "y": [1]}))
    msg = _error(cfg(dataset_type="application/json", features="x", label="y"), path)
    assert "label JMESPath 'y' must give one value per record" in msg and "got 1 values for 2 records" in msg


def test_jsonlines_label_missing_names_record(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"f": [1], "y": 1}\n{"f": [2]}\n')
    msg = _error(cfg(dataset_type="application/jsonlines", features="f", label="y"), path)
    assert msg.startswith("label JMESPath 'y' gave null instead of a value in record 1 (line 2)")


def test_invalid_json_line_names_record(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"f": [1]}\n{"f": [2}\n')
    msg = _error(cfg(dataset_type="application/jsonlines", features="f"), path)
    assert msg.startswith(f"Invalid JSON in record 1 (line 2) of '{path}'")


def test_invalid_jmespath_is_a_config_error(tmp_path, ref):
    path = tmp_path / "d.jsonl"
    path.write_bytes(jsonlines_bytes(ref))
    with pytest.raises(ConfigError, match=r"'features' is not a valid JMESPath expression '\[\*'"):
        load_dataset(cfg(dataset_type="application/jsonlines", features="[*"), path)


def test_csv_must_be_utf8_names_file_and_offset(tmp_path):
    path = tmp_path / "latin1.csv"
    data = "y,name\n1,José\n".encode("latin-1")
    path.write_bytes(data)
    msg = _error(cfg(dataset_type="text/csv", label="y"), path)
    offset = data.index(b"\xe9")
    assert msg == f"CSV data must be UTF-8: '{path}' has an invalid byte 0xe9 at byte offset {offset}."


def test_group_variable_not_found(csv_path):
    msg = _error(cfg(dataset_type="text/csv", label=LABEL, group_variable="zip"), csv_path)
    assert msg.startswith(
        "Unable to locate the group variable. group_variable 'zip' is not one of the headers"
    )


def test_join_column_not_found(csv_path):
    msg = _error(cfg(dataset_type="text/csv", label=LABEL, joinsource_name_or_index="id"), csv_path)
    assert msg.startswith("Unable to locate the join column. joinsource_name_or_index 'id' is not one of")


def test_predicted_label_not_found(csv_path):
    msg = _error(cfg(dataset_type="text/csv", label=LABEL, predicted_label="pred"), csv_path)
    assert msg.startswith(
        "Headers must contain predicted label. Predicted label 'pred' is not one of the headers"
    )


def test_side_dataset_row_count_mismatch_without_join(tmp_path, csv_path):
    preds = tmp_path / "preds.csv"
    preds.write_bytes(csv_text([[1]] * 7))
    c = cfg(dataset_type="text/csv", label=LABEL, predicted_label_dataset_uri=str(preds))
    msg = _error(c, csv_path)
    assert msg.startswith("predicted_label_dataset_uri has 7 rows but the dataset has 20 rows")


def test_duplicate_join_keys_in_side_dataset(tmp_path):
    main = tmp_path / "main.csv"
    main.write_bytes(csv_text([["id", "y", "a"], [1, 0, 5], [2, 1, 6]]))
    preds = tmp_path / "preds.csv"
    preds.write_bytes(csv_text([["id", "p"], [1, 0], [1, 1]]))
    c = cfg(
        dataset_type="text/csv",
        label="y",
        joinsource_name_or_index="id",
        predicted_label_dataset_uri=str(preds),
        predicted_label="p",
    )
    msg = _error(c, main)
    assert msg == "The join column 'id' of predicted_label_dataset_uri has duplicate values, e.g. [1]"


def test_missing_path_empty_folder_and_empty_s3_prefix(tmp_path, aws):  # noqa: F811
    c = cfg(dataset_type="text/csv")
    assert _error(c, tmp_path / "nope") == f"Dataset path not found: '{tmp_path / 'nope'}'"
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "_SUCCESS").write_bytes(b"")
    assert _error(c, tmp_path / "empty").startswith(f"No data files found in folder '{tmp_path / 'empty'}'")
    assert _error(c, "s3://bucket/missing/") == "No data files found under S3 prefix 's3://bucket/missing/'"


def test_empty_dataset(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"y,a\n")
    assert (
        _error(cfg(dataset_type="text/csv", headers=["y", "a"]), path)
        == f"Dataset is empty: no records in '{path}'"
    )


def test_image_dataset_type_is_not_supported_here(csv_path):
    with pytest.raises(NotSupportedError, match="application/x-image"):
        load_dataset(cfg(dataset_type="application/x-image"), csv_path)


def test_dataset_problems_lists_every_problem_without_raising(csv_path):
    c = cfg(
        dataset_type="text/csv",
        label="Target",
        facet=["Gender", "sex"],
        group_variable="g",
        excluded_columns=["zip"],
    )
    problems = dataset_problems(c, csv_path)
    assert [re.sub(r"\..*", ".", p, count=1) for p in problems] == [
        "Headers must contain label.",
        "Unable to locate the facet.",
        "Unable to locate the group variable.",
        "Feature names not found.",
    ]
    assert "'Gender'" in problems[1]
    with pytest.raises(DatasetError) as info:
        load_dataset(c, csv_path)
    assert str(info.value).splitlines() == problems


def test_dataset_problems_reports_read_errors(tmp_path):
    assert dataset_problems(cfg(dataset_type="text/csv"), tmp_path / "nope") == [
        f"Dataset path not found: '{tmp_path / 'nope'}'"
    ]
    assert dataset_problems(cfg(dataset_type="text/csv", label=LABEL), tmp_path / "nope") != []


@pytest.mark.parametrize("chunk", [3, 4, 5, 1 << 20])
def test_utf8_offset_is_exact_across_decoding_chunks(tmp_path, monkeypatch, chunk):
    import analyzer.datasets.csv_format as csv_format

    monkeypatch.setattr(csv_format, "_UTF8_CHUNK", chunk)
    data = "y,name\n1,é€\n0,ok\n".encode() + b"1,\xe2\x82\n"
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    msg = _error(cfg(dataset_type="text/csv", label="y"), path)
    assert msg.endswith(f"has an invalid byte 0xe2 at byte offset {len(data) - 3}.")


def test_no_dataset_uri_anywhere():
    c = cfg(dataset_type="text/csv")
    expected = "No dataset: dataset_uri is not set in the config and no dataset input was given"
    assert _error(c, None) == expected
    assert dataset_problems(c) == [expected]


def test_corrupt_gzip_names_the_file(tmp_path):
    path = tmp_path / "d.csv.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage")
    assert _error(cfg(dataset_type="text/csv"), path).startswith(f"Unable to decompress gzip file '{path}'")


def test_json_record_with_a_different_feature_count(tmp_path):
    first = tmp_path / "a.json"
    first.write_text(json.dumps({"x": [[1, 2], [3, 4]]}))
    second = tmp_path / "b.json"
    second.write_text(json.dumps({"x": [[5, 6], [7, 8, 9]]}))
    msg = _error(cfg(dataset_type="application/json", features="x"), tmp_path)
    assert msg == (
        "Headers in config do not match with the number of columns in the dataset. "
        f"record 1 of '{second}' has 3 features, expected 2"
    )
