"""The dataset header: the column names the loader will give a dataset, read without loading it.

:func:`read_header` reads only what names the columns: the first rows of the first non-empty
CSV part, the Parquet schema, the first JSON Lines record or the first JSON document, and the
same for the side datasets (``predicted_label_dataset_uri``, ``facet_dataset_uri``). The
analysis plan (:mod:`analyzer.plan`) resolves every configured column against it, so a
missing label or a typo in ``features_to_explain`` is found before the data is loaded and
before any endpoint starts. The names follow exactly the rules of the loader
(:mod:`analyzer.datasets.csv_format`, :mod:`~analyzer.datasets.json_format`,
:mod:`~analyzer.datasets.parquet_format`).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer import storage
from analyzer.errors import DatasetError, NotSupportedError

from .columns import duplicates
from .csv_format import HEADERS_MISMATCH, csv_column_names
from .json_format import first_record_width, json_column_names

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import AnalysisConfig

CSV = "text/csv"
JSONLINES = "application/jsonlines"
JSON = "application/json"
PARQUET = "application/x-parquet"
TABULAR_TYPES = (CSV, JSONLINES, JSON, PARQUET)
GZIP_MAGIC = b"\x1f\x8b"

__all__ = ["TABULAR_TYPES", "DatasetHeader", "config_hint_names", "iter_parts", "read_header", "tabular_type"]


@dataclass(frozen=True)
class DatasetHeader:
    """Column names of the main dataset and of the side datasets, as the loader will name them.

    ``label_column`` / ``predicted_label_column`` are set for JSON formats only, where the
    ``label`` and ``predicted_label`` JMESPath values become named columns.
    """

    columns: tuple[str, ...]
    label_column: str | None = None
    predicted_label_column: str | None = None
    predicted_label_dataset: tuple[str, ...] | None = None
    facet_dataset: tuple[str, ...] | None = None


def tabular_type(cfg: AnalysisConfig) -> str:
    """The ``dataset_type``; raises :class:`NotSupportedError` for types that are not tabular."""
    if cfg.time_series_data_config is not None:
        raise NotSupportedError(
            "Time series datasets (time_series_data_config) are not loaded by analyzer.dataset"
        )
    kind = cfg.dataset_type.lower()
    if kind not in TABULAR_TYPES:
        raise NotSupportedError(
            f"dataset_type {cfg.dataset_type!r} cannot be loaded as a tabular dataset; supported: "
            f"{list(TABULAR_TYPES)}"
        )
    return kind


def iter_parts(uri: str) -> Iterator[tuple[str, bytes]]:
    """``(source, bytes)`` of every data file at ``uri`` (file, folder or S3 prefix), read lazily.

    Gzip-compressed files (``S3CompressionType: Gzip`` in the SDK's DataConfig) are recognised by
    their magic bytes and decompressed.
    """
    for source in storage.list_files(uri):
        data = storage.read_bytes(source)
        if data[:2] == GZIP_MAGIC:
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise DatasetError(f"Unable to decompress gzip file '{source}': {exc}") from None
        yield source, data


#: How much of a local CSV file the header read takes (whole rows only).
HEAD_BYTES = 1 << 20


def _local_head(source: str, limit: int) -> bytes | None:
    """The first whole rows (up to ``limit`` bytes, gunzipped) of a local file; ``None`` when
    the file is small or has no line end in that span (then it is read whole)."""
    path = Path(source)
    if not path.is_file():
        return None  # read_bytes says what is wrong
    with path.open("rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if magic == GZIP_MAGIC else raw
        try:
            data = stream.read(limit + 1)
        except (OSError, EOFError):
            return None  # iter_parts reports the broken gzip file
    if len(data) <= limit:
        return None
    end = data.rfind(b"\n")
    return data[: end + 1] if end > 0 else None


def iter_heads(uri: str, limit: int = HEAD_BYTES) -> Iterator[tuple[str, bytes]]:
    """Like :func:`iter_parts`, but only the first whole rows of a large local file: what the
    header read of the plan needs, without reading (or holding) a dataset of gigabytes."""
    for source in storage.list_files(uri):
        head = None if storage.is_s3(source) else _local_head(source, limit)
        if head is not None:
            yield source, head
            continue
        data = storage.read_bytes(source)
        if data[:2] == GZIP_MAGIC:
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise DatasetError(f"Unable to decompress gzip file '{source}': {exc}") from None
        yield source, data


def _names(values: Sequence[object] | None) -> list[str]:
    return [v for v in values or [] if isinstance(v, str)]


def config_hint_names(cfg: AnalysisConfig, which: str = "main") -> list[str]:
    """Column names the config refers to, which help recognise a CSV header row.

    ``which``: ``main``, ``predicted_label_dataset_uri`` or ``facet_dataset_uri``.
    """
    facets = [f.name_or_index for f in cfg.facet or []]
    join = cfg.joinsource_name_or_index
    if which == "predicted_label_dataset_uri":
        return _names([cfg.predicted_label, join])
    if which == "facet_dataset_uri":
        return _names([*facets, cfg.group_variable, join])
    return _names(
        [
            cfg.label,
            None if cfg.predicted_label_dataset_uri else cfg.predicted_label,
            *([] if cfg.facet_dataset_uri else facets),
            cfg.group_variable,
            join,
            *(cfg.excluded_columns or []),
        ]
    )


def _checked_headers(headers: Sequence[str] | None, key: str) -> list[str] | None:
    if headers is None:
        return None
    names = [str(h) for h in headers]
    dup = duplicates(names)
    if dup:
        raise DatasetError(f"{key} contains duplicate names {dup}: {names}")
    return names


def _parquet_columns(uri: str, headers: list[str] | None) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for source, data in iter_parts(uri):
        try:
            schema = pq.read_schema(pa.BufferReader(data))
        except (pa.ArrowException, OSError) as exc:
            raise DatasetError(f"Unable to read Parquet file '{source}': {exc}") from None
        # columns that pandas restores as the index are dropped by the loader (reset_index)
        index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
        names = [str(n) for n in schema.names if n not in index]
        if headers is None:
            return names
        if len(headers) != len(names):
            raise DatasetError(
                f"{HEADERS_MISMATCH} headers has {len(headers)} names {headers} but '{source}' has "
                f"{len(names)} columns {names}"
            )
        return headers
    raise DatasetError(f"Dataset is empty: no records in '{uri}'")


def _side_columns(cfg: AnalysisConfig, uri_key: str, headers_key: str) -> tuple[str, ...] | None:
    uri = getattr(cfg, uri_key)
    if not uri:
        return None
    headers = _checked_headers(getattr(cfg, headers_key), headers_key)
    try:
        return tuple(csv_column_names(iter_parts(uri), headers, config_hint_names(cfg, uri_key)))
    except DatasetError as exc:
        raise DatasetError(f"{uri_key} '{uri}': {exc}") from None


def read_header(cfg: AnalysisConfig, uri: str) -> DatasetHeader:
    """The column names of the dataset at ``uri`` (and of the side datasets) described by ``cfg``.

    Raises:
        DatasetError: a file cannot be found or read, or ``headers`` does not fit the data.
        NotSupportedError: the dataset type is not tabular.
    """
    if cfg.time_series_data_config is not None:  # names from the config; the plan reads no row
        from .ts_locate import header_names

        return DatasetHeader(columns=header_names(cfg.time_series_data_config, cfg.headers))
    if cfg.dataset_type.lower() == "application/x-image":
        return DatasetHeader(columns=())  # images have no columns; they are listed when loaded
    kind = tabular_type(cfg)
    headers = _checked_headers(cfg.headers, "headers")
    label_col = pred_col = None
    if kind == CSV:
        columns = csv_column_names(iter_heads(uri), headers, config_hint_names(cfg))
    elif kind == PARQUET:
        columns = _parquet_columns(uri, headers)
    else:
        width = first_record_width(list(_first_part(uri)), kind, cfg.features)
        has_predicted = cfg.predicted_label is not None and not cfg.predicted_label_dataset_uri
        columns, label_col, pred_col = json_column_names(
            width, headers, cfg.label is not None, has_predicted
        )
        dup = duplicates(columns)
        if dup:
            raise DatasetError(f"Column names {dup} are used twice: {columns}")
    return DatasetHeader(
        columns=tuple(columns),
        label_column=label_col,
        predicted_label_column=pred_col,
        predicted_label_dataset=_side_columns(cfg, "predicted_label_dataset_uri", "predicted_label_headers"),
        facet_dataset=_side_columns(cfg, "facet_dataset_uri", "facet_headers"),
    )


def _first_part(uri: str) -> Iterator[tuple[str, bytes]]:
    """The parts of ``uri`` up to and including the first one that holds something."""
    for source, data in iter_parts(uri):
        yield source, data
        if data.strip():
            return
