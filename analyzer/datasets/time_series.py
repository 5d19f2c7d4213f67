"""Time-series datasets: ``time_series_data_config`` over JSON, JSON Lines and CSV files → items.

Layouts (``dataset_format``, clarify-contract.md §2.2, SDK ``TimeSeriesJSONDatasetFormat``):

* ``timestamp_records`` — a JSON array of rows ``{"item_id": .., "timestamp": .., "target": ..,
  "rts1": .., "scv1": ..}`` (or JSON Lines, one row per line); locators like ``[].target``
  give one value per row.
* ``columns`` — an object of parallel arrays ``{"ids": [..], "timestamps": [..], ...}`` (or JSON
  Lines, one such object per line); locators like ``ids`` give one value per row.
* ``item_records`` — a JSON array of items ``{"id": 1, "scv1": 10, "timeseries": [{"timestamp":
  .., "target_ts": ..}, ..]}`` (or JSON Lines, one item per line); ``[*].id`` and ``[*].scv1``
  give one value per item, ``[*].timeseries[].target_ts`` one per time step. Each item is
  located on its own (the expressions are evaluated on a one-item array).
* Integer locators (no ``dataset_format``) index the rows of a JSON array of arrays, of JSON
  Lines arrays, or of a ``.csv`` file.

Rules (INFERRED where Clarify is not documented; each is in the README section "Time-series
explanations"):

* Rows are grouped by item id; items are returned sorted by id (the real BYOM output lists
  ``sanjose`` before ``seattle`` although the input lists ``seattle`` first).
* Within an item, rows are sorted by timestamp when the timestamps are all numbers or all
  parse as dates; otherwise the input order is kept. A repeated timestamp is an error.
* A series ends at its last non-null value: the future rows of the target (``null`` in the
  BYOM example) are not part of it, while related series may run further (known future
  covariates). Inner nulls stay (as NaN) and are sent as ``null``.
* Static covariates are taken from the first row of an item that has them; rows that
  disagree are an error.
* Feature names come from ``headers`` in the SDK's order (item id, timestamp, target,
  related..., static...), else from the locators (``[].p_mbar`` → ``p_mbar``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from analyzer.errors import ConfigError, DatasetError
from analyzer.explain.asv_game import SeriesItem, TimeSeriesDataset

from .csv_format import read_csv_parts
from .ts_locate import Locator, compile_locator, locator_name

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import TimeSeriesDataConfig
    from analyzer.datasets.model import Dataset
    from analyzer.plan.model import DatasetPlan
    from analyzer.plan.time_series import TimeSeriesDataPlan

    #: ``time_series_data_config`` as configured, or as planned (same attribute names).
    TimeSeriesFields: TypeAlias = TimeSeriesDataConfig | TimeSeriesDataPlan

__all__ = [
    "SeriesItem",
    "TimeSeriesDataset",
    "load_planned_series",
    "load_time_series",
    "parse_time_series",
    "time_series_names",
]

KEY = "time_series_data_config"
log = logging.getLogger(__name__)


def time_series_names(ts: TimeSeriesFields, headers: Sequence[str] | None) -> list[str]:
    """Names of item id, timestamp, target, related... and static... in that order.

    ``headers`` (the SDK asks for exactly this order) when given, else names derived from the
    locators. Raises :class:`ConfigError` when ``headers`` has the wrong length.
    """
    related: Sequence[str | int] = ts.related_time_series or ()
    static: Sequence[str | int] = ts.static_covariates or ()
    locators: list[str | int] = [ts.item_id, ts.timestamp, ts.target_time_series, *related, *static]
    if headers is None:
        return [locator_name(v) for v in locators]
    if len(headers) != len(locators):
        raise ConfigError(
            f"headers: time series needs {len(locators)} names in the order item_id, timestamp, "
            f"target_time_series, related_time_series..., static_covariates... "
            f"(time_series_data_config has {len(locators) - 3} related and static fields); "
            f"got {len(headers)}: {list(headers)}"
        )
    return [str(h) for h in headers]


# ------------------------------------------------------------------------- reading files


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"JSON data must be UTF-8: '{source}' has an invalid byte at offset {exc.start}."
        ) from None


def _json_or_lines(data: bytes, source: str) -> tuple[Any, bool]:
    """The part as one JSON document, or as a list of JSON Lines values; (value, is_lines)."""
    text = _decode(data, source)
    try:
        return json.loads(text), False
    except json.JSONDecodeError as exc:
        if not exc.msg.startswith("Extra data"):
            raise DatasetError(f"Invalid JSON in '{source}': {exc}") from None
    values = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"Invalid JSON in line {line_no} of '{source}': {exc}") from None
    return values, True


class _Columns:
    """Row-aligned columns collected from every part: ids, timestamps, series, statics."""

    def __init__(self, n_related: int, n_static: int) -> None:
        self.ids: list[Any] = []
        self.stamps: list[Any] = []
        self.target: list[Any] = []
        self.related: list[list[Any]] = [[] for _ in range(n_related)]
        self.static: list[list[Any]] = [[] for _ in range(n_static)]
        self.where: list[str] = []

    def add(self, values: list[Any], locators: list[Locator], where: str, per_item: bool) -> None:
        """Append one unit's values (one list per locator, in the names order)."""
        ids, stamps, target = values[0], values[1], values[2]
        n = len(stamps)
        if per_item:  # item_records: id and statics are one value for the whole item
            ids = [ids] * n
        for loc, column in zip(locators[1:3], (stamps, target)):
            if len(column) != n:
                raise DatasetError(
                    f"{loc.describe()} gave {len(column)} values but "
                    f"{locators[1].describe()} gave {n} in {where}; every field must give one value per row"
                )
        if not per_item and len(ids) != n:
            raise DatasetError(
                f"{locators[0].describe()} gave {len(ids)} values but {locators[1].describe()} gave {n} "
                f"in {where}; every field must give one value per row"
            )
        self.ids += ids
        self.stamps += stamps
        self.target += target
        n_rel = len(self.related)
        for r in range(n_rel):
            column = values[3 + r]
            if len(column) != n:
                raise DatasetError(
                    f"{locators[3 + r].describe()} gave {len(column)} values for {n} rows in {where}"
                )
            self.related[r] += column
        for s in range(len(self.static)):
            column = values[3 + n_rel + s]
            if per_item:
                column = [column] * n
            elif len(column) != n:
                raise DatasetError(
                    f"{locators[3 + n_rel + s].describe()} gave {len(column)} values for {n} rows in {where}"
                )
            self.static[s] += column
        self.where += [where] * n


