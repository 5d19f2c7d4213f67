"""Request serialization: CSV tokens and every template form of clarify-contract.md 4.2."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.model_client.serialize import (
    JSON,
    JSONLINES,
    TemplateEncoder,
    encode_csv,
    encode_npy,
    format_csv_token,
)

RECORDS = np.array([[0, 1], [3, 4]])


def test_csv_documented_examples() -> None:
    assert encode_csv(np.array([[1, 2, 3, 4]])) == b"1,2,3,4"
    assert encode_csv(np.array([[1, 2, 3, 4], [5, 6, 7, 8]])) == b"1,2,3,4\n5,6,7,8"


def test_csv_floats_round_trip_shortest_and_text_is_quoted_only_when_needed() -> None:
    rows = np.array([[0.1, 1 / 3, "good", 'a "b", c', None, float("nan")]], dtype=object)
    body = encode_csv(rows).decode()
    assert body == '0.1,0.3333333333333333,good,"a ""b"", c",,'
    parsed = next(csv.reader(io.StringIO(body)))
    assert float(parsed[1]) == 1 / 3
    assert parsed[3] == 'a "b", c'


def test_csv_repeated_tokens_match_per_cell_formatting() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=(3, 5))
    rows = base[rng.integers(0, 3, size=400)]  # many repeats: the unique-token path
    expected = "\n".join(",".join(format_csv_token(v) for v in r) for r in rows.tolist())
    assert encode_csv(rows).decode() == expected
    parsed = np.array([[float(x) for x in line.split(",")] for line in expected.splitlines()])
    np.testing.assert_array_equal(parsed, rows)


def test_csv_mixed_object_columns() -> None:
    rows = np.array([["male", 3, 1.5], ["female", 4, 2.0], ["male", 3, 1.5]], dtype=object)
    assert encode_csv(rows) == b"male,3,1.5\nfemale,4,2.0\nmale,3,1.5"


def test_jsonlines_documented_examples() -> None:
    enc = TemplateEncoder(JSONLINES, ["a", "b", "c", "d"], '{"data":{"features":$features}}')
    assert enc.encode(np.array([[1, 2, 3, 4], [5, 6, 7, 8]])) == (
        b'{"data":{"features":[1,2,3,4]}}\n{"data":{"features":[5,6,7,8]}}'
    )
    enc2 = TemplateEncoder(JSONLINES, ["text", "rating"], '{"features":$features}')
    rows = np.array([["This is a good product", 5]], dtype=object)
    assert enc2.encode(rows) == b'{"features":["This is a good product",5]}'


def test_json_records_with_feature_names() -> None:
    enc = TemplateEncoder(
        JSON, ["A", "B"], '{"instances": $records, "feature_names": $feature_names}', "$features"
    )
    assert enc.encode(RECORDS).decode() == '{"instances": [[0, 1], [3, 4]], "feature_names": ["A", "B"]}'


def test_json_records_features_kvp() -> None:
    enc = TemplateEncoder(JSON, ["A", "B"], "$records", "$features_kvp")
    assert enc.encode(RECORDS).decode() == '[{"A": 0, "B": 1}, {"A": 3, "B": 4}]'
    assert not enc.single_record


def test_json_records_named_placeholders_give_the_same() -> None:
    enc = TemplateEncoder(JSON, ["A", "B"], "$records", '{"A": "${A}", "B": "${B}"}')
    assert json.loads(enc.encode(RECORDS)) == [{"A": 0, "B": 1}, {"A": 3, "B": 4}]


def test_json_single_record() -> None:
    enc = TemplateEncoder(JSON, ["A", "B"], "$record", "$features_kvp")
    assert enc.single_record
    assert enc.encode(RECORDS[:1]).decode() == '{"A": 0, "B": 1}'
    with pytest.raises(ValueError, match="exactly one record"):
        enc.encode(RECORDS)


def test_json_record_template_with_features_and_names() -> None:
    enc = TemplateEncoder(
        JSON, ["A", "B"], '{"instances": $records}', '{"features": $features, "names": $feature_names}'
    )
    doc = json.loads(enc.encode(np.array([[1.5, None]], dtype=object)))
    assert doc == {"instances": [{"features": [1.5, None], "names": ["A", "B"]}]}


@pytest.mark.parametrize(
    ("content_type", "content_template", "record_template", "message"),
    [
        (JSONLINES, None, None, "content_template is required"),
        (JSONLINES, '{"x": 1}', None, "placeholder \\$features"),
        (JSON, "$records", None, "record_template are required"),
        (JSON, '{"x": $features}', "$features", "\\$records or \\$record"),
        (JSON, "$records", '{"Z": "${Z}"}', "feature 'Z'"),
    ],
)
def test_template_errors_name_the_key(content_type, content_template, record_template, message) -> None:
    """The plan reports these to the user first (config checks); the encoder refuses them too."""
    with pytest.raises(ValueError, match=message):
        TemplateEncoder(content_type, ["A", "B"], content_template, record_template)


def test_npy_round_trip() -> None:
    rows = np.array([[1, 2.5], [3, 4]], dtype=object)
    back = np.load(io.BytesIO(encode_npy(rows)), allow_pickle=False)
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, [[1, 2.5], [3, 4]])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(-10**6, 10**6),
            st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                    min_size=1, max_size=8),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_csv_round_trips_through_a_csv_reader(records) -> None:
    rows = np.array([list(r) for r in records], dtype=object)
    parsed = list(csv.reader(io.StringIO(encode_csv(rows).decode(), newline="")))
    assert len(parsed) == len(records)
    for (f, i, s), cells in zip(records, parsed, strict=True):
        assert float(cells[0]) == f and int(cells[1]) == i and cells[2] == s
