"""``text/csv`` reading: UTF-8 check, header-row detection, pyarrow parsing.

CSV follows the ``csv.excel`` dialect (comma, ``"`` quotes, doubled quotes, quoted newlines,
``\\n``/``\\r\\n``/``\\r`` line ends) and must be UTF-8 (a leading BOM is ignored).

Header-row rule (the contract leaves it open, §7):

* ``headers`` given: the first row of a file is a header row, and is skipped, when its fields
  equal ``headers`` or when it *looks like a header* (below; a warning names both lists, the
  config names win). Otherwise every row is data.
* ``headers`` not given: the first row is the header row when it looks like a header, or when
  all its fields are distinct non-numeric strings and one of them is a column name used by the
  config (``label``, ``facet``, ``group_variable``, ...). Otherwise columns are named
  ``column_0``, ``column_1``, ...

A first row *looks like a header* when all its fields are non-empty, distinct and
non-numeric, and at least one column is numeric in every other sampled row (the
``csv.Sniffer.has_header`` idea). In a folder of parts, each part's first row is tested the
same way, so parts may or may not repeat the header.

Values are typed as ``pandas.read_csv`` (which Clarify's smclarify uses) types them, since the
type decides whether a facet or label is CATEGORICAL or CONTINUOUS: pandas' missing-value
markers (``NA``, ``None``, ``<NA>``, ``null``, the empty string, ...) are missing; a column
with nothing but missing values is float64 NaN; missing strings are NaN, not None; ``0x10``
is the string ``"0x10"`` (pyarrow alone would read it as the integer 16, and the column as
integers); ``+5`` is the integer 5 (pyarrow alone would make the column float64); integers
beyond int64 stay strings. pyarrow parses; the few columns whose pyarrow type would differ
(detected from the raw bytes) are read again with ``pandas.read_csv``.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from analyzer.errors import DatasetError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

# pandas and pyarrow are imported where rows are parsed, not at import: reading the header
# (the analysis plan, before any data is loaded) must stay quick.

log = logging.getLogger(__name__)

HEADERS_MISMATCH = "Headers in config do not match with the number of columns in the dataset."
_SNIFF_BYTES = 64 * 1024
_SNIFF_ROWS = 100
_BOM = b"\xef\xbb\xbf"
_UTF8_CHUNK = 16 << 20
#: pandas.read_csv's default missing-value markers (pyarrow's default list lacks "None", "<NA>").

def na_values() -> list[str]:
    """pandas' default missing-value markers (``read_csv``'s ``na_values``), for pyarrow."""
    from pandas._libs.parsers import STR_NA_VALUES

    return sorted(STR_NA_VALUES)
# pyarrow reads a hexadecimal literal as an integer (0x10 -> 16); pandas keeps the string.
_HEX_BYTES = re.compile(rb"0[xX][0-9a-fA-F]")
_HEX_VALUE = r"^\s*[+-]?0[xX]"
_INTEGER_VALUE = r"^\s*[+-]?[0-9]+\s*$"


def check_utf8(data: bytes, source: str) -> None:
    """Raise :class:`DatasetError` naming ``source`` and the byte offset if ``data`` is not UTF-8.

    Decodes in chunks so a large file is not duplicated in memory as a ``str``.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data), _UTF8_CHUNK):
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(data[start : start + _UTF8_CHUNK], final=start + _UTF8_CHUNK >= len(data))
        except UnicodeDecodeError as exc:
            offset = start - pending + exc.start
            raise DatasetError(
                f"CSV data must be UTF-8: '{source}' has an invalid byte 0x{data[offset]:02x} "
                f"at byte offset {offset}."
            ) from None


def sample_rows(data: bytes) -> list[list[str]]:
    """The first rows of a CSV file (at most ~64 KB / 100 rows), parsed with the excel dialect."""
    chunk = data[:_SNIFF_BYTES]
    truncated = len(data) > _SNIFF_BYTES
    text = chunk.decode("utf-8", errors="replace")
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), dialect=csv.excel):
            rows.append(row)
            if len(rows) > _SNIFF_ROWS:
                break
    except csv.Error:
        pass
    if truncated and rows and len(rows) <= _SNIFF_ROWS:
        rows.pop()  # possibly cut in the middle
    return [r for r in rows if r]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _header_like_fields(row: Sequence[str]) -> bool:
    fields = [f.strip() for f in row]
    return (
        bool(fields) and all(fields) and len(set(fields)) == len(fields) and not any(map(_is_number, fields))
    )


def _duplicated_header(rows: Sequence[Sequence[str]], hint_names: Iterable[str]) -> list[str]:
    """Names repeated in row 0 when it would be a header row but for them (else empty)."""
    if not rows:
        return []
    fields = [f.strip() for f in rows[0]]
    repeated = sorted({f for f in fields if fields.count(f) > 1})
    if not repeated or not all(fields) or any(map(_is_number, fields)):
        return []
    body = [r for r in rows[1:] if len(r) == len(fields)]
    numeric = any(all(r[j].strip() and _is_number(r[j]) for r in body) for j in range(len(fields)))
    return repeated if (body and numeric) or any(n in fields for n in hint_names) else []


