"""Request serialization: turning feature rows into request bodies (clarify-contract.md 4.2).

Pure computation, no I/O. Every encoder turns a 2-D array of rows (``object`` or numeric
dtype, columns in ``feature_names`` order) into ``bytes``. The CSV encoder formats each
distinct value of a column once and builds rows by joining the pre-formatted tokens
(shap-and-perf.md 5.3): synthetic SHAP rows repeat a handful of values per column.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

CSV = "text/csv"
JSONLINES = "application/jsonlines"
JSON = "application/json"
NPY = "application/x-npy"

_CSV_SPECIAL = re.compile(r'[,"\n\r]')
_RECORD_TEMPLATE_TOKENS = re.compile(r'\$features_kvp|\$feature_names|\$features|"\$\{([^}]*)\}"')
_CONTENT_TEMPLATE_TOKENS = re.compile(r"\$records|\$record|\$feature_names|\$features")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return False


def format_csv_token(value: Any) -> str:
    """Format one cell for a CSV request: shortest round-trip floats, minimal quoting.

    Missing values (``None``, NaN) become empty fields; strings are quoted only when they
    contain a comma, a quote or a line break.
    """
    if _is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    text = str(value)
    if _CSV_SPECIAL.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def json_value(value: Any) -> Any:
    """Convert one cell to a JSON-serializable value (numpy scalars unwrapped, NaN -> null)."""
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def factorize(column: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Distinct values of a column (as Python objects) and each cell's index into them."""
    if column.dtype.kind in "fiub":
        uniques, inverse = np.unique(column, return_inverse=True)
        return uniques.tolist(), inverse.reshape(-1)
    values = column.tolist()
    try:
        index: dict[Any, int] = {}
        codes = np.fromiter(
            (index.setdefault(v, len(index)) for v in values), dtype=np.intp, count=len(values)
        )
        return list(index), codes
    except TypeError:  # unhashable cells: no sharing
        return values, np.arange(len(values), dtype=np.intp)


def token_matrix(rows: np.ndarray, formatter=format_csv_token) -> np.ndarray:
    """Return an object array of the same shape as ``rows`` holding formatted tokens."""
    out = np.empty(rows.shape, dtype=object)
    for j in range(rows.shape[1]):
        uniques, codes = factorize(rows[:, j])
        out[:, j] = np.array([formatter(v) for v in uniques], dtype=object)[codes]
    return out


def _column_codes(column: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Distinct values of a column and each cell's index into them (hash-based for numbers)."""
    if column.dtype.kind in "fiu":
        encoded = pa.array(column).dictionary_encode()
        return encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False)
    return factorize(column)


def encode_csv(rows: np.ndarray) -> bytes:
    """Encode rows as CSV: one record per line, ``\\n`` between records, no header.

    Each distinct value of a column is formatted once (shortest round-trip floats, with
    its separator); the body is then assembled by copying those pre-formatted tokens in
    row-major order with one Arrow ``take`` (no per-cell Python work, no GIL held). With a
    single column, an empty or missing value is written ``""``: a blank line would be
    skipped by CSV readers (pandas, pyarrow), losing the record (e.g. an empty text).
    """
    n, m = rows.shape
    if n == 0 or m == 0:
        return b""
    codes = np.empty((n, m), dtype=np.int64)
    tokens: list[str] = []
    for j in range(m):
        uniques, column_codes = _column_codes(rows[:, j])
        codes[:, j] = column_codes
        codes[:, j] += len(tokens)
        sep = "," if j < m - 1 else "\n"
        formatted = [format_csv_token(v) for v in uniques]
        if m == 1:  # a lone empty field would be a blank line, which CSV readers skip: quote it
            formatted = [t or '""' for t in formatted]
        tokens.extend(t + sep for t in formatted)
    gathered = pa.array(tokens, type=pa.large_string()).take(pa.array(codes.reshape(-1)))
    offsets = np.frombuffer(gathered.buffers()[1], dtype=np.int64)
    first, last = int(offsets[gathered.offset]), int(offsets[gathered.offset + len(gathered)])
    return bytes(memoryview(gathered.buffers()[2])[first : last - 1])


def encode_npy(rows: np.ndarray) -> bytes:
    """Encode rows as ``numpy.save`` of a 2-D float64 array (local_endpoint fast path).

    The same bytes as ``np.save``, built with one copy of the data (``np.save`` into a
    ``BytesIO`` copies a large array four to five times).
    """
    arr = np.ascontiguousarray(rows, dtype=np.float64)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(arr))
    return b"".join([header.getvalue(), arr.reshape(-1).data.cast("B")])


def _dumps(value: Any, compact: bool = False) -> str:
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(value, allow_nan=False, separators=separators)


