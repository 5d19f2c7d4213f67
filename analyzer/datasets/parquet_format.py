"""``application/x-parquet`` reading.

Column names come from the Parquet schema. When ``headers`` is given it must have one name per
column; the columns are then renamed to ``headers`` (in order), so the config names win, as for
CSV.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analyzer.errors import DatasetError

from .csv_format import HEADERS_MISMATCH


def read_parquet_parts(parts: Sequence[tuple[str, bytes]], headers: Sequence[str] | None) -> pd.DataFrame:
    """Read and concatenate Parquet parts ``(source, bytes)``."""
    frames: list[pd.DataFrame] = []
    for source, data in parts:
        try:
            frame = pq.read_table(pa.BufferReader(data)).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise DatasetError(f"Unable to read Parquet file '{source}': {exc}") from None
        frame = frame.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        if headers is not None:
            if len(headers) != frame.shape[1]:
                raise DatasetError(
                    f"{HEADERS_MISMATCH} headers has {len(headers)} names {list(headers)} but "
                    f"'{source}' has {frame.shape[1]} columns {list(frame.columns)}"
                )
            frame.columns = list(headers)
        elif frames and list(frame.columns) != list(frames[0].columns):
            raise DatasetError(
                f"Parquet parts have different columns: '{source}' has {list(frame.columns)}, "
                f"the first part has {list(frames[0].columns)}"
            )
        frames.append(frame)
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)