def looks_like_header(rows: Sequence[Sequence[str]]) -> bool:
    """True when row 0 has distinct non-numeric names and some column is numeric in all other rows."""
    if len(rows) < 2 or not _header_like_fields(rows[0]):
        return False
    body = [r for r in rows[1:] if len(r) == len(rows[0])]
    if not body:
        return False
    return any(all(r[j].strip() and _is_number(r[j]) for r in body) for j in range(len(rows[0])))


def has_header_row(
    rows: Sequence[Sequence[str]], headers: Sequence[str] | None, hint_names: Iterable[str]
) -> bool:
    """Apply the module's header-row rule to the sampled first rows of one file."""
    if not rows:
        return False
    first = [f.strip() for f in rows[0]]
    if headers is not None:
        if first == list(headers):
            return True
        if looks_like_header(rows):
            log.warning(
                "The first CSV row %s looks like a header row and differs from the configured headers %s; "
                "it is skipped and the configured headers are used.",
                first,
                list(headers),
            )
            return True
        return False
    if looks_like_header(rows):
        return True
    return _header_like_fields(first) and any(name in first for name in hint_names)


def _parse(
    data: bytes,
    names: list[str],
    skip_rows: int,
    source: str,
    headers_from_config: bool,
    include: list[str] | None = None,
    as_text: Sequence[str] = (),
) -> pd.DataFrame:
    """Parse with pyarrow; numbers and booleans are typed, everything else stays text.

    pyarrow would turn ISO dates/times into temporal columns; those are read again as strings
    so the values reach the model exactly as written (pandas' ``read_csv`` behaves the same).
    ``include``: only these columns (default: all); ``as_text``: columns read as text.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    forced = {name: pa.string() for name in as_text}
    table = _read_arrow(data, names, skip_rows, source, headers_from_config, forced, include)
    temporal = {f.name: pa.string() for f in table.schema if pa.types.is_temporal(f.type)}
    if temporal:
        table = _read_arrow(data, names, skip_rows, source, headers_from_config, forced | temporal, include)
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type):  # nothing but missing values: pandas gives float64 NaN
            table = table.set_column(i, f.name, pa.nulls(len(table), pa.float64()))
    frame = table.to_pandas()
    for f in table.schema:
        if table.column(f.name).null_count and frame[f.name].dtype == object:
            column = frame[f.name]  # strings or booleans with missing values: NaN, as pandas
            frame[f.name] = column.where(column.notna(), np.nan)
    differing = _pandas_typed_columns(data, table, names, skip_rows, source, headers_from_config)
    if differing:
        log.debug("Reading columns %s of %s with pandas.read_csv", differing, source)
        again = pd.read_csv(io.BytesIO(data), header=None, names=names, skiprows=skip_rows, usecols=differing)
        for name in differing:
            frame[name] = again[name]
    return frame


def _has_hex_literal(data: bytes) -> bool:
    """Whether ``data`` holds ``0x``/``0X`` followed by a hex digit (``bytes.find``, not a regex:
    a regex scanning for ``0`` is slow on numeric data, where ``0`` is everywhere)."""
    for marker in (b"0x", b"0X"):
        at = data.find(marker)
        while at >= 0:
            if _HEX_BYTES.match(data, at):
                return True
            at = data.find(marker, at + 2)
    return False


def _pandas_typed_columns(
    data: bytes, table: pa.Table, names: list[str], skip_rows: int, source: str, headers_from_config: bool
) -> list[str]:
    """Columns that pandas.read_csv would type differently from pyarrow (see the module docstring).

    Candidates are cheap to find: integer columns when the bytes hold a hexadecimal literal;
    float columns without missing values whose values are all whole numbers, when the bytes
    hold a ``+`` or a value is beyond int64. Only the candidates are read again as text.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    has_hex = _has_hex_literal(data)
    has_plus = data.find(b"+") >= 0
    candidates = []
    for f in table.schema:
        column = table.column(f.name)
        if pa.types.is_integer(f.type):
            if has_hex:
                candidates.append(f.name)
        elif pa.types.is_floating(f.type) and column.null_count == 0 and len(column):
            whole = pc.all(pc.equal(pc.floor(column), column)).as_py()
            if whole and (has_plus or pc.max(pc.abs(column)).as_py() >= 2.0**63):
                candidates.append(f.name)
    if not candidates:
        return []
    text = _read_arrow(
        data,
        names,
        skip_rows,
        source,
        headers_from_config,
        {name: pa.string() for name in candidates},
        include=candidates,
    )
    differing = []
    for name in candidates:
        pattern = _HEX_VALUE if pa.types.is_integer(table.schema.field(name).type) else _INTEGER_VALUE
        matches = pc.match_substring_regex(text.column(name), pattern)
        # an integer column with a hex literal is strings for pandas; a float column of plain
        # integers (some with "+", or beyond int64) is int64, uint64 or strings for pandas
        if (pc.any if pattern == _HEX_VALUE else pc.all)(matches).as_py():
            differing.append(name)
    return differing


