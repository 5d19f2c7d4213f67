"""The loaded :class:`Dataset`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_numeric_dtype

#: A re-readable dataset: each call returns a fresh iterable of frames (chunks of rows).
Chunks = Callable[[], Iterable[pd.DataFrame]]


class ChunkSource(Protocol):
    """Rows read chunk by chunk from the data files (:class:`analyzer.datasets.chunks.CsvSource`)."""

    def chunks(self, columns: Sequence[str]) -> Chunks:
        """A reader of ``columns``, chunk by chunk."""
        ...

    @property
    def n_rows(self) -> int:
        """Number of records (known once a pass was made)."""
        ...


if TYPE_CHECKING:  # pragma: no cover
    from analyzer.explain.asv_game import TimeSeriesDataset


@dataclass
class Dataset:
    """A tabular dataset with its roles resolved to column names of :attr:`frame`.

    ``frame`` holds every column: features, label, predicted label, facet-dataset columns and
    the join column. ``feature_names`` are the columns sent to the model, in order.
    ``facet_columns`` maps each configured facet ``name_or_index`` to its column name.
    """

    frame: pd.DataFrame
    feature_names: list[str]
    label: str | None = None
    predicted_label: str | None = None
    facet_columns: dict[str | int, str] = field(default_factory=dict)
    group_variable: str | None = None
    join_column: str | None = None
    uri: str = ""
    #: Set when the rows are not loaded but read in chunks (``frame`` then has no rows).
    source: ChunkSource | None = None
    #: The items of a time-series dataset (``frame`` then holds one row per item and time step).
    series: TimeSeriesDataset | None = None

    @property
    def n_rows(self) -> int:
        """Number of records."""
        return self.source.n_rows if self.source is not None else len(self.frame)

    def chunks(self, columns: Sequence[str]) -> Chunks:
        """``columns`` of every row, chunk by chunk: the frame as one chunk when it is loaded."""
        if self.source is not None:
            return self.source.chunks(columns)
        frame = self.frame[list(dict.fromkeys(columns))]
        return lambda: (frame,)

    def features(self) -> np.ndarray:
        """The feature matrix ``(n_rows, len(feature_names))``.

        float64 when every feature column is numeric (booleans become 0/1); otherwise an object
        array where numbers are Python floats and strings stay ``str`` (missing values are NaN).
        """
        return features_array(self.frame, self.feature_names)


def features_array(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """``frame[columns]`` as float64 if all numeric, else an object array with float numbers."""
    sub = frame[columns]
    if all(is_numeric_dtype(dt) for dt in sub.dtypes):
        return sub.to_numpy(dtype=np.float64)
    out = np.empty(sub.shape, dtype=object)
    for j, col in enumerate(columns):
        series = sub[col]
        if is_numeric_dtype(series.dtype):
            values = series.to_numpy(dtype=np.float64)
            out[:, j] = values
        elif infer_dtype(series, skipna=True) in ("string", "empty"):
            values = series.to_numpy(dtype=object, copy=True)
            values[series.isna().to_numpy()] = np.nan
            out[:, j] = values
        else:
            out[:, j] = [_cell(v) for v in series.tolist()]
    return out


def _cell(value: Any) -> Any:
    if value is None:
        return np.nan
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return value
