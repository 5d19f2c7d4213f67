"""Turn captured payloads and ground truth into dataset rows (pure).

One capture may hold several records (a batch request): CSV lines, JSON Lines, or a JSON
document whose ``FeaturesAttribute`` JMESPath (``instances[*].features``) yields a list of rows.
The model output and the ground truth of that capture then hold as many values, in order.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import jmespath

from analyzer.errors import DatasetError
from analyzer.monitor.capture import Payload

__all__ = ["feature_rows", "is_csv", "output_values"]


def is_csv(content_type: str) -> bool:
    """Whether a content type is CSV."""
    return content_type in ("text/csv", "text/plain", "application/csv")


def _csv_lines(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]


def _json_documents(text: str, content_type: str, where: str) -> list[Any]:
    """One document for ``application/json`` (or any text that parses whole), else one per line."""
    if content_type != "application/jsonlines":
        try:
            return [json.loads(text)]
        except ValueError:
            pass
    docs = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                docs.append(json.loads(line))
            except ValueError as exc:
                raise DatasetError(f"{where}: line {n} of the data is not JSON: {exc}") from exc
    return docs


def _search(expression: str, doc: Any, where: str) -> Any:
    try:
        return jmespath.search(expression, doc)
    except jmespath.exceptions.JMESPathError as exc:
        raise DatasetError(f"{where}: bad JMESPath {expression!r}: {exc}") from exc


def _is_row(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value)


def feature_rows(payload: Payload, features: str | None, where: str) -> list[list[Any]]:
    """The feature rows of a captured request: CSV lines, or the ``features`` JMESPath of JSON."""
    if is_csv(payload.content_type):
        return [list(row) for row in _csv_lines(payload.text)]
    rows: list[list[Any]] = []
    for doc in _json_documents(payload.text, payload.content_type, where):
        value = _search(features, doc, where) if features else doc
        if _is_row(value):
            rows.append(value)
        elif isinstance(value, list) and all(_is_row(v) for v in value):
            rows.extend(value)
        else:
            hint = f"features attribute {features!r}" if features else "no features attribute"
            raise DatasetError(
                f"{where}: the captured input gives no feature rows with {hint} "
                f"(got {json.dumps(value)[:100]}); set the features attribute to the JMESPath of the features"
            )
    return rows


def _csv_index(locator: str | int | None) -> int | None:
    if locator is None or isinstance(locator, int):
        return locator
    text = str(locator).strip()
    return int(text) if text.lstrip("-").isdigit() else None


def output_values(payload: Payload, locator: str | int | None, n_records: int, where: str) -> list[Any]:
    """One value per record from a model response or a ground truth.

    CSV: a line per record, the ``locator`` column (an index; default: the only or first
    column). JSON: the ``locator`` JMESPath of each document (default: the document), a list
    of ``n_records`` values when one document answers several records.
    """
    values: list[Any] = []
    if is_csv(payload.content_type):
        index = _csv_index(locator)
        lines = _csv_lines(payload.text)
        if len(lines) == 1 and n_records > 1 and len(lines[0]) == n_records and index is None:
            return list(lines[0])  # one line holding one value per record
        for row in lines:
            col = index if index is not None else 0
            if col >= len(row) or col < -len(row):
                raise DatasetError(
                    f"{where}: the CSV data has {len(row)} columns; column {col} does not exist"
                )
            values.append(row[col])
    else:
        docs = _json_documents(payload.text, payload.content_type, where)
        for doc in docs:
            value = _search(str(locator), doc, where) if locator not in (None, "") else doc
            if value is None:
                raise DatasetError(f"{where}: {locator!r} finds nothing in {json.dumps(doc)[:100]}")
            if isinstance(value, list) and (len(docs) == 1 and n_records != 1 or len(value) == 1):
                values.extend(value)
            else:
                values.append(value)
    if len(values) != n_records:
        raise DatasetError(
            f"{where}: {len(values)} values for {n_records} records; they must match one to one"
        )
    return values
