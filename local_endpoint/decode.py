"""Request body → 2-D numpy array of records (pure functions, no I/O).

Every decoder returns a 2-D array with one row per record:

* ``float64`` when every feature is numeric;
* otherwise an ``object`` array whose numeric columns hold Python floats and whose
  string columns hold ``str`` (so a scikit-learn ``ColumnTransformer`` that selects
  columns by integer index, e.g. a ``OneHotEncoder`` on the string columns, accepts it).

Errors are :class:`~local_endpoint.errors.BadRequest` with a message naming the line or
record at fault, or :class:`~local_endpoint.errors.UnsupportedMediaType`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from clarify_common.numeric_csv import parse_numeric_csv
from local_endpoint.errors import BadRequest, UnsupportedMediaType

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
NPY = "application/x-npy"

_NUMERIC_KINDS = (pa.types.is_integer, pa.types.is_floating, pa.types.is_null, pa.types.is_decimal)
_SMALL_BODY = 64 * 1024  # pyarrow reads larger bodies with threads
_THREADED_BODY = 1024 * 1024  # ... or, for the all-float fast path, larger than this
_TYPED_BLOCK = 128 * 1024


def _is_numeric(t: pa.DataType) -> bool:
    return any(check(t) for check in _NUMERIC_KINDS)


def _columns_to_array(columns: list[pa.ChunkedArray]) -> np.ndarray:
    """Stack Arrow columns into a float64 array, or an object array when some are strings."""
    n = len(columns[0]) if columns else 0
    numeric = [_is_numeric(c.type) for c in columns]
    if all(numeric):
        out = np.empty((n, len(columns)), dtype=np.float64)
        for j, col in enumerate(columns):
            out[:, j] = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return out
    out = np.empty((n, len(columns)), dtype=object)
    for j, col in enumerate(columns):
        if numeric[j]:
            out[:, j] = col.cast(pa.float64()).to_numpy(zero_copy_only=False).tolist()
        else:
            out[:, j] = col.cast(pa.string()).to_numpy(zero_copy_only=False)
    return out


def _locate_csv_error(body: bytes | bytearray, arrow_message: str) -> str:
    """Slow path, only after a failed parse: find the first line whose field count differs."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        return f"line {line}: not valid UTF-8 ({exc.reason})"
    expected: int | None = None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for fields in reader:
            if not fields:
                continue
            if expected is None:
                expected = len(fields)
            elif len(fields) != expected:
                return f"line {reader.line_num}: {len(fields)} fields, but the first record has {expected}"
    except csv.Error as exc:
        return f"line {reader.line_num}: {exc}"
    return arrow_message


def _csv_all_float(
    body: bytes | bytearray, read: pacsv.ReadOptions, parse: pacsv.ParseOptions
) -> pa.Table | None:
    """Read every column as float64 when the first line has no quotes (skips type inference)."""
    end = body.find(b"\n")
    first = body[:end].rstrip(b"\r")
    if b'"' in first:
        return None
    names = [f"f{i}" for i in range(first.count(b",") + 1)]
    # Column types are fixed, so the body can be cut into small blocks: parsing 128 KiB
    # blocks is about twice as fast as one large block (cache), and blocks can go to threads.
    typed = pacsv.ReadOptions(
        column_names=names, use_threads=len(body) > _THREADED_BODY, block_size=_TYPED_BLOCK
    )
    convert = pacsv.ConvertOptions(column_types={n: pa.float64() for n in names})
    try:
        return pacsv.read_csv(
            pa.BufferReader(body), read_options=typed, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _csv_inferred(body: bytes | bytearray, read: pacsv.ReadOptions, parse: pacsv.ParseOptions) -> pa.Table:
    """Read with per-column type inference; non-numeric columns are re-read as text."""
    table = pacsv.read_csv(pa.BufferReader(body), read_options=read, parse_options=parse)
    if all(_is_numeric(c.type) for c in table.columns):
        return table
    # Re-read with the non-numeric columns forced to string so that values such as dates
    # or "true" keep their original text.
    strings = {
        name: pa.string() for name, c in zip(table.column_names, table.columns) if not _is_numeric(c.type)
    }
    convert = pacsv.ConvertOptions(column_types=strings, strings_can_be_null=False)
    return pacsv.read_csv(
        pa.BufferReader(body), read_options=read, parse_options=parse, convert_options=convert
    )


def decode_csv(body: bytes | bytearray) -> np.ndarray:
    """Parse headerless CSV (one record per line, RFC 4180 quoting) into a 2-D array.

    Parsing is vectorised: :func:`clarify_common.numeric_csv.parse_numeric_csv` (exact; a
    compiled kernel once it is loaded) for plain all-numeric bodies, otherwise ``pyarrow.csv`` (all columns as
    float64 first; on failure with column types inferred over the whole body, which also
    names the line at fault). Columns that are not numeric (strings, booleans, dates) are kept
    as ``str`` exactly as written. Empty numeric cells become NaN.
    """
    if not body.endswith(b"\n"):
        body += b"\n"  # pyarrow cannot infer the columns of a single unterminated line
    plain = parse_numeric_csv(body)
    if plain is not None:
        return plain
    read = pacsv.ReadOptions(
        autogenerate_column_names=True,
        use_threads=len(body) > _SMALL_BODY,
        block_size=max(len(body) + 1, 1 << 20),
    )
    parse = pacsv.ParseOptions(newlines_in_values=False)
    try:
        table = _csv_all_float(body, read, parse) or _csv_inferred(body, read, parse)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BadRequest(f"cannot parse the text/csv body: {_locate_csv_error(body, str(exc))}") from None
    if table.num_rows == 0:
        raise BadRequest("the text/csv body has no records")
    return _columns_to_array(table.columns)


def _records_to_array(records: list, where: str) -> np.ndarray:
    """Turn a list of records (lists of scalars, or ``{"features": [...]}``) into a 2-D array."""
    if not records:
        raise BadRequest(f"{where}: no records")
    rows: list[list] = []
    for i, rec in enumerate(records):
        if isinstance(rec, dict):
            if "features" not in rec:
                raise BadRequest(f"{where}: record {i} is an object without a 'features' key")
            rec = rec["features"]
        if not isinstance(rec, list):
            rec = [rec]
        rows.append(rec)
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise BadRequest(f"{where}: record {i} has {len(row)} features, but record 0 has {width}")
        for value in row:
            if value is not None and not isinstance(value, (int, float, str)):
                raise BadRequest(f"{where}: record {i} holds a nested value {value!r}")
    try:
        return np.array(rows, dtype=np.float64)
    except (ValueError, TypeError):
        pass
    out = np.array(rows, dtype=object)
    for j in range(width):
        col = out[:, j]
        if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in col):
            out[:, j] = [np.nan if v is None else float(v) for v in col]
    return out