def _as_list(value: Any, loc: Locator, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise DatasetError(f"{loc.describe()} gave {_short(value)} instead of a list in {where}")
    return value


def _single(value: Any, loc: Locator, where: str) -> Any:
    """One value per item (item_records): a one-element list or a scalar."""
    if isinstance(value, list):
        if len(value) != 1:
            raise DatasetError(f"{loc.describe()} gave {len(value)} values for one item in {where}")
        value = value[0]
    if isinstance(value, dict | list):
        raise DatasetError(f"{loc.describe()} gave {_short(value)} instead of a value in {where}")
    return value


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _read_jmespath(
    parts: Sequence[tuple[str, bytes]], fmt: str, locators: list[Locator], cols: _Columns
) -> None:
    n_static = len(cols.static)
    first_static = len(locators) - n_static
    for source, data in parts:
        if source.lower().endswith(".csv"):
            raise DatasetError(
                f"'{source}' is a CSV file; JMESPath locators read JSON. Use integer column indices in "
                f"{KEY} (without dataset_format) for CSV files"
            )
        value, is_lines = _json_or_lines(data, source)
        if fmt == "item_records":
            items = value if is_lines or isinstance(value, list) else None
            if items is None:
                raise DatasetError(
                    f"'{source}': dataset_format item_records needs a JSON array of items (or JSON Lines, "
                    f"one item per line); got {_short(value)}"
                )
            for i, item in enumerate(items):
                where = f"item record {i} of '{source}'"
                unit = [item]
                values: list[Any] = []
                for j, loc in enumerate(locators):
                    found = loc.search(unit)
                    values.append(
                        _single(found, loc, where)
                        if j == 0 or j >= first_static
                        else _as_list(found, loc, where)
                    )
                cols.add(values, locators, where, per_item=True)
            continue
        units = [value] if (fmt == "timestamp_records" or not is_lines) else value
        for u, unit in enumerate(units):
            where = f"'{source}'" if len(units) == 1 else f"line {u + 1} of '{source}'"
            cols.add(
                [_as_list(loc.search(unit), loc, where) for loc in locators], locators, where, per_item=False
            )


def _read_rows(parts: Sequence[tuple[str, bytes]], locators: list[Locator], cols: _Columns) -> None:
    """Integer locators: rows of a JSON array of arrays, JSON Lines arrays, or CSV files."""
    for source, data in parts:
        if source.lower().endswith(".csv"):
            frame = read_csv_parts([(source, data)], None)
            rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
        else:
            value, _ = _json_or_lines(data, source)
            rows = value
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise DatasetError(
                f"'{source}': integer locators in {KEY} need rows that are arrays (a JSON array of arrays, "
                f"JSON Lines arrays, or CSV); got {_short(rows)}"
            )
        width = max(loc.index or 0 for loc in locators) + 1
        for i, row in enumerate(rows):
            if len(row) < width:
                raise DatasetError(
                    f"row {i} of '{source}' has {len(row)} columns; {KEY} refers to column {width - 1}"
                )
        cols.add([[loc.pick(r) for r in rows] for loc in locators], locators, f"'{source}'", per_item=False)


# ------------------------------------------------------------------------- building items


def _number(value: Any, what: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str) and value.strip().lower() == "nan":
            return math.nan
        raise DatasetError(f"{what} is {_short(value)}; series values must be numbers or null")
    return float(value)


def _series(values: list[Any], what: str, stamps: list[Any]) -> np.ndarray:
    out = np.array(
        [_number(v, f"{what} at timestamp {_short(t)}") for v, t in zip(values, stamps)], dtype=np.float64
    )
    present = np.flatnonzero(~np.isnan(out))
    return out[: present[-1] + 1] if len(present) else out[:0]


def _time_order(stamps: list[Any]) -> np.ndarray | None:
    """Indices that sort the timestamps, or None when they cannot be compared."""
    if all(isinstance(t, int | float) and not isinstance(t, bool) for t in stamps):
        keys: Any = np.asarray(stamps, dtype=np.float64)
    elif all(isinstance(t, str) for t in stamps):
        try:
            keys = np.asarray([float(t) for t in stamps])  # numbers written as strings
        except ValueError:
            try:
                keys = pd.to_datetime(pd.Series(stamps), format="mixed").to_numpy()
            except (ValueError, TypeError, OverflowError):
                return None
    else:
        return None
    return np.argsort(keys, kind="stable")


def _sort_key(item_id: Any) -> tuple[int, Any]:
    if isinstance(item_id, int | float) and not isinstance(item_id, bool):
        return (0, item_id)
    return (1, str(item_id))


def _build_items(cols: _Columns, names: list[str]) -> list[SeriesItem]:
    groups: dict[Any, list[int]] = {}
    for i, item_id in enumerate(cols.ids):
        if item_id is None or isinstance(item_id, dict | list):
            raise DatasetError(f"{KEY}.item_id: row {i} in {cols.where[i]} has item id {_short(item_id)}")
        groups.setdefault(item_id, []).append(i)
    n_related = len(cols.related)
    items = []
    for item_id, rows in groups.items():
        stamps = [cols.stamps[i] for i in rows]
        if any(t is None for t in stamps):
            raise DatasetError(f"{KEY}.timestamp: item {item_id!r} has a row without a timestamp")
        order = _time_order(stamps)
        if order is not None:
            rows = [rows[k] for k in order]
            stamps = [stamps[k] for k in order]
        seen: set[str] = set()
        for t in stamps:
            token = json.dumps(t, default=str)
            if token in seen:
                raise DatasetError(f"{KEY}.timestamp: item {item_id!r} has the timestamp {_short(t)} twice")
            seen.add(token)
        what = f"{names[2]} of item {item_id!r}"
        target = _series([cols.target[i] for i in rows], what, stamps)
        if len(target) == 0:
            raise DatasetError(f"{KEY}.target_time_series: item {item_id!r} has no target values (all null)")
        related = tuple(
            _series([cols.related[r][i] for i in rows], f"{names[3 + r]} of item {item_id!r}", stamps)
            for r in range(n_related)
        )
        static = []
        for s, column in enumerate(cols.static):
            values = [column[i] for i in rows if column[i] is not None]
            name = names[3 + n_related + s]
            if not values:
                raise DatasetError(f"{KEY}.static_covariates: item {item_id!r} has no value for {name}")
            if any(json.dumps(v) != json.dumps(values[0]) for v in values[1:]):
                raise DatasetError(
                    f"{KEY}.static_covariates: item {item_id!r} has different values for {name} "
                    f"({_short(values[0])} and others); a static covariate has one value per item"
                )
            if isinstance(values[0], dict | list):
                raise DatasetError(
                    f"{KEY}.static_covariates: {name} of item {item_id!r} is {_short(values[0])}"
                )
            static.append(values[0])
        n_steps = max([len(target), *(len(r) for r in related)])
        items.append(SeriesItem(item_id, tuple(stamps[:n_steps]), target, related, tuple(static)))
    items.sort(key=lambda it: _sort_key(it.item_id))
    return items


def parse_time_series(
    parts: Sequence[tuple[str, bytes]], ts: TimeSeriesFields, headers: Sequence[str] | None
) -> TimeSeriesDataset:
    """Read ``(source, bytes)`` parts into a :class:`TimeSeriesDataset` (pure; no I/O).

    Raises:
        ConfigError: a locator is not a valid JMESPath, ``headers`` has the wrong length, or
            JMESPath locators come without ``dataset_format``.
        DatasetError: a part cannot be parsed, fields do not line up, or a value is unusable;
            the message names the file, the item and the field.
    """
    names = time_series_names(ts, headers)
    related: Sequence[str | int] = ts.related_time_series or ()
    static: Sequence[str | int] = ts.static_covariates or ()
    specs: list[tuple[str | int, str]] = [
        (ts.item_id, f"{KEY}.item_id"),
        (ts.timestamp, f"{KEY}.timestamp"),
        (ts.target_time_series, f"{KEY}.target_time_series"),
    ]
    specs += [(v, f"{KEY}.related_time_series[{i}]") for i, v in enumerate(related)]
    specs += [(v, f"{KEY}.static_covariates[{i}]") for i, v in enumerate(static)]
    locators = [compile_locator(v, k) for v, k in specs]
    by_index = locators[2].index is not None
    if any((loc.index is not None) != by_index for loc in locators):
        raise ConfigError(f"{KEY}: every locator must be a JMESPath string, or every locator a column index")
    cols = _Columns(len(related), len(static))
    if by_index:
        _read_rows(parts, locators, cols)
    else:
        fmt = (ts.dataset_format or "").lower()
        if fmt not in ("timestamp_records", "columns", "item_records"):
            raise ConfigError(
                f"{KEY}.dataset_format: required with JMESPath locators (columns, item_records or "
                f"timestamp_records): Please provide a valid dataset format."
            )
        _read_jmespath(parts, fmt, locators, cols)
    if not cols.ids:
        raise DatasetError(f"Dataset is empty: no time-series rows in {[s for s, _ in parts]}")
    items = _build_items(cols, names)
    return TimeSeriesDataset(
        items=tuple(items),
        item_id_name=names[0],
        timestamp_name=names[1],
        target_name=names[2],
        related_names=tuple(names[3 : 3 + len(related)]),
        static_names=tuple(names[3 + len(related) :]),
    )


def load_time_series(
    ts: TimeSeriesDataConfig, headers: Sequence[str] | None, data_uri: str | Path
) -> TimeSeriesDataset:
    """Read every data file at ``data_uri`` (file, folder or ``s3://``; gzip recognised) into items."""
    from .loader import read_parts

    parts = read_parts(data_uri)
    if not parts:
        raise DatasetError(f"Dataset is empty: no data files at '{data_uri}'")
    return parse_time_series(parts, ts, headers)


def load_planned_series(plan: DatasetPlan) -> Dataset:
    """Load the time-series dataset of a plan: items in :attr:`Dataset.series`, one frame row per step.

    Besides the checks of :func:`parse_time_series`, every item with static covariates must
    have a static-covariate baseline when they are players (``static_baseline_ids``), so a
    missing one is found here, before any endpoint starts.
    """
    from .loader import read_parts
    from .model import Dataset

    ts = plan.time_series
    assert ts is not None, "load_planned_series needs a time-series dataset plan"
    log.info("Dataset type: %s uri: %s", plan.dataset_type, plan.uri)
    log.info("Loading dataset...")
    parts = read_parts(plan.uri)
    if not parts:
        raise DatasetError(f"Dataset is empty: no data files at '{plan.uri}'")
    series = parse_time_series(parts, ts, ts.names)
    if ts.static_baseline_ids is not None:
        ids = ts.static_baseline_ids
        missing = [it.item_id for it in series.items if it.static and str(it.item_id) not in ids]
        if missing:
            raise ConfigError(
                "methods.asymmetric_shapley_value.baseline.static_covariates: no baseline for item "
                f"{_short(missing[0])}"
                + (f" (and {len(missing) - 1} more items)" if len(missing) > 1 else "")
                + "; predictor.record_template sends $static_covariates, so give one baseline value per "
                "static covariate for every item id"
            )
    frame = _steps_frame(series)
    log.info(
        "Loaded %d time series items (%d time steps) from %s", len(series.items), len(frame), plan.uri
    )
    return Dataset(frame=frame, feature_names=list(ts.names[2:]), uri=plan.uri, series=series)


def _steps_frame(series: TimeSeriesDataset) -> pd.DataFrame:
    """One row per item and time step: item id, timestamp, target, related..., static... columns."""
    ids: list[Any] = []
    stamps: list[Any] = []
    values: dict[str, list[Any]] = {
        name: [] for name in (series.target_name, *series.related_names, *series.static_names)
    }
    for item in series.items:
        n = len(item.timestamps)
        ids += [item.item_id] * n
        stamps += list(item.timestamps)
        for name, arr in zip((series.target_name, *series.related_names), (item.target, *item.related)):
            values[name] += arr.tolist() + [math.nan] * (n - len(arr))
        for name, value in zip(series.static_names, item.static):
            values[name] += [value] * n
    return pd.DataFrame({series.item_id_name: ids, series.timestamp_name: stamps, **values})
