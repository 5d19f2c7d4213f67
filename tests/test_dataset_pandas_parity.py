"""CSV values typed as ``pandas.read_csv`` types them (smclarify reads data with pandas).

The type decides whether a facet or label column is CATEGORICAL or CONTINUOUS, so the loader
is compared with pandas value for value, and the classification with smclarify's own
``series_datatype`` run on pandas' frame.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smclarify.bias.metrics.common import series_datatype

from analyzer.bias.columns import ColumnStats, infer_type
from analyzer.datasets.csv_format import na_values, read_csv_parts

CASES = {
    "plus_sign": b"a,b\n+5,1\n-3,2\n7,3\n",
    "plus_sign_with_missing": b"a,b\n+5,1\n,2\n7,3\n",
    "hexadecimal": b"a,b\n0x10,1\n16,2\n",
    "only_hexadecimal": b"a,b\n0x10,1\n0X1f,2\n",
    "all_empty": b"a,b\n,1\n,2\n",
    "all_missing_markers": b"a,b\nNA,1\nNone,2\n",
    "missing_strings": b"a,b\nx,1\n,2\nNA,3\nNone,4\n<NA>,5\nnull,6\nn/a,7\n",
    "number_with_none": b"a,b\n1,1\nNone,2\n3,3\n",
    "booleans_with_missing": b"a,b\nTrue,1\n,2\nfalse,3\n",
    "beyond_int64": b"a,b\n99999999999999999999,1\n1,2\n",
    "uint64": b"a,b\n18446744073709551615,1\n1,2\n",
    "exponents": b"a,b\n1e+05,1\n2.5E+3,2\n",
    "whole_floats_and_plus_elsewhere": b"a,b\n1.0,+1\n2.0,2\n",
    "mixed_numbers_and_text": b"a,b\n1,1\nx,2\n2.5,3\n",
}


def assert_same_as_pandas(data: bytes) -> tuple[pd.DataFrame, pd.DataFrame]:
    expected = pd.read_csv(io.BytesIO(data))
    ours = read_csv_parts([("part", data)], list(expected.columns))
    assert list(ours.dtypes) == list(expected.dtypes)
    pd.testing.assert_frame_equal(ours, expected)
    for column in expected.columns:
        assert [type(v) for v in ours[column]] == [type(v) for v in expected[column]], column
    return ours, expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_types_equal_pandas(name: str) -> None:
    assert_same_as_pandas(CASES[name])


def test_missing_value_markers_are_pandas_markers() -> None:
    from pandas._libs.parsers import STR_NA_VALUES

    assert set(na_values()) == set(STR_NA_VALUES)
    assert {"", "NA", "None", "<NA>", "null", "NaN"} <= set(na_values())


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("plus_sign", [5]),  # int64 as pandas reads it (pyarrow alone: float64 -> CONTINUOUS)
        ("hexadecimal", ["0x10"]),  # strings -> CATEGORICAL (pyarrow alone: integers)
        ("all_empty", [1]),  # float64 NaN -> CONTINUOUS (pyarrow alone: object None)
        ("missing_strings", ["x"]),
        ("uint64", [1]),
    ],
)
def test_facet_classification_equals_smclarify_on_pandas_frame(name: str, values: list) -> None:
    ours, expected = assert_same_as_pandas(CASES[name])
    want = series_datatype(expected["a"], list(values)).name
    assert infer_type(ColumnStats.of(ours["a"]), list(values)) == want


def test_plus_sign_integers_are_categorical_or_continuous_like_smclarify() -> None:
    """Many distinct signed integers: CONTINUOUS; few: CATEGORICAL (uniqueness rule on int64)."""
    many = "a,b\n" + "".join(f"+{i},{i % 2}\n" for i in range(100))
    few = "a,b\n" + "".join(f"+{i % 3},{i % 2}\n" for i in range(100))
    for data, kind in ((many, "CONTINUOUS"), (few, "CATEGORICAL")):
        ours, expected = assert_same_as_pandas(data.encode())
        assert series_datatype(expected["a"], [1]).name == kind
        assert infer_type(ColumnStats.of(ours["a"]), [1]) == kind


TOKENS = ["+5", "-3", "7", "0x10", "", "NA", "None", "<NA>", "null", "x", "1.5", "1e+05", "12", "0", "+0"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(TOKENS), min_size=3, max_size=3), min_size=1, max_size=6))
def test_random_cells_load_like_pandas(rows: list[list[str]]) -> None:
    body = "a,b,c\n" + "".join(",".join(r) + "\n" for r in rows)
    assert_same_as_pandas(body.encode())


def test_large_numeric_file_needs_no_second_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain numbers (exponents included) are typed by pyarrow alone: pandas is not called."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=2000) * 1e20, "b": rng.integers(0, 9, 2000)})
    data = frame.to_csv(index=False).encode()
    assert b"e+" in data

    def refuse(*args: object, **kwargs: object) -> pd.DataFrame:
        raise AssertionError("pandas.read_csv was called")

    monkeypatch.setattr(pd, "read_csv", refuse)
    ours = read_csv_parts([("part", data)], ["a", "b"])
    monkeypatch.undo()
    pd.testing.assert_frame_equal(ours, pd.read_csv(io.BytesIO(data)))