def decode_json(body: bytes) -> np.ndarray:
    """Parse ``{"instances": [...]}``, ``{"features": [...]}`` or a plain JSON list of records.

    A flat list of scalars is one record.
    """
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", 1)
        raise BadRequest(f"cannot parse the application/json body: line {line}: {exc}") from None
    if isinstance(doc, dict):
        if "instances" in doc:
            doc = doc["instances"]
        elif "features" in doc:
            doc = [doc["features"]]
        else:
            raise BadRequest("application/json body: expected a list or an object with an 'instances' key")
    if not isinstance(doc, list):
        raise BadRequest("application/json body: expected a list of records")
    if doc and not isinstance(doc[0], (list, dict)):
        doc = [doc]
    return _records_to_array(doc, "application/json body")


def decode_jsonlines(body: bytes) -> np.ndarray:
    """Parse JSON Lines: one record per line, a JSON list or ``{"features": [...]}``."""
    records = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"cannot parse the application/jsonlines body: line {number}: {exc}") from None
    return _records_to_array(records, "application/jsonlines body")


def _npy_array(body: bytes | bytearray) -> np.ndarray:
    """The array of a ``numpy.save`` body, without copying the data (``allow_pickle=False``)."""
    head = io.BytesIO(body[: 1 << 17])  # one copy of magic + header (at most a few KiB in practice)
    version = np.lib.format.read_magic(head)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(head)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(head)
    if dtype.hasobject:
        raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
    count = math.prod(shape)
    offset = head.tell()
    if len(body) - offset < count * dtype.itemsize:
        have, want = len(body) - offset, count * dtype.itemsize
        raise EOFError(f"the body holds {have} bytes of data, its header announces {want}")
    arr = np.frombuffer(body, dtype=dtype, count=count, offset=offset)
    return arr.reshape(shape[::-1]).T if fortran_order else arr.reshape(shape)


def decode_npy(body: bytes | bytearray) -> np.ndarray:
    """Load a ``numpy.save`` array (``allow_pickle=False``); 1-D means a single record.

    The array is a view of ``body`` (writable when ``body`` is a ``bytearray``).
    """
    try:
        arr = _npy_array(body)
    except (ValueError, OSError, EOFError) as exc:
        raise BadRequest(f"cannot parse the application/x-npy body: {exc}") from None
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise BadRequest(f"application/x-npy body: expected a 2-D array, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise BadRequest("application/x-npy body: no records")
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64, copy=False)
    if arr.dtype.kind == "U":
        return arr.astype(object)
    raise BadRequest(f"application/x-npy body: unsupported dtype {arr.dtype}")


DECODERS: dict[str, Callable[[bytes], np.ndarray]] = {
    CSV: decode_csv,
    JSON: decode_json,
    JSONLINES: decode_jsonlines,
    "application/json-lines": decode_jsonlines,
    "application/x-jsonlines": decode_jsonlines,
    NPY: decode_npy,
}


def media_type(header: str | None) -> str:
    """``"Text/CSV; charset=utf-8"`` → ``"text/csv"``; empty string when absent."""
    if not header:
        return ""
    return header.split(";", 1)[0].strip().lower()


def decode(body: bytes | bytearray, content_type: str | None) -> np.ndarray:
    """Decode a request body of the given ``Content-Type`` into a 2-D array of records."""
    kind = media_type(content_type) or CSV
    decoder = DECODERS.get(kind)
    if decoder is None:
        raise UnsupportedMediaType(
            f"unsupported Content-Type {content_type!r}; supported: {', '.join(sorted(set(DECODERS)))}"
        )
    if not body or body.isspace():  # isspace stops at the first other byte; strip() would copy
        raise BadRequest("the request body is empty")
    return decoder(body)  # type: ignore[arg-type]  # a bytearray reads like bytes here
