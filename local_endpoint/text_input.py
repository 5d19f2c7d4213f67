"""Models that read raw text: which input columns are text, and decoding that keeps them text.

A scikit-learn model reads raw text when it is (or starts with) a text vectorizer
(``CountVectorizer``, ``TfidfVectorizer``, ``HashingVectorizer``), or when its first step is
a ``ColumnTransformer`` that sends a column, chosen by integer position, to one (directly or
as the first step of a nested pipeline), e.g.::

    make_pipeline(ColumnTransformer([("text", TfidfVectorizer(), 0), ("num", StandardScaler(), [1])]),
                  LogisticRegression())

For such a model the text columns of a request are decoded as ``str`` exactly as sent, even
when a batch of them looks numeric (``"10"``) or is empty, and CSV fields may hold line
breaks inside quotes (paragraphs). A model that is a bare vectorizer pipeline gets a 1-D
array of texts (the first and only column). Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from local_endpoint.decode import CSV, decode, media_type
from local_endpoint.errors import BadRequest


@dataclass(frozen=True)
class TextInput:
    """The model's raw-text input columns; ``one_dimensional``: it takes a 1-D array of texts."""

    columns: tuple[int, ...]
    one_dimensional: bool = False


def _is_vectorizer(step: Any) -> bool:
    from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

    return isinstance(step, CountVectorizer | HashingVectorizer)  # TfidfVectorizer is a CountVectorizer


def _first_step(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    while steps:
        estimator = steps[0][1]
        steps = getattr(estimator, "steps", None)
    return estimator


def find_text_input(estimator: Any) -> TextInput | None:
    """The raw-text columns of a scikit-learn model, or None when it reads no raw text."""
    first = _first_step(estimator)
    if _is_vectorizer(first):
        return TextInput((0,), one_dimensional=True)
    transformers = getattr(first, "transformers_", None) or getattr(first, "transformers", None)
    if not transformers:
        return None
    columns = []
    for _name, transformer, cols in transformers:
        if _is_vectorizer(_first_step(transformer)) and isinstance(cols, int | np.integer):
            columns.append(int(cols))
    return TextInput(tuple(sorted(columns))) if columns else None


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t) or pa.types.is_decimal(t)


def _decode_csv(body: bytes | bytearray, columns: tuple[int, ...]) -> np.ndarray:
    if not body.endswith(b"\n"):
        body = bytes(body) + b"\n"
    first = pacsv.read_csv(
        pa.BufferReader(body),
        read_options=pacsv.ReadOptions(
            autogenerate_column_names=True, block_size=max(len(body) + 1, 1 << 20)
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types={f"f{j}": pa.string() for j in columns}),
    )
    strings = {
        name: pa.string()
        for j, (name, col) in enumerate(zip(first.column_names, first.columns, strict=True))
        if j in columns or not _is_numeric(col.type)
    }
    if len(strings) > len(columns):  # other non-numeric columns (dates, booleans): keep their text
        first = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=strings),
        )
    out = np.empty((first.num_rows, first.num_columns), dtype=object)
    for j, col in enumerate(first.columns):
        if pa.types.is_string(col.type):
            out[:, j] = [v if v is not None else "" for v in col.to_pylist()]
        else:
            out[:, j] = col.cast(pa.float64()).to_numpy(zero_copy_only=False).tolist()
    return out


def decode_text_records(body: bytes | bytearray, content_type: str | None, text: TextInput) -> np.ndarray:
    """Decode a request for a raw-text model: an object array whose text columns hold ``str``.

    Raises:
        BadRequest: the body cannot be parsed or has too few columns.
    """
    if (media_type(content_type) or CSV) == CSV and body and not body.isspace():
        try:
            X = _decode_csv(body, text.columns)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise BadRequest(f"cannot parse the text/csv body: {exc}") from None
    else:
        X = decode(body, content_type).astype(object)
    if X.shape[1] <= max(text.columns):
        raise BadRequest(
            f"each record has {X.shape[1]} features, but the model reads text column {max(text.columns)}"
        )
    for j in text.columns:
        X[:, j] = [_text(v) for v in X[:, j]]
    return X


def model_input(X: np.ndarray, text: TextInput | None) -> np.ndarray:
    """What the model is called with: a 1-D array of texts for a bare vectorizer pipeline."""
    if text is not None and text.one_dimensional:
        return X[:, 0]
    return X