def _read_arrow(
    data: bytes,
    names: list[str],
    skip_rows: int,
    source: str,
    headers_from_config: bool,
    column_types: dict[str, pa.DataType],
    include: list[str] | None = None,
) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read_options = pacsv.ReadOptions(column_names=names, skip_rows=skip_rows, block_size=8 << 20)
    parse_options = pacsv.ParseOptions(
        delimiter=",", quote_char='"', double_quote=True, newlines_in_values=True
    )
    convert_options = pacsv.ConvertOptions(
        strings_can_be_null=True,
        null_values=na_values(),
        column_types=column_types,
        include_columns=include or [],
    )
    try:
        return pacsv.read_csv(
            pa.BufferReader(data),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "Expected" in msg and "columns" in msg:
            prefix = HEADERS_MISMATCH if headers_from_config else "Rows have different numbers of columns."
            raise DatasetError(
                f"{prefix} {len(names)} columns {names} expected in '{source}': {msg}"
            ) from None
        raise DatasetError(f"Unable to parse CSV file '{source}': {msg}") from None


def _first_row_names(
    source: str, data: bytes, names: list[str] | None, hint_names: list[str]
) -> tuple[list[str], bool]:
    """Column names after this part's first row, and whether that row is a header row.

    ``names`` are the names known so far (configured ``headers`` or an earlier part's), or
    ``None``; ``data`` is the part without BOM and must not be blank.
    """
    rows = sample_rows(data)
    header = has_header_row(rows, names, hint_names)
    first = [f.strip() for f in rows[0]] if rows else []
    if names is None:
        if header:
            if len(set(first)) != len(first):
                raise DatasetError(f"Duplicate column names in the header row of '{source}': {first}")
            return first, header
        repeated = _duplicated_header(rows, hint_names)
        if repeated:  # not data: a header row whose names collide
            raise DatasetError(
                f"Duplicate column names in the header row of '{source}': {repeated} appear more than "
                f"once in {first}; give every column a distinct name"
            )
        return [f"column_{i}" for i in range(len(first))], header
    if names and not header and rows and len(rows[0]) != len(names):
        raise DatasetError(
            f"{HEADERS_MISMATCH} headers has {len(names)} names {names} but the first row of "
            f"'{source}' has {len(rows[0])} columns: {rows[0]}"
        )
    return names, header


def _body(raw: bytes, source: str) -> bytes | None:
    """The part without BOM after the UTF-8 check; ``None`` (logged) when it is blank."""
    check_utf8(raw, source)
    data = raw[len(_BOM) :] if raw.startswith(_BOM) else raw
    if not data.strip():
        log.info("Skipping empty file %s", source)
        return None
    return data


def csv_column_names(
    parts: Iterable[tuple[str, bytes]], headers: Sequence[str] | None, hint_names: Iterable[str] = ()
) -> list[str]:
    """The column names :func:`read_csv_parts` gives these parts, read from the first non-empty part.

    Reads no more than the first rows of that part (the dataset header, for the analysis plan).
    """
    hints = [h for h in hint_names if isinstance(h, str)]
    sources = []
    for source, raw in parts:
        sources.append(source)
        data = _body(raw, source)
        if data is not None:
            return _first_row_names(source, data, list(headers) if headers is not None else None, hints)[0]
    raise DatasetError(f"Dataset is empty: no rows in {sources}")


def read_csv_parts(
    parts: Sequence[tuple[str, bytes]], headers: Sequence[str] | None, hint_names: Iterable[str] = ()
) -> pd.DataFrame:
    """Read and concatenate CSV parts ``(source, bytes)`` into one frame with named columns.

    ``headers`` are the configured column names (or ``None``); ``hint_names`` are column names
    the config refers to, used to recognise a header row when ``headers`` is not given.
    """
    hints = [h for h in hint_names if isinstance(h, str)]
    names: list[str] | None = list(headers) if headers is not None else None
    frames = []
    for source, raw in parts:
        data = _body(raw, source)
        if data is None:
            continue
        names, header = _first_row_names(source, data, names, hints)
        frame = _parse(data, names, 1 if header else 0, source, headers is not None)
        frames.append(frame)
    if not frames:
        sources = [s for s, _ in parts]
        raise DatasetError(f"Dataset is empty: no rows in {sources}")
    if len(frames) == 1:
        return frames[0]
    import pandas as pd

    return pd.concat(frames, ignore_index=True)
