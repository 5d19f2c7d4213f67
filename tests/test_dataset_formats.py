"""Every dataset format and location gives the same frame, features and label."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _dataset_helpers import (
    LABEL,
    aws,  # noqa: F401  (fixture)
    cfg,
    csv_bytes,
    csv_text,
    features_of,
    json_bytes,
    jsonlines_bytes,
    parquet_bytes,
    reference_frame,
)

from analyzer.dataset import Dataset, load_dataset


@pytest.fixture
def ref(german_credit_csv: Path) -> pd.DataFrame:
    return reference_frame(german_credit_csv)


def _check_same(ds: Dataset, ref: pd.DataFrame) -> None:
    features = features_of(ref)
    assert ds.label == LABEL
    assert ds.feature_names == features
    assert ds.n_rows == len(ref)
    pd.testing.assert_frame_equal(ds.frame[[*features, LABEL]], ref[[*features, LABEL]])
    assert ds.facet_columns == {"sex": "sex"}


def _csv_cfg(**kw):
    return cfg(dataset_type="text/csv", label=LABEL, facet=["sex"], **kw)


def _json_cfg(kind: str, ref: pd.DataFrame, features: str, label: str):
    return cfg(
        dataset_type=kind, headers=[*features_of(ref), LABEL], features=features, label=label, facet=["sex"]
    )


def test_csv_with_header_row(tmp_path, ref):
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(ref))
    _check_same(load_dataset(_csv_cfg(), path), ref)


def test_csv_without_header_row_uses_config_headers(tmp_path, ref):
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(ref, header=False))
    _check_same(load_dataset(_csv_cfg(headers=list(ref.columns)), path), ref)


def test_csv_with_header_row_equal_to_config_headers_skips_it(tmp_path, ref):
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(ref))
    _check_same(load_dataset(_csv_cfg(headers=list(ref.columns)), path), ref)


def test_csv_header_row_differing_from_config_headers_is_skipped_and_config_wins(tmp_path, ref, caplog):
    path = tmp_path / "data.csv"
    renamed = ref.rename(columns={c: c.upper() for c in ref.columns})
    path.write_bytes(csv_bytes(renamed))
    with caplog.at_level(logging.WARNING):
        ds = load_dataset(_csv_cfg(headers=list(ref.columns)), path)
    _check_same(ds, ref)
    assert "looks like a header row" in caplog.text


def test_csv_without_headers_anywhere_names_columns_by_position(tmp_path, ref):
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(ref, header=False))
    ds = load_dataset(cfg(dataset_type="text/csv", label=0, facet=[1]), path)
    assert list(ds.frame.columns) == [f"column_{i}" for i in range(ref.shape[1])]
    assert ds.label == "column_0"
    assert ds.facet_columns == {1: "column_1"}
    np.testing.assert_array_equal(ds.frame["column_0"].to_numpy(), ref[LABEL].to_numpy())


def test_jsonlines(tmp_path, ref):
    path = tmp_path / "data.jsonl"
    path.write_bytes(jsonlines_bytes(ref))
    _check_same(load_dataset(_json_cfg("application/jsonlines", ref, "features", "label"), path), ref)


def test_json(tmp_path, ref):
    path = tmp_path / "data.json"
    path.write_bytes(json_bytes(ref))
    c = _json_cfg("application/json", ref, "records[*].features", "records[*].label")
    _check_same(load_dataset(c, path), ref)


def test_parquet(tmp_path, ref):
    path = tmp_path / "data.parquet"
    path.write_bytes(parquet_bytes(ref))
    _check_same(
        load_dataset(cfg(dataset_type="application/x-parquet", label=LABEL, facet=["sex"]), path), ref
    )


def test_folder_of_parts_recursive_sorted_skipping_markers(tmp_path, ref):
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    # part order: a.csv < sub/b.csv < sub/c.csv (by relative path); headers only in some parts
    (folder / "a.csv").write_bytes(csv_bytes(ref.iloc[:10]))
    (folder / "sub" / "b.csv").write_bytes(csv_bytes(ref.iloc[10:25], header=False))
    (folder / "sub" / "c.csv").write_bytes(csv_bytes(ref.iloc[25:]))
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".hidden.csv").write_bytes(b"garbage,garbage\n")
    (folder / "sub" / ".c.csv.crc").write_bytes(b"\x00\x01")
    _check_same(load_dataset(_csv_cfg(headers=list(ref.columns)), folder), ref)


def test_folder_of_jsonlines_parts(tmp_path, ref):
    (tmp_path / "part-0.jsonl").write_bytes(jsonlines_bytes(ref.iloc[:15]))
    (tmp_path / "part-1.jsonl").write_bytes(jsonlines_bytes(ref.iloc[15:]))
    c = _json_cfg("application/jsonlines", ref, "features", "label")
    _check_same(load_dataset(c, tmp_path), ref)


def test_s3_prefix_of_parts(aws, ref):  # noqa: F811
    aws.put_object(Bucket="bucket", Key="data/part-00000.csv", Body=csv_bytes(ref.iloc[:20]))
    aws.put_object(Bucket="bucket", Key="data/part-00001.csv", Body=csv_bytes(ref.iloc[20:]))
    aws.put_object(Bucket="bucket", Key="data/_SUCCESS", Body=b"")
    aws.put_object(Bucket="bucket", Key="other/part-00000.csv", Body=b"x,y\n1,2\n")
    _check_same(load_dataset(_csv_cfg(), "s3://bucket/data/"), ref)


def test_s3_single_object_parquet(aws, ref):  # noqa: F811
    aws.put_object(Bucket="bucket", Key="d/train.parquet", Body=parquet_bytes(ref))
    aws.put_object(Bucket="bucket", Key="d/train.parquet.bak", Body=b"not parquet")
    c = cfg(dataset_type="application/x-parquet", label=LABEL, facet=["sex"])
    _check_same(load_dataset(c, "s3://bucket/d/train.parquet"), ref)


def test_csv_excel_dialect_quotes_newlines_cr_and_bom(tmp_path):
    rows = [["label", "text", "n"], [1, 'He said "hi", twice', 3], [0, "two\nlines", 4]]
    data = b"\xef\xbb\xbf" + csv_text(rows).replace(b"\n4", b"\r4").replace(b"3\n", b"3\r")
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    ds = load_dataset(cfg(dataset_type="text/csv", label="label"), path)
    assert ds.frame["text"].tolist() == ['He said "hi", twice', "two\nlines"]
    assert ds.frame["n"].tolist() == [3, 4]
    assert ds.feature_names == ["text", "n"]


def test_features_array_numeric_and_mixed(tmp_path, ref):
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(ref))
    numeric = load_dataset(
        _csv_cfg(excluded_columns=["sex", "housing", "saving_accounts", "checking_account", "purpose"]), path
    )
    arr = numeric.features()
    assert arr.dtype == np.float64
    assert arr.shape == (len(ref), 5)
    np.testing.assert_allclose(arr[:, numeric.feature_names.index("rate")], ref["rate"].to_numpy())
    mixed = load_dataset(_csv_cfg(), path).features()
    assert mixed.dtype == object
    assert mixed[0, 0] == ref["sex"].iloc[0] and isinstance(mixed[0, 0], str)
    assert isinstance(mixed[0, 1], float) and mixed[0, 1] == float(ref["job"].iloc[0])


def test_logs_like_the_container(tmp_path, ref, caplog):
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes(ref))
    with caplog.at_level(logging.INFO):
        load_dataset(_csv_cfg(), path)
    assert f"Dataset type: text/csv uri: {path}" in caplog.text
    assert "Loading dataset..." in caplog.text
    assert "Loaded dataset. Dataset info:\n<class 'pandas.core.frame.DataFrame'>" in caplog.text


def test_large_csv_loads_through_pyarrow(tmp_path, monkeypatch):
    """Many rows load through pyarrow's reader (Python's csv module only samples the first rows)."""
    import pyarrow.csv as pacsv  # csv_format imports it where rows are parsed

    calls = []
    original = pacsv.read_csv
    monkeypatch.setattr(pacsv, "read_csv", lambda *a, **k: calls.append(1) or original(*a, **k))
    n = 200_000
    frame = pd.DataFrame({"y": np.arange(n) % 2, "a": np.arange(n, dtype=float) / 7, "b": np.arange(n)})
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(frame))
    ds = load_dataset(cfg(dataset_type="text/csv", label="y"), path)
    assert calls == [1]
    assert ds.n_rows == n
    np.testing.assert_allclose(ds.frame["a"].to_numpy(), frame["a"].to_numpy())


def test_gzip_parts_and_dataset_uri_default(tmp_path, ref):
    import gzip

    (tmp_path / "part-0.csv.gz").write_bytes(gzip.compress(csv_bytes(ref.iloc[:5])))
    (tmp_path / "part-1.csv").write_bytes(csv_bytes(ref.iloc[5:]))
    _check_same(load_dataset(_csv_cfg(dataset_uri=str(tmp_path))), ref)


def test_identifier_fast_path_matches_jmespath():
    import jmespath
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from analyzer.datasets.json_format import compile_expr

    names = st.sampled_from(["null", "true", "false", "_", "Features"]) | st.text("abZ_09", max_size=5).map(
        lambda s: "k" + s
    )
    values = st.one_of(
        st.none(),
        st.integers(),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(names, st.integers(), max_size=4),
    )

    @settings(max_examples=30, deadline=None)
    @given(names, values)
    def check(name, value):
        assert compile_expr(name, "features").search(value) == jmespath.search(name, value)

    check()


def test_csv_dates_stay_text_and_missing_strings_are_nan(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(
        "y,day,at,name,n\n1,2024-01-01,2024-01-01T10:00:00,ann,1.5\n0,2024-01-02,2024-01-02T11:00:00,,2\n"
    )
    ds = load_dataset(cfg(dataset_type="text/csv", label="y"), path)
    assert ds.frame["day"].tolist() == ["2024-01-01", "2024-01-02"]
    assert ds.frame["at"].tolist() == ["2024-01-01T10:00:00", "2024-01-02T11:00:00"]
    arr = ds.features()
    assert arr.dtype == object
    assert arr[0].tolist() == ["2024-01-01", "2024-01-01T10:00:00", "ann", 1.5]
    assert arr[1, 2] != arr[1, 2]  # NaN for the empty string field
    assert isinstance(arr[1, 3], float) and arr[1, 3] == 2.0
