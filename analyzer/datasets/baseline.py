"""``methods.shap.baseline``: inline rows or a file/S3 URI in the dataset's format.

Accepted forms:

* CSV / Parquet: a list of rows ``[[0, 0, 0], [1, 1, 1]]`` (no header), or a file/URI;
* JSON Lines: ``[{"features": [...]}, ...]`` (the ``features`` JMESPath is applied to each item)
  or plain rows, or a file/URI;
* JSON: the same structure as the dataset (``features`` JMESPath over the whole baseline), or
  plain rows, or a file/URI.

Each row holds the features sent to the model (``feature_names``), in order. A row may also
hold every column of ``headers`` (or the features before exclusions, or every column except
the label/predicted label); the feature columns are then picked by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import pandas as pd

from analyzer.errors import DatasetError

from .columns import locate
from .csv_format import HEADERS_MISMATCH, read_csv_parts
from .header import CSV, JSON, JSONLINES, TABULAR_TYPES
from .json_format import compile_expr, read_json, read_jsonlines
from .loader import read_parts
from .parquet_format import read_parquet_parts

#: A baseline as written in the config: a URI, rows, or (JSON) a document.
BaselineValue = str | list[Any] | dict[str, Any]


class DataFormat(Protocol):
    """What the baseline reader needs to know about the dataset (an ``AnalysisConfig`` or a
    :class:`~analyzer.plan.model.DatasetPlan`)."""

    @property
    def dataset_type(self) -> str: ...

    @property
    def features(self) -> str | None: ...

    @property
    def headers(self) -> Sequence[str] | None: ...

    @property
    def label(self) -> str | int | None: ...

    @property
    def predicted_label(self) -> str | int | None: ...


def load_baseline(
    baseline: BaselineValue | None, cfg: DataFormat, feature_names: Sequence[str]
) -> pd.DataFrame | None:
    """The SHAP baseline as a frame with columns ``feature_names``; ``None`` when ``baseline`` is ``None``."""
    if baseline is None:
        return None
    feature_names = list(feature_names)
    kind = cfg.dataset_type.lower()
    if kind not in TABULAR_TYPES:
        raise DatasetError(f"methods.shap.baseline cannot be read for dataset_type {cfg.dataset_type!r}")
    if isinstance(baseline, str):
        return _from_uri(baseline, cfg, kind, feature_names)
    rows = _inline_rows(baseline, cfg, kind)
    return rows_to_frame(rows, cfg, feature_names)


def _from_uri(uri: str, cfg: DataFormat, kind: str, feature_names: list[str]) -> pd.DataFrame:
    parts = read_parts(uri)
    if kind in (CSV, "application/x-parquet"):
        if kind == CSV:
            frame = read_csv_parts(parts, None, feature_names)
        else:
            frame = read_parquet_parts(parts, None)
        if set(feature_names) <= set(frame.columns):
            return frame[feature_names].reset_index(drop=True)
        rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
        return rows_to_frame(rows, cfg, feature_names, source=uri)
    reader = read_jsonlines if kind == JSONLINES else read_json
    table = reader(parts, cfg.features, None, None)
    return rows_to_frame(table.features, cfg, feature_names, source=uri)


def _inline_rows(baseline: list[Any] | dict[str, Any], cfg: DataFormat, kind: str) -> list[list[Any]]:
    features = cfg.features
    if kind == JSON and features is not None and not _is_rows(baseline):
        rows = compile_expr(features, "features").search(baseline)
        if not _is_rows(rows):
            raise DatasetError(
                f"baseline: features JMESPath {features!r} did not give a list of rows from the baseline"
            )
        return rows
    if not isinstance(baseline, list) or not baseline:
        raise DatasetError(f"baseline must be a non-empty list of rows or an S3 URI, got {baseline!r}"[:200])
    if kind == JSONLINES and all(isinstance(item, dict) for item in baseline):
        expr = compile_expr(features, "features")
        rows = []
        for i, item in enumerate(baseline):
            row = expr.search(item)
            if not isinstance(row, list):
                raise DatasetError(
                    f"Data must contain features. baseline item {i}: features JMESPath {features!r} "
                    f"gave {row!r} instead of a list"
                )
            rows.append(row)
        return rows
    if all(not isinstance(item, list | dict) for item in baseline):
        return [baseline]  # a single row written flat
    if not _is_rows(baseline):
        raise DatasetError("baseline must be a list of rows (lists of feature values)")
    return baseline


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(r, list) for r in value)


def rows_to_frame(
    rows: Sequence[Sequence[Any]], cfg: DataFormat, feature_names: list[str], source: str = "inline baseline"
) -> pd.DataFrame:
    """Name the baseline rows' columns (see the module docstring) and keep the features."""
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        first = len(rows[0])
        bad = next(i for i, r in enumerate(rows) if len(r) != first)
        raise DatasetError(
            f"{HEADERS_MISMATCH} {source} row {bad} has {len(rows[bad])} values but row 0 has {first}"
        )
    width = widths.pop()
    for names in _candidate_names(cfg, feature_names, width):
        if len(names) == width and set(feature_names) <= set(names):
            frame = pd.DataFrame([list(r) for r in rows], columns=names)
            return frame[feature_names].infer_objects()
    raise DatasetError(
        f"{HEADERS_MISMATCH} {source} rows have {width} values but there are {len(feature_names)} "
        f"features {feature_names}"
    )


def _candidate_names(cfg: DataFormat, feature_names: list[str], width: int) -> list[list[str]]:
    candidates = [feature_names]
    if cfg.headers:
        headers = [str(h) for h in cfg.headers]
        candidates.append(headers)
        candidates.append(headers[:width])
        roles = {locate(value, headers) for value in (cfg.label, cfg.predicted_label) if value is not None}
        candidates.append([h for h in headers if h not in roles])
    return candidates