class TemplateEncoder:
    """JSON Lines / JSON encoder driven by ``content_template`` and ``record_template``.

    Args:
        content_type: ``application/jsonlines`` or ``application/json``.
        feature_names: Feature names (the ``headers`` minus label and excluded columns).
        content_template: For JSON Lines must contain ``$features``; for JSON must contain
            ``$records`` or ``$record`` (and may contain ``$feature_names``).
        record_template: JSON only: ``$features``, ``$feature_names``, ``$features_kvp`` and
            ``"${name}"`` placeholders.

    Raises:
        ValueError: a template misses its required placeholder or names an unknown feature.
    """

    def __init__(
        self,
        content_type: str,
        feature_names: Sequence[str],
        content_template: str | None,
        record_template: str | None = None,
    ) -> None:
        self.content_type = content_type
        self._compact = content_type == JSONLINES
        self.feature_names = [str(n) for n in feature_names]
        self._index = {n: i for i, n in enumerate(self.feature_names)}
        if content_type == JSONLINES:
            if not content_template:
                raise ValueError(
                    "predictor.content_template is required for content_type application/jsonlines"
                )
            if "$features" not in content_template:
                raise ValueError(
                    f"Invalid predictor.content_template {content_template!r}. "
                    "Please include a placeholder $features."
                )
            self._record_parts = self._split_record(content_template)
            self._content_parts = None
            self.single_record = False
        elif content_type == JSON:
            if not content_template or not record_template:
                raise ValueError(
                    "predictor.content_template and predictor.record_template are required "
                    "for content_type application/json"
                )
            if "$record" not in content_template:
                raise ValueError(
                    f"Invalid predictor.content_template {content_template!r}. "
                    "Please include either placeholder $records or $record."
                )
            self._record_parts = self._split_record(record_template)
            self._content_parts = self._split(content_template, _CONTENT_TEMPLATE_TOKENS)
            self.single_record = "$records" not in content_template
        else:
            raise ValueError(f"TemplateEncoder does not handle content_type {content_type!r}")

    @staticmethod
    def _split(template: str, pattern: re.Pattern) -> list[tuple[str, str | None]]:
        parts: list[tuple[str, str | None]] = []
        pos = 0
        for m in pattern.finditer(template):
            parts.append(("lit", template[pos : m.start()]))
            parts.append(("tok", m.group(0)))
            pos = m.end()
        parts.append(("lit", template[pos:]))
        return parts

    def _split_record(self, template: str) -> list[tuple[str, Any]]:
        """Split a record template into literals and placeholders (feature refs resolved)."""
        parts: list[tuple[str, Any]] = []
        pos = 0
        for m in _RECORD_TEMPLATE_TOKENS.finditer(template):
            parts.append(("lit", template[pos : m.start()]))
            if m.group(1) is not None:
                name = m.group(1)
                if name not in self._index:
                    raise ValueError(
                        f"predictor.record_template refers to feature {name!r}, which is not "
                        f"one of the feature names {self.feature_names}"
                    )
                parts.append(("feature", self._index[name]))
            else:
                parts.append(("tok", m.group(0)))
            pos = m.end()
        parts.append(("lit", template[pos:]))
        return parts

    def render_record(self, values: list[Any]) -> str:
        """Render one record (a list of feature values) with the record template."""
        out = []
        for kind, arg in self._record_parts:
            if kind == "lit":
                out.append(arg)
            elif kind == "feature":
                out.append(_dumps(values[arg], self._compact))
            elif arg == "$features":
                out.append(_dumps(values, self._compact))
            elif arg == "$feature_names":
                out.append(_dumps(self.feature_names, self._compact))
            else:  # $features_kvp
                kvp = dict(zip(self.feature_names, values, strict=True))
                out.append(_dumps(kvp, self._compact))
        return "".join(out)

    def encode(self, rows: np.ndarray) -> bytes:
        """Encode rows into one request body."""
        records = [[json_value(v) for v in row] for row in rows.tolist()]
        rendered = [self.render_record(r) for r in records]
        if self._content_parts is None:
            return "\n".join(rendered).encode("utf-8")
        if self.single_record and len(rendered) != 1:
            raise ValueError("a $record content_template sends exactly one record per request")
        out: list[str] = []
        for kind, arg in self._content_parts:
            if kind == "lit":
                out.append(arg or "")
            elif arg == "$records":
                out.append("[" + ", ".join(rendered) + "]")
            elif arg == "$record":
                out.append(rendered[0])
            elif arg == "$feature_names":
                out.append(_dumps(self.feature_names))
            else:  # $features in a content template: the first record's features
                out.append(_dumps(records[0]))
        return "".join(out).encode("utf-8")
