"""Time-series dataset loading: every layout of the same data gives the same items."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analyzer.config import TimeSeriesDataConfig
from analyzer.datasets.time_series import TimeSeriesDataset, load_time_series, parse_time_series
from analyzer.datasets.ts_locate import compile_locator, locator_name
from analyzer.errors import ConfigError, DatasetError
from tests.conftest import CLARIFY_EXAMPLES

BYOM_DATA = CLARIFY_EXAMPLES / "data" / "time_series_byom_mock_data__timestamp_records.json"
BYOM_HEADERS = ["item_id", "timestamp", "p_mbar", "rain_mm", "T_degC"]
BYOM_TS = {
    "dataset_format": "timestamp_records",
    "item_id": "[].item_id",
    "related_time_series": ["[].rain_mm", "[].T_degC"],
    "target_time_series": "[].p_mbar",
    "timestamp": "[].timestamp",
}
FIELDS = ["item_id", "timestamp", "p_mbar", "rain_mm", "T_degC"]


def ts_config(**fields: Any) -> TimeSeriesDataConfig:
    return TimeSeriesDataConfig.model_validate(fields)


def parse(
    data: bytes | str, fields: dict[str, Any], headers: list[str] | None = None, source: str = "d.json"
):
    raw = data.encode() if isinstance(data, str) else data
    return parse_time_series([(source, raw)], ts_config(**fields), headers)


def byom_rows() -> list[dict[str, Any]]:
    return json.loads(BYOM_DATA.read_text())


def assert_same(a: TimeSeriesDataset, b: TimeSeriesDataset) -> None:
    assert [i.item_id for i in a.items] == [i.item_id for i in b.items]
    for x, y in zip(a.items, b.items):
        assert x.timestamps == y.timestamps
        np.testing.assert_array_equal(x.target, y.target)
        assert len(x.related) == len(y.related)
        for r, s in zip(x.related, y.related):
            np.testing.assert_array_equal(r, s)
        assert x.static == y.static


def test_byom_example_data() -> None:
    ds = load_time_series(ts_config(**BYOM_TS), BYOM_HEADERS, BYOM_DATA)
    assert [i.item_id for i in ds.items] == ["sanjose", "seattle"]  # sorted, as in the real output
    seattle = ds.items[1]
    np.testing.assert_array_equal(seattle.target, [1008.89, 1008.76, 1008.66])
    assert [len(r) for r in seattle.related] == [9, 9]
    assert seattle.related[1][0] == 0.71 and seattle.related[0][-1] == 0.0
    assert seattle.timestamps[0] == "2020-01-01 16:20:00" and len(seattle.timestamps) == 9
    assert (ds.target_name, ds.related_names, ds.static_names) == ("p_mbar", ("rain_mm", "T_degC"), ())


def test_names_come_from_the_locators_without_headers() -> None:
    ds = load_time_series(ts_config(**BYOM_TS), None, BYOM_DATA)
    assert (ds.item_id_name, ds.timestamp_name, ds.target_name, ds.related_names) == (
        "item_id",
        "timestamp",
        "p_mbar",
        ("rain_mm", "T_degC"),
    )
    assert locator_name("[*].timeseries[].rts1") == "rts1" and locator_name(3) == "column_3"


def test_columns_item_records_lines_and_indices_agree() -> None:
    want = load_time_series(ts_config(**BYOM_TS), BYOM_HEADERS, BYOM_DATA)
    rows = byom_rows()
    columns = {f"c_{f}": [r[f] for r in rows] for f in FIELDS}
    col_fields = {
        "dataset_format": "columns",
        "item_id": "c_item_id",
        "timestamp": "c_timestamp",
        "target_time_series": "c_p_mbar",
        "related_time_series": ["c_rain_mm", "c_T_degC"],
    }
    assert_same(parse(json.dumps(columns), col_fields, BYOM_HEADERS), want)
    half = len(rows) // 2  # columns as JSON Lines: one object per line
    lines = [{f"c_{f}": [r[f] for r in part] for f in FIELDS} for part in (rows[:half], rows[half:])]
    assert_same(parse("\n".join(json.dumps(x) for x in lines), col_fields, BYOM_HEADERS), want)

    items: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = items.setdefault(r["item_id"], {"id": r["item_id"], "series": []})
        entry["series"].append({k: r[k] for k in FIELDS[1:]})
    item_fields = {
        "dataset_format": "item_records",
        "item_id": "[*].id",
        "timestamp": "[*].series[].timestamp",
        "target_time_series": "[*].series[].p_mbar",
        "related_time_series": ["[*].series[].rain_mm", "[*].series[].T_degC"],
    }
    assert_same(parse(json.dumps(list(items.values())), item_fields, BYOM_HEADERS), want)
    jsonl = "\n".join(json.dumps(x) for x in items.values())
    assert_same(parse(jsonl, item_fields, BYOM_HEADERS), want)

    assert_same(parse("\n".join(json.dumps(r) for r in rows), BYOM_TS, BYOM_HEADERS), want)  # JSON Lines

    index_fields = {"item_id": 0, "timestamp": 1, "target_time_series": 2, "related_time_series": [3, 4]}
    arrays = [[r[f] for f in FIELDS] for r in rows]
    assert_same(parse(json.dumps(arrays), index_fields, BYOM_HEADERS), want)
    csv = "\n".join(",".join("" if v is None else str(v) for v in row) for row in arrays) + "\n"
    assert_same(parse(csv, index_fields, BYOM_HEADERS, source="d.csv"), want)


def test_static_covariates_and_row_order() -> None:
    rows = [
        {"id": 2, "t": 3, "y": 4.0, "u": "red", "v": 1},
        {"id": 1, "t": 2, "y": 6.0, "u": "blue", "v": 0},
        {"id": 1, "t": 1, "y": 5.0, "u": "blue", "v": 0},
        {"id": 2, "t": 2, "y": 0.0, "u": "red", "v": 1},
        {"id": 1, "t": 3, "y": None, "u": None, "v": 0},
    ]
    fields = {
        "dataset_format": "timestamp_records",
        "item_id": "[*].id",
        "timestamp": "[*].t",
        "target_time_series": "[*].y",
        "static_covariates": ["[*].u", "[*].v"],
    }
    ds = parse(json.dumps(rows), fields)
    assert [i.item_id for i in ds.items] == [1, 2]
    one, two = ds.items
    assert one.timestamps == (1, 2) and one.static == ("blue", 0)  # the null future row is not a step
    np.testing.assert_array_equal(one.target, [5.0, 6.0])
    assert two.timestamps == (2, 3) and two.static == ("red", 1)
    np.testing.assert_array_equal(two.target, [0.0, 4.0])
    assert ds.static_names == ("u", "v")


def test_dates_are_sorted_and_inner_nulls_kept() -> None:
    rows = [
        {"i": "a", "t": "2024-01-03", "y": 3},
        {"i": "a", "t": "2024-01-01", "y": 1},
        {"i": "a", "t": "2024-01-02", "y": None},
    ]
    fields = {
        "dataset_format": "timestamp_records",
        "item_id": "[].i",
        "timestamp": "[].t",
        "target_time_series": "[].y",
    }
    (only,) = parse(json.dumps(rows), fields).items
    assert only.timestamps == ("2024-01-01", "2024-01-02", "2024-01-03")
    np.testing.assert_array_equal(only.target, [1.0, np.nan, 3.0])


def test_numbers_written_as_strings_sort_as_numbers() -> None:
    rows = [{"i": "a", "t": t, "y": 1} for t in ("10", "9", "100")]
    fields = {
        "dataset_format": "timestamp_records",
        "item_id": "[].i",
        "timestamp": "[].t",
        "target_time_series": "[].y",
    }
    assert parse(json.dumps(rows), fields).items[0].timestamps == ("9", "10", "100")


def test_locator_keeps_nulls_in_projections() -> None:
    doc = [{"a": 1}, {"a": None}, {"b": 2}, {"a": {"c": 3}}]
    assert compile_locator("[].a", "k").search(doc) == [1, None, None, {"c": 3}]
    assert compile_locator("[*].a.c", "k").search(doc) == [None, None, None, 3]
    assert compile_locator("*.x", "k").search({"p": {"x": 1}, "q": {}}) == [1, None]


@pytest.mark.parametrize(
    ("rows", "fields", "error", "message"),
    [
        (
            [{"i": "a", "t": 1, "y": "high"}],
            {},
            DatasetError,
            "p_mbar of item 'a' at timestamp 1 is 'high'; series values must be numbers or null",
        ),
        (
            [{"i": "a", "t": 1, "y": 1}, {"i": "a", "t": 1, "y": 2}],
            {},
            DatasetError,
            "has the timestamp 1 twice",
        ),
        ([{"i": "a", "t": 1, "y": None}], {}, DatasetError, "item 'a' has no target values"),
        (
            [{"i": "a", "t": 1, "y": 1}],
            {"target_time_series": "[].y["},
            ConfigError,
            "is not a valid JMESPath",
        ),
        (
            [{"i": "a", "t": 1, "y": 1, "u": 1}, {"i": "a", "t": 2, "y": 1, "u": 2}],
            {"static_covariates": ["[].u"]},
            DatasetError,
            "item 'a' has different values for u",
        ),
        (
            {"i": ["a"], "t": [1, 2], "y": [1, 2]},
            {"dataset_format": "columns", "item_id": "i", "timestamp": "t", "target_time_series": "y"},
            DatasetError,
            "gave 1 values but",
        ),  # fmt: skip
        (
            [{"i": ["a", "b"], "t": 1, "y": 1}],
            {"dataset_format": "item_records", "item_id": "[].i[]"},
            DatasetError,
            "gave 2 values for one item",
        ),
    ],
)
def test_bad_data_is_named(rows: Any, fields: dict[str, Any], error: type, message: str) -> None:
    base = {
        "dataset_format": "timestamp_records",
        "item_id": "[].i",
        "timestamp": "[].t",
        "target_time_series": "[].y",
    }
    headers = ["item_id", "timestamp", "p_mbar"] if "static_covariates" not in fields else None
    with pytest.raises(error, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse(json.dumps(rows), {**base, **fields}, headers)


def test_headers_must_match_the_fields() -> None:
    with pytest.raises(ConfigError, match=r"headers: time series needs 5 names .* got 3"):
        load_time_series(ts_config(**BYOM_TS), ["a", "b", "c"], BYOM_DATA)


def test_item_records_need_an_array_of_items() -> None:
    fields = {"dataset_format": "item_records", "item_id": "items[*].id", "timestamp": "items[*].s[].t",
              "target_time_series": "items[*].s[].y"}  # fmt: skip
    with pytest.raises(DatasetError, match="item_records needs a JSON array of items"):
        parse(json.dumps({"items": []}), fields)


def test_folder_with_gzip_part(tmp_path: Path) -> None:
    rows = byom_rows()
    (tmp_path / "a.json").write_text(json.dumps(rows[:9]))
    (tmp_path / "b.json.gz").write_bytes(gzip.compress(json.dumps(rows[9:]).encode()))
    ds = load_time_series(ts_config(**BYOM_TS), BYOM_HEADERS, tmp_path)
    assert_same(ds, load_time_series(ts_config(**BYOM_TS), BYOM_HEADERS, BYOM_DATA))
