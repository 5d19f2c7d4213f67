"""Load the dataset described by a :class:`~analyzer.plan.model.DatasetPlan`.

The plan (:mod:`analyzer.plan.dataset`) has already resolved every column role against the
dataset header; this module reads every data file, joins the side datasets as planned and
returns the :class:`Dataset`. Problems that only the rows can show (duplicate join keys, row
counts that differ, a join that matches nothing, an empty dataset) raise :class:`DatasetError`.
:func:`load_dataset` / :func:`dataset_problems` do header, plan and load in one call.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pandas.api.types import is_numeric_dtype

from analyzer.errors import DatasetError, UserError
from analyzer.plan.model import DatasetPlan, SideDatasetPlan

from .columns import duplicates
from .csv_format import read_csv_parts
from .header import CSV, JSON, JSONLINES, PARQUET, TABULAR_TYPES, iter_parts, read_header, tabular_type
from .json_format import read_json, read_jsonlines, to_frame
from .model import Dataset

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import AnalysisConfig

log = logging.getLogger(__name__)

__all__ = [
    "CSV",
    "JSON",
    "JSONLINES",
    "PARQUET",
    "TABULAR_TYPES",
    "dataset_plan",
    "dataset_problems",
    "load_dataset",
    "load_planned",
    "read_parts",
    "stream_planned",
]


def read_parts(uri: str | Path) -> list[tuple[str, bytes]]:
    """``(source, bytes)`` for every data file at ``uri`` (file, folder or S3 prefix), gunzipped."""
    return list(iter_parts(str(uri)))


def _read_main(plan: DatasetPlan) -> pd.DataFrame:
    parts = read_parts(plan.uri)
    kind = plan.dataset_type
    headers = list(plan.headers) if plan.headers is not None else None
    if kind == CSV:
        return read_csv_parts(parts, headers, plan.hint_names)
    if kind == PARQUET:
        from .parquet_format import read_parquet_parts  # pyarrow.parquet only for Parquet data

        return read_parquet_parts(parts, headers)
    reader = read_jsonlines if kind == JSONLINES else read_json
    table = reader(parts, plan.features, plan.label_expression, plan.predicted_label_expression)
    frame, _, _ = to_frame(table, headers)
    dup = duplicates(list(frame.columns))
    if dup:
        raise DatasetError(f"Column names {dup} are used twice: {list(frame.columns)}")
    return frame


def _read_side(side: SideDatasetPlan) -> pd.DataFrame:
    headers = list(side.headers) if side.headers is not None else None
    try:
        return read_csv_parts(read_parts(side.uri), headers, side.hint_names)
    except DatasetError as exc:
        raise DatasetError(f"{side.key} '{side.uri}': {exc}") from None


def _attach(main: pd.DataFrame, side_frame: pd.DataFrame, side: SideDatasetPlan) -> pd.DataFrame:
    """Join the planned columns of a side dataset to ``main`` (inner join, or row by row)."""
    columns = list(side.columns)
    renames = dict(side.renames)
    if side.join is not None:
        main_key, side_key = side.join
        if side_frame[side_key].duplicated().any():
            dup = side_frame.loc[side_frame[side_key].duplicated(), side_key].head(5).tolist()
            raise DatasetError(f"The join column {side_key!r} of {side.key} has duplicate values, e.g. {dup}")
        right = side_frame[[side_key, *columns]].rename(columns=renames)
        right = right.rename(columns={side_key: "__join_key__"})
        left_key = main[main_key]
        if left_key.dtype != right["__join_key__"].dtype:
            both_numeric = is_numeric_dtype(left_key.dtype) and is_numeric_dtype(right["__join_key__"].dtype)
            key_type = "float64" if both_numeric else str
            left_key = left_key.astype(key_type)
            right["__join_key__"] = right["__join_key__"].astype(key_type)
        merged = main.assign(__join_key__=left_key.to_numpy()).merge(right, on="__join_key__", how="inner")
        merged = merged.drop(columns="__join_key__").reset_index(drop=True)
        if len(merged) < len(main):
            log.warning(
                "Inner join with %s on %r kept %d of %d rows.", side.key, main_key, len(merged), len(main)
            )
        if merged.empty:
            raise DatasetError(f"The inner join with {side.key} on {main_key!r} matched no rows.")
        return merged
    if len(side_frame) != len(main):
        raise DatasetError(
            f"{side.key} has {len(side_frame)} rows but the dataset has {len(main)} rows; set "
            f"joinsource_name_or_index to a column present in both to join them"
        )
    right = side_frame[columns].rename(columns=renames).reset_index(drop=True)
    return pd.concat([main.reset_index(drop=True), right], axis=1)


def load_planned(plan: DatasetPlan) -> Dataset:
    """Read the dataset (and side datasets) of ``plan`` and return it with its roles.

    Raises :class:`DatasetError` naming the file, record or join that could not be used.
    """
    if plan.time_series is not None:  # time_series_data_config: items, not a table
        from .time_series import load_planned_series

        return load_planned_series(plan)
    log.info("Dataset type: %s uri: %s", plan.dataset_type, plan.uri)
    if plan.dataset_type == "application/x-image":
        from .images import image_dataset

        return image_dataset(plan.uri)
    log.info("Loading dataset...")
    frame = _read_main(plan)
    if frame.empty:
        raise DatasetError(f"Dataset is empty: no records in '{plan.uri}'")
    frame.columns = [str(c) for c in frame.columns]
    if tuple(frame.columns) != plan.columns:
        raise DatasetError(
            f"The dataset's columns {list(frame.columns)} differ from those of its first file "
            f"{list(plan.columns)}"
        )
    for side in (plan.predicted_label_dataset, plan.facet_dataset):
        if side is not None:
            frame = _attach(frame, _read_side(side), side)
    dataset = Dataset(
        frame=frame,
        feature_names=list(plan.feature_columns),
        label=plan.label,
        predicted_label=plan.predicted_label,
        facet_columns=dict(plan.facet_columns),
        group_variable=plan.group_variable,
        join_column=plan.join_column,
        uri=plan.uri,
    )
    buf = io.StringIO()
    dataset.frame[dataset.feature_names].info(buf=buf)
    log.info("Loaded dataset. Dataset info:\n%s", buf.getvalue().rstrip("\n"))
    return dataset


def stream_planned(plan: DatasetPlan) -> Dataset:
    """The dataset of ``plan`` without loading its rows: jobs read them in chunks
    (:meth:`Dataset.chunks`). For a CSV dataset without side datasets
    (:attr:`analyzer.plan.model.AnalysisPlan.streams_dataset`)."""
    from .chunks import CsvSource

    if plan.dataset_type != CSV or plan.predicted_label_dataset or plan.facet_dataset:
        raise ValueError("only a CSV dataset without side datasets is read in chunks")
    log.info("Dataset type: %s uri: %s", plan.dataset_type, plan.uri)
    log.info("Reading the dataset in chunks (bias metrics only)")
    return Dataset(
        frame=pd.DataFrame(columns=list(plan.columns)),
        feature_names=list(plan.feature_columns),
        label=plan.label,
        predicted_label=plan.predicted_label,
        facet_columns=dict(plan.facet_columns),
        group_variable=plan.group_variable,
        join_column=plan.join_column,
        uri=plan.uri,
        source=CsvSource(plan),
    )


def _data_uri(cfg: AnalysisConfig, data_uri: str | Path | None) -> str:
    if data_uri is None:
        data_uri = cfg.dataset_uri
    if not data_uri:
        raise DatasetError("No dataset: dataset_uri is not set in the config and no dataset input was given")
    return str(data_uri)


def _plan_or_problems(cfg: AnalysisConfig, uri: str) -> tuple[DatasetPlan | None, list[str]]:
    from analyzer.plan.dataset import plan_dataset

    return plan_dataset(cfg, read_header(cfg, uri), uri)


def dataset_plan(cfg: AnalysisConfig, data_uri: str | Path | None = None) -> DatasetPlan:
    """Read the header of the dataset at ``data_uri`` (default ``cfg.dataset_uri``) and plan its roles.

    Raises :class:`DatasetError` listing every column problem, one per line.
    """
    tabular_type(cfg)
    plan, problems = _plan_or_problems(cfg, _data_uri(cfg, data_uri))
    if plan is None or problems:
        raise DatasetError("\n".join(problems))
    return plan


def load_dataset(cfg: AnalysisConfig, data_uri: str | Path | None = None) -> Dataset:
    """Load the dataset at ``data_uri`` (file, folder or ``s3://`` URI/prefix) as ``cfg`` describes.

    ``data_uri`` defaults to ``cfg.dataset_uri``. Raises :class:`DatasetError` listing every
    problem with the columns (one per line, each starting with the Clarify message), or naming
    the file/record that could not be read.
    """
    return load_planned(dataset_plan(cfg, data_uri))


def dataset_problems(cfg: AnalysisConfig, data_uri: str | Path | None = None) -> list[str]:
    """Every problem :func:`load_dataset` would report, as messages, without raising."""
    try:
        plan, problems = _plan_or_problems(cfg, _data_uri(cfg, data_uri))
        if plan is None or problems:
            return problems
        load_planned(plan)
    except UserError as exc:
        return [str(exc)]
    return []
