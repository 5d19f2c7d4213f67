"""Response parsing: CSV shapes, JMESPath locators, multi-class scores, label choice."""

from __future__ import annotations

import io

import numpy as np
import pytest

from analyzer.errors import ModelError
from analyzer.model_client.labels import pick_labels, scores_to_labels
from analyzer.model_client.parse import ResponseFormatError, ResponseParser, parse_npy
from analyzer.model_client.serialize import CSV, JSON, JSONLINES


def test_csv_one_per_line_and_one_line_shapes_agree() -> None:
    p = ResponseParser(CSV, None, None)
    np.testing.assert_array_equal(p.scores(b"0.6\n0.3\n", 2), [[0.6], [0.3]])
    np.testing.assert_array_equal(p.scores(b"0.6,0.3", 2), [[0.6], [0.3]])
    np.testing.assert_array_equal(p.scores(b"0.6", 1), [[0.6]])


def test_csv_multiclass_whole_rows() -> None:
    p = ResponseParser(CSV, None, None)
    np.testing.assert_array_equal(
        p.scores(b"0.1,0.6,0.3\n0.2,0.5,0.3", 2), [[0.1, 0.6, 0.3], [0.2, 0.5, 0.3]]
    )
    np.testing.assert_array_equal(p.scores(b"0.1,0.6,0.3", 1), [[0.1, 0.6, 0.3]])


def test_csv_label_and_probability_columns() -> None:
    p = ResponseParser(CSV, 0, 1)
    np.testing.assert_array_equal(p.scores(b"1,0.6\n0,0.3", 2), [[0.6], [0.3]])
    assert p.labels(b"1,0.6\n0,0.3", 2) == [1.0, 0.0]


def test_csv_autopilot_quoted_lists() -> None:
    body = b"\"dog\",0.6,\"['cat', 'dog', 'fish']\",\"[0.1, 0.6, 0.3]\""
    p = ResponseParser(CSV, 2, 3)
    np.testing.assert_array_equal(p.scores(body, 1), [[0.1, 0.6, 0.3]])
    labels = p.labels(body, 1)
    assert labels == [["cat", "dog", "fish"]]
    assert pick_labels(labels, p.scores(body, 1)) == ["dog"]
    assert ResponseParser(CSV, 0, None).labels(body, 1) == ["dog"]


def test_csv_row_count_mismatch_and_non_numeric() -> None:
    p = ResponseParser(CSV, None, None)
    with pytest.raises(ResponseFormatError, match="2 lines for 3 records"):
        p.scores(b"0.1\n0.2", 3)
    with pytest.raises(ResponseFormatError, match="Could not convert string to float"):
        p.scores(b"cat\ndog", 2)


def test_jsonlines_jmespath() -> None:
    body = b'{"predicted_label":0,"probability":0.0289}\n{"predicted_label":1,"probability":0.9}\n'
    p = ResponseParser(JSONLINES, "predicted_label", "probability")
    np.testing.assert_array_equal(p.scores(body, 2), [[0.0289], [0.9]])
    assert p.labels(body, 2) == [0, 1]
    with pytest.raises(ResponseFormatError, match="2 lines for 3 records"):
        p.scores(body, 3)


def test_json_jmespath_over_whole_document() -> None:
    body = (
        b'{"predictions":[{"predicted_label":0,"probability":0.0289},'
        b'{"predicted_label":1,"probability":0.7}]}'
    )
    p = ResponseParser(JSON, "predictions[*].predicted_label", "predictions[*].probability")
    np.testing.assert_array_equal(p.scores(body, 2), [[0.0289], [0.7]])
    assert p.labels(body, 2) == [0, 1]
    np.testing.assert_array_equal(ResponseParser(JSON, None, "[*]").scores(b"[0.6,0.3]", 2), [[0.6], [0.3]])
    with pytest.raises(ResponseFormatError, match="2 probability values for 3 records"):
        p.scores(body, 3)


def test_json_multiclass_scores_and_single_record() -> None:
    p = ResponseParser(JSON, None, "predictions[*].scores")
    body = b'{"predictions":[{"scores":[0.1,0.9]},{"scores":[0.8,0.2]}]}'
    np.testing.assert_array_equal(p.scores(body, 2), [[0.1, 0.9], [0.8, 0.2]])
    single = ResponseParser(JSON, "label", "scores")
    np.testing.assert_array_equal(single.scores(b'{"label":1,"scores":[0.1,0.9]}', 1), [[0.1, 0.9]])
    assert single.labels(b'{"label":1,"scores":[0.1,0.9]}', 1) == [1]


def test_json_missing_path_names_the_locator() -> None:
    p = ResponseParser(JSON, None, "predictions[*].score")
    with pytest.raises(ResponseFormatError, match="predictions\\[\\*\\].score"):
        p.scores(b'{"outputs": [1, 2]}', 2)


def test_non_utf8_body() -> None:
    with pytest.raises(ResponseFormatError, match="not UTF-8"):
        ResponseParser(CSV, None, None).scores(b"\xff\xfe0.5", 1)


def test_locator_config_errors() -> None:
    with pytest.raises(ValueError, match="predictor.probability"):
        ResponseParser(CSV, None, "score")
    with pytest.raises(ValueError, match="JMESPath"):
        ResponseParser(JSON, "[[[", None)
    with pytest.raises(ValueError, match="accept_type"):
        ResponseParser("text/html", None, None)


def test_npy_response_and_column() -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([[0.2, 0.8], [0.6, 0.4]]))
    np.testing.assert_array_equal(parse_npy(buf.getvalue(), 2), [[0.2, 0.8], [0.6, 0.4]])
    np.testing.assert_array_equal(parse_npy(buf.getvalue(), 2, 1), [[0.8], [0.4]])
    with pytest.raises(ResponseFormatError, match="shape"):
        parse_npy(buf.getvalue(), 3)


def test_scores_to_labels_threshold_and_argmax() -> None:
    np.testing.assert_array_equal(scores_to_labels(np.array([[0.2], [0.7], [0.5]])), [0, 1, 0])
    np.testing.assert_array_equal(scores_to_labels(np.array([[0.2], [0.7]]), 0.1), [1, 1])
    multi = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    np.testing.assert_array_equal(scores_to_labels(multi), [1, 0])
    assert scores_to_labels(multi, None, ["bird", "cat", "dog"]).tolist() == ["cat", "bird"]
    with pytest.raises(ModelError, match="label_headers has 2"):
        scores_to_labels(multi, None, ["a", "b"])


def test_json_object_without_locator_asks_for_one() -> None:
    with pytest.raises(ResponseFormatError, match="set predictor.probability to a JMESPath"):
        ResponseParser(JSON, None, None).scores(b'{"predictions": [0.1, 0.2]}', 2)
