"""Load the dataset described by an analysis config and resolve its column roles.

Column roles (``label``, ``predicted_label``, ``facet``, ``group_variable``,
``excluded_columns``, ``joinsource_name_or_index``) are names or 0-based indices into the
main dataset's columns, except that ``predicted_label`` indexes the predicted-label dataset
and ``facet`` the facet dataset when those are given. ``group_variable`` is looked up in the
main dataset, then in the facet dataset.

Side datasets (``predicted_label_dataset_uri``, ``facet_dataset_uri``; always CSV) are joined
to the main one by an inner join on ``joinsource_name_or_index`` when both hold that column,
and row by row otherwise (then the row counts must match). A side column whose name is
already used gets a ``_predicted``/``_facet`` suffix.
"""

from __future__ import annotations

import gzip
import io
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api.types import is_numeric_dtype

from analyzer import storage
from analyzer.errors import DatasetError, NotSupportedError, UserError

from .columns import (
    FEATURE_NAMES_NOT_FOUND,
    HEADERS_MUST_CONTAIN_LABEL,
    UNABLE_TO_LOCATE_FACET,
    duplicates,
    locate,
    unique_name,
    why_missing,
)
from .csv_format import read_csv_parts
from .json_format import DATA_MUST_CONTAIN_FEATURES, read_json, read_jsonlines, to_frame
from .model import Dataset
from .parquet_format import read_parquet_parts

log = logging.getLogger(__name__)

CSV = "text/csv"
JSONLINES = "application/jsonlines"
JSON = "application/json"
PARQUET = "application/x-parquet"
TABULAR_TYPES = (CSV, JSONLINES, JSON, PARQUET)
_GZIP_MAGIC = b"\x1f\x8b"


