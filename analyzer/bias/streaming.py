"""Bias metrics over a CSV file too large for memory, read in ``pyarrow.csv.open_csv`` chunks.

A thin adapter: the chunks go through :func:`analyzer.bias.section.bias_section_chunks`, the
same code that computes an in-memory frame (one chunk). Only the needed columns of one chunk
are in memory at a time, plus the distinct values of categorical/integer columns. FT needs
every row's features, so here it is reported as an error entry. The job reads its datasets in
chunks with :mod:`analyzer.datasets.chunks` (pandas typing of ``read_csv``); this reader
types each column from pyarrow's first block.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from pandas._libs.parsers import STR_NA_VALUES

from analyzer.bias.section import FacetSpec, bias_section_chunks
from analyzer.errors import DatasetError


def _chunks(path: Path, columns: list[str], block_size: int) -> Iterator[pd.DataFrame]:
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=block_size),
        # the same missing-value markers as pandas.read_csv, empty strings included
        convert_options=pacsv.ConvertOptions(
            include_columns=columns, null_values=sorted(STR_NA_VALUES), strings_can_be_null=True
        ),
    )
    try:
        for batch in reader:
            yield pa.Table.from_batches([batch]).to_pandas()
    except pa.ArrowInvalid as exc:
        raise DatasetError(f"Cannot read {path}: {exc}") from exc


def stream_bias_section(
    csv_path: str | Path,
    *,
    stage: Literal["pre_training", "post_training"],
    label: str,
    label_values_or_threshold: list,
    facets: list[FacetSpec],
    methods: str | list[str] = "all",
    predicted_label: str | None = None,
    group_variable: str | None = None,
    probability_threshold: float | None = None,
    block_size: int = 4 << 20,
) -> dict:
    """Same result as :func:`analyzer.bias.bias_section` on the whole CSV (except FT), in
    bounded memory. See the module docstring for how."""
    path = Path(csv_path)
    header = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16)).schema.names
    wanted = [s.column for s in facets] + [label, predicted_label, group_variable]
    columns = [c for c in dict.fromkeys(c for c in wanted if c is not None) if c in header]
    return bias_section_chunks(
        lambda: _chunks(path, columns, block_size),
        header,
        stage=stage,
        label=label,
        label_values_or_threshold=label_values_or_threshold,
        facets=facets,
        methods=methods,
        predicted_label=predicted_label,
        group_variable=group_variable,
        probability_threshold=probability_threshold,
    )
