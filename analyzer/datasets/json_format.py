"""``application/jsonlines`` and ``application/json`` reading with JMESPath.

JSON Lines: ``features`` is applied to every line and must give a 1-D list; ``label`` and
``predicted_label`` give one value per line. JSON: each file is one document; ``features``
gives a 2-D list (row *i* = record *i*) and ``label``/``predicted_label`` give lists with one
entry per record.

Column names follow the Clarify convention for ``headers``: feature names, then the label name
(if ``label``), then the predicted-label name (if ``predicted_label``). Without ``headers`` the
names are ``column_0``, ``column_1``, ... in that same order. ``headers`` holding only the
feature names is accepted too; the label and predicted label are then named ``label`` and
``predicted_label``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jmespath

from analyzer.errors import ConfigError, DatasetError

from .csv_format import HEADERS_MISMATCH

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

DATA_MUST_CONTAIN_FEATURES = "Data must contain features."


@dataclass
class JsonTable:
    """Records read from JSON / JSON Lines, before column naming."""

    features: list[list[Any]]
    labels: list[Any] | None
    predicted: list[Any] | None


class _FieldLookup:
    """Fast path for a JMESPath that is a plain identifier (``features``): a dict lookup."""

    def __init__(self, name: str) -> None:
        self.name = name

    def search(self, value: Any) -> Any:
        return value.get(self.name) if isinstance(value, dict) else None


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def compile_expr(expr: Any, key: str) -> Any:
    """Compile a JMESPath expression, raising :class:`ConfigError` naming ``key`` if invalid."""
    if not isinstance(expr, str) or not expr:
        raise ConfigError(f"'{key}' must be a JMESPath string for JSON datasets, got {expr!r}")
    if _IDENTIFIER.fullmatch(expr):
        return _FieldLookup(expr)
    try:
        return jmespath.compile(expr)
    except jmespath.exceptions.JMESPathError as exc:
        raise ConfigError(f"'{key}' is not a valid JMESPath expression {expr!r}: {exc}") from None


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"JSON data must be UTF-8: '{source}' has an invalid byte at offset {exc.start}."
        ) from None


def read_jsonlines(
    parts: Sequence[tuple[str, bytes]], features: str | None, label: str | None, predicted_label: str | None
) -> JsonTable:
    """Apply the JMESPath expressions to every line of every part."""
    if features is None:
        raise DatasetError(
            f"{DATA_MUST_CONTAIN_FEATURES} 'features' JMESPath is required for application/jsonlines."
        )
    f_expr = compile_expr(features, "features")
    l_expr = compile_expr(label, "label") if label is not None else None
    p_expr = compile_expr(predicted_label, "predicted_label") if predicted_label is not None else None
    table = JsonTable([], [] if l_expr else None, [] if p_expr else None)
    width: int | None = None
    for source, data in parts:
        record = 0
        for line_no, line in enumerate(_decode(data, source).splitlines(), start=1):
            if not line.strip():
                continue
            where = f"record {record} (line {line_no}) of '{source}'"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"Invalid JSON in {where}: {exc}") from None
            row = f_expr.search(obj)
            if not isinstance(row, list):
                raise DatasetError(
                    f"{DATA_MUST_CONTAIN_FEATURES} features JMESPath {features!r} gave {_short(row)} "
                    f"instead of a list in {where}"
                )
            if width is None:
                width = len(row)
            elif len(row) != width:
                raise DatasetError(
                    f"{HEADERS_MISMATCH} {where} has {len(row)} features but earlier records have {width}"
                )
            table.features.append(row)
            for expr, raw, out, key in (
                (l_expr, label, table.labels, "label"),
                (p_expr, predicted_label, table.predicted, "predicted_label"),
            ):
                if expr is None:
                    continue
                assert out is not None  # a list exactly when the expression is given
                value = expr.search(obj)
                if value is None or isinstance(value, dict | list):
                    raise DatasetError(
                        f"{key} JMESPath {raw!r} gave {_short(value)} instead of a value in {where}"
                    )
                out.append(value)
            record += 1
    return table


def read_json(
    parts: Sequence[tuple[str, bytes]], features: str | None, label: str | None, predicted_label: str | None
) -> JsonTable:
    """Apply the JMESPath expressions to each whole JSON document and concatenate the records."""
    if features is None:
        raise DatasetError(
            f"{DATA_MUST_CONTAIN_FEATURES} 'features' JMESPath is required for application/json."
        )
    f_expr = compile_expr(features, "features")
    l_expr = compile_expr(label, "label") if label is not None else None
    p_expr = compile_expr(predicted_label, "predicted_label") if predicted_label is not None else None
    table = JsonTable([], [] if l_expr else None, [] if p_expr else None)
    for source, data in parts:
        try:
            doc = json.loads(_decode(data, source))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"Invalid JSON in '{source}': {exc}") from None
        rows = f_expr.search(doc)
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise DatasetError(
                f"{DATA_MUST_CONTAIN_FEATURES} features JMESPath {features!r} gave {_short(rows)} "
                f"instead of a list of records (a 2-D list) in '{source}'"
            )
        expected = len(table.features[0]) if table.features else len(rows[0]) if rows else 0
        bad = next((i for i, r in enumerate(rows) if len(r) != expected), None)
        if bad is not None:
            raise DatasetError(
                f"{HEADERS_MISMATCH} record {bad} of '{source}' has {len(rows[bad])} features, "
                f"expected {expected}"
            )
        for expr, raw, out, key in (
            (l_expr, label, table.labels, "label"),
            (p_expr, predicted_label, table.predicted, "predicted_label"),
        ):
            if expr is None:
                continue
            assert out is not None  # a list exactly when the expression is given
            values = expr.search(doc)
            if not isinstance(values, list) or len(values) != len(rows):
                got = f"{len(values)} values" if isinstance(values, list) else _short(values)
                raise DatasetError(
                    f"{key} JMESPath {raw!r} must give one value per record in '{source}': "
                    f"got {got} for {len(rows)} records"
                )
            out.extend(values)
        table.features.extend(rows)
    return table


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def json_column_names(
    n_features: int, headers: Sequence[str] | None, has_label: bool, has_predicted: bool
) -> tuple[list[str], str | None, str | None]:
    """Column names per the headers convention: ``(names, label_column, predicted_column)``."""
    extras = [k for k, on in (("label", has_label), ("predicted_label", has_predicted)) if on]
    total = n_features + len(extras)
    if headers is None:
        names = [f"column_{i}" for i in range(total)]
    elif len(headers) == total:
        names = list(headers)
    elif len(headers) == n_features:
        names = list(headers) + extras
    else:
        expected = f"{n_features} feature names" + (f" + {' + '.join(extras)} name" if extras else "")
        raise DatasetError(
            f"{HEADERS_MISMATCH} headers has {len(headers)} names {list(headers)} but the data has {expected}"
        )
    label_col = names[n_features] if has_label else None
    pred_col = names[n_features + int(has_label)] if has_predicted else None
    return names, label_col, pred_col


def first_record_width(
    parts: Sequence[tuple[str, bytes]], kind: str, features: str | None
) -> int:
    """Number of features of the first record (the dataset header of a JSON / JSON Lines dataset)."""
    for source, data in parts:
        if kind == "application/jsonlines":
            text = _decode(data, source)
            line = next((ln for ln in text.splitlines() if ln.strip()), None)
            if line is None:
                continue
            table = read_jsonlines([(source, line.encode("utf-8"))], features, None, None)
        else:
            table = read_json([(source, data)], features, None, None)
        if table.features:
            return len(table.features[0])
    raise DatasetError(f"Dataset is empty: no records in {[s for s, _ in parts]}")


def to_frame(table: JsonTable, headers: Sequence[str] | None) -> tuple[pd.DataFrame, str | None, str | None]:
    """Name the columns per the headers convention; return ``(frame, label_column, predicted_column)``."""
    import pandas as pd  # not at import: reading the header must stay quick

    n_features = len(table.features[0]) if table.features else 0
    names, label_col, pred_col = json_column_names(
        n_features, headers, table.labels is not None, table.predicted is not None
    )
    frame = pd.DataFrame(table.features, columns=names[:n_features])
    if label_col is not None:
        frame[label_col] = pd.Series(table.labels).infer_objects()
    if pred_col is not None:
        frame[pred_col] = pd.Series(table.predicted).infer_objects()
    return frame.infer_objects(), label_col, pred_col
