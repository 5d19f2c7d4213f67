"""Response parsing: turning an endpoint's answer into scores or labels (clarify-contract.md 4.3).

Pure computation, no I/O. ``accept_type`` selects the format; ``label`` and ``probability``
locate values in it: a column index for CSV (and for the NPY fast path), a JMESPath
expression (or an index into each record's list) for JSON Lines and JSON.
"""

from __future__ import annotations

import ast
import csv
import io
import json
from typing import Any

import jmespath
import numpy as np

from analyzer.model_client.serialize import CSV, JSON, JSONLINES, NPY
from clarify_common.numeric_csv import parse_numeric_csv

ACCEPT_TYPES = (CSV, JSONLINES, JSON)


class ResponseFormatError(Exception):
    """The response cannot be used: wrong row count, not UTF-8, not parsable, wrong shape."""


def _compile_locator(locator: int | str | None, accept_type: str, key: str) -> Any:
    """Return an int column index, a compiled JMESPath expression, or None.

    The analysis plan has checked the locators; a bad one here is a caller's mistake (``ValueError``).
    """
    if locator is None:
        return None
    if isinstance(locator, bool):
        raise ValueError(f"predictor.{key} must be an integer index or a string, not {locator!r}")
    if isinstance(locator, int):
        if locator < 0:
            raise ValueError(f"predictor.{key} must be a non-negative column index, got {locator}")
        return locator
    text = str(locator).strip()
    if accept_type == CSV:
        if text.isdigit():
            return int(text)
        raise ValueError(f"predictor.{key} {locator!r} must be a column index for accept_type text/csv")
    try:
        return jmespath.compile(text)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValueError(f"predictor.{key} {locator!r} is not a valid JMESPath expression: {exc}") from None