def get(obj: Any, key: str) -> Any:
    """``obj.key`` for config objects, ``obj[key]`` for dicts; ``None`` when absent."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def dataset_type(cfg: Any) -> str:
    """The lower-cased ``dataset_type``; raises for types that are not tabular."""
    value = get(cfg, "dataset_type")
    if get(cfg, "time_series_data_config") is not None:
        raise NotSupportedError(
            "Time series datasets (time_series_data_config) are not loaded by analyzer.dataset"
        )
    kind = str(getattr(value, "value", value) or "").lower()
    if kind not in TABULAR_TYPES:
        raise NotSupportedError(
            f"dataset_type {value!r} cannot be loaded as a tabular dataset; supported: {list(TABULAR_TYPES)}"
        )
    return kind


def read_parts(uri: str | Path) -> list[tuple[str, bytes]]:
    """``(source, bytes)`` for every data file at ``uri`` (file, folder or S3 prefix).

    Gzip-compressed files (``S3CompressionType: Gzip`` in the SDK's DataConfig) are recognised by
    their magic bytes and decompressed.
    """
    parts = []
    for source in storage.list_files(uri):
        data = storage.read_bytes(source)
        if data[:2] == _GZIP_MAGIC:
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise DatasetError(f"Unable to decompress gzip file '{source}': {exc}") from None
        parts.append((source, data))
    return parts


def _facet_keys(cfg: Any) -> list[Any]:
    return [get(f, "name_or_index") for f in (get(cfg, "facet") or [])]


def _hint_names(*values: Any) -> list[str]:
    out: list[str] = []
    for v in values:
        if isinstance(v, list | tuple):
            out.extend(x for x in v if isinstance(x, str))
        elif isinstance(v, str):
            out.append(v)
    return out


class _Builder:
    """Collects problems while resolving roles; :meth:`build` returns the Dataset."""

    def __init__(self, cfg: Any, uri: str) -> None:
        self.cfg = cfg
        self.uri = uri
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def read_main(self) -> tuple[pd.DataFrame, str | None, str | None]:
        cfg = self.cfg
        kind = dataset_type(cfg)
        headers = get(cfg, "headers")
        if headers is not None:
            headers = [str(h) for h in headers]
            dup = duplicates(headers)
            if dup:
                raise DatasetError(f"headers contains duplicate names {dup}: {headers}")
        parts = read_parts(self.uri)
        if kind == CSV:
            hints = _hint_names(
                get(cfg, "label"),
                None if get(cfg, "predicted_label_dataset_uri") else get(cfg, "predicted_label"),
                None if get(cfg, "facet_dataset_uri") else _facet_keys(cfg),
                get(cfg, "group_variable"),
                get(cfg, "joinsource_name_or_index"),
                get(cfg, "excluded_columns"),
            )
            return read_csv_parts(parts, headers, hints), None, None
        if kind == PARQUET:
            return read_parquet_parts(parts, headers), None, None
        reader = read_jsonlines if kind == JSONLINES else read_json
        pred_expr = None if get(cfg, "predicted_label_dataset_uri") else get(cfg, "predicted_label")
        table = reader(parts, get(cfg, "features"), get(cfg, "label"), pred_expr)
        frame, label_col, pred_col = to_frame(table, headers)
        dup = duplicates(list(frame.columns))
        if dup:
            raise DatasetError(f"Column names {dup} are used twice: {list(frame.columns)}")
        return frame, label_col, pred_col

    def read_side(self, uri_key: str, headers_key: str, hints: list[str]) -> pd.DataFrame | None:
        uri = get(self.cfg, uri_key)
        if not uri:
            return None
        headers = get(self.cfg, headers_key)
        if headers is not None:
            headers = [str(h) for h in headers]
            dup = duplicates(headers)
            if dup:
                raise DatasetError(f"{headers_key} contains duplicate names {dup}: {headers}")
        try:
            return read_csv_parts(read_parts(uri), headers, hints)
        except DatasetError as exc:
            raise DatasetError(f"{uri_key} '{uri}': {exc}") from None

    def attach(
        self, main: pd.DataFrame, side: pd.DataFrame, columns: list[str], uri_key: str, suffix: str
    ) -> tuple[pd.DataFrame, dict[str, str]]:
        """Join ``side[columns]`` to ``main``; returns the new frame and the side→frame name map."""
        join = get(self.cfg, "joinsource_name_or_index")
        main_key = locate(join, list(main.columns)) if join is not None else None
        side_key = locate(join, list(side.columns)) if join is not None else None
        columns = [c for c in columns if c != side_key]
        taken = list(main.columns)
        renames: dict[str, str] = {}
        for c in columns:
            renames[c] = unique_name(c, taken, suffix)
            taken.append(renames[c])
        if main_key is not None and side_key is not None:
            if side[side_key].duplicated().any():
                dup = side.loc[side[side_key].duplicated(), side_key].head(5).tolist()
                self.problem(f"The join column {side_key!r} of {uri_key} has duplicate values, e.g. {dup}")
                return main, renames
            right = side[[side_key, *columns]].rename(columns=renames)
            right = right.rename(columns={side_key: "__join_key__"})
            left_key = main[main_key]
            if left_key.dtype != right["__join_key__"].dtype:
                both_numeric = is_numeric_dtype(left_key.dtype) and is_numeric_dtype(
                    right["__join_key__"].dtype
                )
                key_type = "float64" if both_numeric else str
                left_key = left_key.astype(key_type)
                right["__join_key__"] = right["__join_key__"].astype(key_type)
            merged = main.assign(__join_key__=left_key.to_numpy()).merge(
                right, on="__join_key__", how="inner"
            )
            merged = merged.drop(columns="__join_key__").reset_index(drop=True)
            if len(merged) < len(main):
                log.warning(
                    "Inner join with %s on %r kept %d of %d rows.", uri_key, main_key, len(merged), len(main)
                )
            if merged.empty:
                self.problem(f"The inner join with {uri_key} on {main_key!r} matched no rows.")
            return merged, renames
        if len(side) != len(main):
            self.problem(
                f"{uri_key} has {len(side)} rows but the dataset has {len(main)} rows; set "
                f"joinsource_name_or_index to a column present in both to join them"
            )
            return main, renames
        right = side[columns].rename(columns=renames).reset_index(drop=True)
        return pd.concat([main.reset_index(drop=True), right], axis=1), renames

    def build(self) -> Dataset | None:
        """Read every dataset and resolve the roles; ``None`` when :attr:`problems` is not empty."""
        frame, label_col, pred_col = self.read_main()
        if frame.empty:
            raise DatasetError(f"Dataset is empty: no records in '{self.uri}'")
        frame.columns = [str(c) for c in frame.columns]
        main_cols = list(frame.columns)
        if dataset_type(self.cfg) not in (JSON, JSONLINES):
            label_col = self.find_label(main_cols)
            pred_col = None
        join_col = self.find_join(main_cols)
        frame, pred_col = self.add_predicted_label(frame, main_cols, pred_col)
        frame, facet_columns, group_col = self.add_facets(frame, main_cols, join_col)
        excluded = self.find_excluded(main_cols)
        drop = {c for c in (label_col, pred_col, join_col) if c is not None} | set(excluded)
        feature_names = [c for c in main_cols if c not in drop]
        if not feature_names:
            self.problem(
                f"{DATA_MUST_CONTAIN_FEATURES} No feature columns are left in {main_cols} after removing "
                f"the label, predicted label, joinsource column and excluded_columns"
            )
        if self.problems:
            return None
        return Dataset(
            frame=frame,
            feature_names=feature_names,
            label=label_col,
            predicted_label=pred_col,
            facet_columns=facet_columns,
            group_variable=group_col,
            join_column=join_col,
            uri=self.uri,
        )

    def find_label(self, main_cols: list[str]) -> str | None:
        label = get(self.cfg, "label")
        if label is None:
            return None
        col = locate(label, main_cols)
        if col is None:
            self.problem(f"{HEADERS_MUST_CONTAIN_LABEL} {why_missing('Label', label, main_cols)}")
        return col

    def find_join(self, main_cols: list[str]) -> str | None:
        join = get(self.cfg, "joinsource_name_or_index")
        if join is None:
            return None
        col = locate(join, main_cols)
        if col is None:
            self.problem(
                "Unable to locate the join column. "
                + why_missing("joinsource_name_or_index", join, main_cols)
            )
        return col

    def add_predicted_label(
        self, frame: pd.DataFrame, main_cols: list[str], pred_col: str | None
    ) -> tuple[pd.DataFrame, str | None]:
        """Find the predicted label in the data, or join it from ``predicted_label_dataset_uri``."""
        predicted = get(self.cfg, "predicted_label")
        join = get(self.cfg, "joinsource_name_or_index")
        pl_frame = self.read_side(
            "predicted_label_dataset_uri", "predicted_label_headers", _hint_names(predicted, join)
        )
        if pl_frame is None:
            if predicted is None or pred_col is not None:  # JSON formats resolve it while reading
                return frame, pred_col
            col = locate(predicted, main_cols)
            if col is None:
                self.problem(
                    "Headers must contain predicted label. "
                    + why_missing("Predicted label", predicted, main_cols)
                )
            return frame, col
        pl_cols = list(pl_frame.columns)
        if predicted is None:
            side_key = locate(join, pl_cols) if join is not None else None
            others = [c for c in pl_cols if c != side_key]
            predicted = others[0] if len(others) == 1 else "predicted_label"
        pred_side = locate(predicted, pl_cols)
        if pred_side is None:
            self.problem(
                "Headers must contain predicted label. "
                + why_missing("Predicted label", predicted, pl_cols, "the predicted_label_headers")
            )
            return frame, None
        frame, renames = self.attach(frame, pl_frame, [pred_side], "predicted_label_dataset_uri", "predicted")
        return frame, renames.get(pred_side)

    def add_facets(
        self, frame: pd.DataFrame, main_cols: list[str], join_col: str | None
    ) -> tuple[pd.DataFrame, dict[Any, str], str | None]:
        """Resolve ``facet`` and ``group_variable``, joining ``facet_dataset_uri`` if given."""
        facets = _facet_keys(self.cfg)
        group = get(self.cfg, "group_variable")
        join = get(self.cfg, "joinsource_name_or_index")
        facet_frame = self.read_side("facet_dataset_uri", "facet_headers", _hint_names(facets, group, join))
        side_names: dict[str, str] = {}
        side_cols: list[str] = []
        if facet_frame is not None:
            side_cols = list(facet_frame.columns)
            frame, side_names = self.attach(frame, facet_frame, side_cols, "facet_dataset_uri", "facet")

        def in_side(key: Any) -> str | None:
            found = locate(key, side_cols)
            if found is None:
                return None
            return side_names.get(found, join_col)  # not renamed: it is the join column itself

        facet_columns: dict[Any, str] = {}
        for key in facets:
            if facet_frame is not None:
                col, where, cols = in_side(key), "the facet_headers", side_cols
            else:
                col, where, cols = locate(key, main_cols), "the headers", main_cols
            if col is None:
                self.problem(f"{UNABLE_TO_LOCATE_FACET} {why_missing('Facet', key, cols, where)}")
            else:
                facet_columns[key] = col

        group_col = None
        if group is not None:
            group_col = locate(group, main_cols)
            if group_col is None and isinstance(group, str):
                group_col = in_side(group)
            if group_col is None:
                self.problem(
                    "Unable to locate the group variable. " + why_missing("group_variable", group, main_cols)
                )
        return frame, facet_columns, group_col

    def find_excluded(self, main_cols: list[str]) -> list[str]:
        excluded: list[str] = []
        for key in get(self.cfg, "excluded_columns") or []:
            col = locate(key, main_cols)
            if col is None:
                self.problem(
                    f"{FEATURE_NAMES_NOT_FOUND} {why_missing('excluded_columns entry', key, main_cols)}"
                )
            else:
                excluded.append(col)
        return excluded


def load_dataset(cfg: Any, data_uri: str | Path | None = None) -> Dataset:
    """Load the dataset at ``data_uri`` (file, folder or ``s3://`` URI/prefix) as ``cfg`` describes.

    ``data_uri`` defaults to ``cfg.dataset_uri``. Raises :class:`DatasetError` listing every
    problem with the columns (one per line, each starting with the Clarify message), or naming
    the file/record that could not be read.
    """
    uri = _data_uri(cfg, data_uri)
    log.info("Dataset type: %s uri: %s", get(cfg, "dataset_type"), uri)
    log.info("Loading dataset...")
    builder = _Builder(cfg, uri)
    dataset = builder.build()
    if dataset is None:
        raise DatasetError("\n".join(builder.problems))
    buf = io.StringIO()
    dataset.frame[dataset.feature_names].info(buf=buf)
    log.info("Loaded dataset. Dataset info:\n%s", buf.getvalue().rstrip("\n"))
    return dataset


def dataset_problems(cfg: Any, data_uri: str | Path | None = None) -> list[str]:
    """Every problem :func:`load_dataset` would report, as messages, without raising."""
    try:
        builder = _Builder(cfg, _data_uri(cfg, data_uri))
    except UserError as exc:
        return [str(exc)]
    try:
        builder.build()
    except UserError as exc:
        return [*builder.problems, str(exc)]
    return builder.problems


def _data_uri(cfg: Any, data_uri: str | Path | None) -> str:
    if data_uri is None:
        data_uri = get(cfg, "dataset_uri")
    if not data_uri:
        raise DatasetError("No dataset: dataset_uri is not set in the config and no dataset input was given")
    return str(data_uri)