def decode_text(body: bytes) -> str:
    """Decode a response body as UTF-8 text."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResponseFormatError(
            f"the response is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            f"first bytes: {body[:80]!r}"
        ) from None


def _lines(text: str) -> list[str]:
    return [line for line in text.strip().splitlines() if line.strip()]


def _arrow_numeric(body: bytes) -> np.ndarray | None:
    """Parse an all-numeric CSV body (clarify_common, else pyarrow inferring types); None if it is not one."""
    plain = parse_numeric_csv(body)
    if plain is not None:
        return plain
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if table.num_columns == 0 or not all(
        pa.types.is_floating(c.type) or pa.types.is_integer(c.type) for c in table.columns
    ):
        return None
    if any(c.null_count for c in table.columns):
        return None
    return np.column_stack([c.to_numpy().astype(np.float64, copy=False) for c in table.columns])


def parse_csv_table(text: str, n_records: int, body: bytes | None = None) -> np.ndarray:
    """Parse a CSV response into an (n_records, n_columns) cell array.

    One line per record, or (for one value per record) all records on one comma-separated
    line. Cells are float64 when every cell is numeric, otherwise ``object`` strings.
    """
    if body is not None and '"' not in text:
        table = _arrow_numeric(body)
        if table is not None:
            if table.shape[0] == n_records:
                return table
            if table.shape[0] == 1 and n_records > 1 and table.shape[1] == n_records:
                return table.reshape(n_records, 1)
    lines = _lines(text)
    if '"' in text:
        rows = list(csv.reader(lines))
    else:
        rows = None
    if len(lines) == n_records:
        pass
    elif len(lines) == 1 and n_records > 1:
        fields = rows[0] if rows is not None else lines[0].split(",")
        if len(fields) != n_records:
            raise ResponseFormatError(
                f"the CSV response has 1 line with {len(fields)} values for {n_records} "
                "records; expected one line per record, or one value per record"
            )
        return _to_cells([[f] for f in fields])
    else:
        raise ResponseFormatError(
            f"the CSV response has {len(lines)} lines for {n_records} records; "
            "the rows in the response payload must match the records in the request payload"
        )
    if rows is None:
        widths = {line.count(",") for line in lines}
        if len(widths) == 1:
            width = widths.pop() + 1
            flat = ",".join(lines).split(",")
            try:
                return np.array(flat, dtype=np.float64).reshape(n_records, width)
            except ValueError:
                return np.array([f.strip() for f in flat], dtype=object).reshape(n_records, width)
        rows = [line.split(",") for line in lines]
    return _to_cells(rows)


def _to_cells(rows: list[list[str]]) -> np.ndarray:
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ResponseFormatError(
            f"the CSV response rows have different numbers of columns: {sorted(widths)}"
        )
    cells = np.array([[c.strip() for c in r] for r in rows], dtype=object)
    try:
        return cells.astype(np.float64)
    except ValueError:
        return cells


def _literal_list(cell: Any) -> Any:
    """A CSV cell holding a list (``"[0.1, 0.9]"`` or ``"['a', 'b']"``) becomes a list."""
    if isinstance(cell, str) and cell.startswith("[") and cell.endswith("]"):
        try:
            return json.loads(cell)
        except ValueError:
            try:
                return ast.literal_eval(cell)
            except (ValueError, SyntaxError):
                return cell
    return cell


def to_scores(values: Any, n_records: int, what: str) -> np.ndarray:
    """Convert extracted per-record values (numbers or lists of numbers) to float64 (n, k)."""
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        arr = values
    else:
        if isinstance(values, np.ndarray):
            values = (
                [_literal_list(v) for v in values.tolist()] if values.ndim == 1 else values.tolist()
            )
        try:
            arr = np.array(values, dtype=np.float64)
        except (ValueError, TypeError) as exc:
            sample = values[:3] if isinstance(values, list) else values
            raise ResponseFormatError(
                f"Could not convert string to float: the {what} values are not all numbers or "
                f"equal-length lists of numbers ({exc}); first values: {sample!r}"
            ) from None
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ResponseFormatError(f"the {what} values have shape {arr.shape}, expected (records, k)")
    if arr.shape[0] != n_records:
        raise ResponseFormatError(
            f"the response holds {arr.shape[0]} {what} values for {n_records} records"
        )
    return arr


class ResponseParser:
    """Extract scores and labels from response bodies of one ``accept_type``.

    Args:
        accept_type: ``text/csv``, ``application/jsonlines`` or ``application/json``.
        label: Predicted-label locator (column index, or JMESPath for JSON formats).
        score: Score locator (``predictor.probability``, else ``predictor.label``, as Clarify);
            without it the whole CSV row / JSON value is the score.
        score_key: The ``predictor`` key the score locator came from, for messages.
    """

    def __init__(
        self,
        accept_type: str,
        label: int | str | None,
        score: int | str | None,
        score_key: str = "probability",
    ) -> None:
        if accept_type not in ACCEPT_TYPES:
            raise ValueError(
                f"accept_type {accept_type!r} is not a tabular response type; "
                f"use one of {', '.join(ACCEPT_TYPES)}"
            )
        self.accept_type = accept_type
        self.label = _compile_locator(label, accept_type, "label")
        self.score = _compile_locator(score, accept_type, score_key)
        self.score_key = score_key

    # --- extraction -----------------------------------------------------------------
    def _extract(self, body: bytes, n_records: int, locator: Any, what: str) -> Any:
        """Return per-record values located by ``locator`` (array for CSV, list for JSON)."""
        text = decode_text(body)
        if self.accept_type == CSV:
            table = parse_csv_table(text, n_records, body)
            if locator is None:
                return table
            if locator >= table.shape[1]:
                raise ResponseFormatError(
                    f"predictor.{what} is column {locator} but the CSV response has "
                    f"{table.shape[1]} columns"
                )
            return table[:, locator]
        if self.accept_type == JSONLINES:
            lines = _lines(text)
            if len(lines) != n_records:
                raise ResponseFormatError(
                    f"the JSON Lines response has {len(lines)} lines for {n_records} records; "
                    "expected one line per record"
                )
            try:
                docs = [json.loads(line) for line in lines]
            except ValueError as exc:
                raise ResponseFormatError(f"a JSON Lines response line is not JSON: {exc}") from None
            return [self._locate(d, locator, what) for d in docs]
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ResponseFormatError(f"the response is not JSON: {exc}") from None
        if isinstance(locator, int):
            records = doc if isinstance(doc, list) else [doc]
            values = [self._locate(r, locator, what) for r in records]
        else:
            values = self._locate(doc, locator, what)
        if n_records == 1 and not (isinstance(values, list) and len(values) == 1):
            values = [values]
        if not isinstance(values, list):
            raise ResponseFormatError(
                f"the JSON response is not a list of per-record values; set predictor.{what} to "
                f"a JMESPath expression that selects one value per record: {values!r:.200}"
            )
        if len(values) != n_records:
            raise ResponseFormatError(
                f"the JSON response holds {len(values)} {what} values for {n_records} records"
            )
        return values

    @staticmethod
    def _locate(doc: Any, locator: Any, what: str) -> Any:
        if locator is None:
            return doc
        if isinstance(locator, int):
            if not isinstance(doc, list) or locator >= len(doc):
                raise ResponseFormatError(
                    f"predictor.{what} index {locator} does not fit the record {doc!r:.200}"
                )
            return doc[locator]
        value = locator.search(doc)
        if value is None:
            raise ResponseFormatError(
                f"predictor.{what} {locator.expression!r} found nothing in the response "
                f"{json.dumps(doc)[:200]}"
            )
        return value

    # --- public API ------------------------------------------------------------------
    def scores(self, body: bytes, n_records: int) -> np.ndarray:
        """Return float64 scores (n_records, k) from a response body."""
        values = self._extract(body, n_records, self.score, self.score_key)
        return to_scores(values, n_records, self.score_key)

    def labels(self, body: bytes, n_records: int) -> list[Any]:
        """Return the ``label`` locator's per-record values (scalars, or lists of labels)."""
        values = self._extract(body, n_records, self.label, "label")
        if isinstance(values, np.ndarray):
            out = [_literal_list(v) for v in values.tolist()]
        else:
            out = list(values)
        if len(out) != n_records:
            raise ResponseFormatError(f"the response holds {len(out)} labels for {n_records} records")
        return out


def parse_npy(body: bytes, n_records: int, locator: int | None = None) -> np.ndarray:
    """Parse a fast-path ``application/x-npy`` response into float64 (n_records, k)."""
    try:
        arr = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ResponseFormatError(f"the application/x-npy response cannot be loaded: {exc}") from None
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[0] != n_records:
        raise ResponseFormatError(
            f"the application/x-npy response has shape {arr.shape} for {n_records} records"
        )
    if locator is not None:
        if locator >= arr.shape[1]:
            raise ResponseFormatError(
                f"column {locator} requested but the response has {arr.shape[1]} columns"
            )
        arr = arr[:, [locator]]
    return arr


__all__ = ["ResponseFormatError", "ResponseParser", "parse_csv_table", "parse_npy", "NPY"]
