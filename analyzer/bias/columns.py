"""How Clarify (smclarify 0.5) reads a facet, label or predicted-label column.

Everything here works on *column statistics* (row count, distinct values in order of first
appearance, maximum) rather than on rows, so the same rules apply to an in-memory frame and
to a CSV read in chunks. The rules reproduce smclarify's ``series_datatype``,
``_interval_index`` and ``_categorical_data_idx`` (see bias-metrics.md §4).
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

CATEGORICAL = "CATEGORICAL"
CONTINUOUS = "CONTINUOUS"
UNIQUENESS_THRESHOLD = 0.05


def column_kind(dtype: Any) -> str:
    """Coarse dtype class used by the inference rule: category, object, float, int or other."""
    name = getattr(dtype, "name", str(dtype))
    if name == "category":
        return "category"
    if name in ("str", "string", "object"):
        return "object"
    try:
        if np.issubdtype(dtype, np.floating):
            return "float"
        if np.issubdtype(dtype, np.integer):
            return "int"
    except TypeError:
        pass
    return "other"


@dataclass
class ColumnStats:
    """Mergeable statistics of one column, enough to classify and binarise it.

    ``keys`` holds the distinct values (NaN included) in order of first appearance; it is
    ``None`` for float columns, which are continuous unless several values are given.
    """

    name: str
    dtype: Any
    count: int
    keys: pd.Index | None
    max_value: Any

    @classmethod
    def of(cls, series: pd.Series, with_keys: bool | None = None) -> ColumnStats:
        """Statistics of one in-memory column (or one chunk of it)."""
        return cls.encode(series, with_keys)[0]

    @classmethod
    def encode(
        cls, series: pd.Series, with_keys: bool | None = None
    ) -> tuple[ColumnStats, np.ndarray | None]:
        """Statistics plus per-row codes into ``keys`` (``None`` when keys are not kept)."""
        kind = column_kind(series.dtype)
        if with_keys is None:
            with_keys = kind != "float"
        max_value = series.max() if kind in ("float", "int") and len(series) else None
        if not with_keys:
            return cls(str(series.name), series.dtype, int(series.count()), None, max_value), None
        codes, keys = factorize_with_nan(series)
        count = int(
            len(series) - (np.count_nonzero(codes == keys.get_loc_nan) if keys.get_loc_nan >= 0 else 0)
        )
        return cls(str(series.name), series.dtype, count, keys.index, max_value), codes

    def merge(self, other: ColumnStats) -> ColumnStats:
        """Statistics of the concatenation of the two underlying chunks."""
        keys = None
        if self.keys is not None and other.keys is not None:
            new = other.keys[~other.keys.isin(self.keys)]
            keys = self.keys.append(new) if len(new) else self.keys
        maxes = [m for m in (self.max_value, other.max_value) if m is not None and not pd.isna(m)]
        return ColumnStats(
            self.name, self.dtype, self.count + other.count, keys, max(maxes) if maxes else None
        )

    @property
    def kind(self) -> str:
        """Coarse dtype class (see :func:`column_kind`)."""
        return column_kind(self.dtype)

    @property
    def nunique(self) -> int:
        """Number of distinct non-missing values."""
        assert self.keys is not None
        return int(len(self.keys) - self.keys.isna().sum())

    def small_series(self) -> pd.Series:
        """The distinct values as a category Series with the same categories as the column."""
        assert self.keys is not None
        if isinstance(self.dtype, pd.CategoricalDtype):
            return pd.Series(pd.Categorical(np.asarray(self.keys, dtype=object), dtype=self.dtype))
        return pd.Series(self.keys).astype(self.dtype if self.kind != "object" else object).astype("category")


@dataclass
class _Keys:
    index: pd.Index
    get_loc_nan: int


def _object_pointers(values: np.ndarray) -> np.ndarray:
    """The PyObject addresses of an object array, as integers (a view valid while ``values`` lives)."""
    values = np.ascontiguousarray(values)
    buffer = (ctypes.c_ssize_t * values.size).from_address(values.__array_interface__["data"][0])
    return np.ctypeslib.as_array(buffer)


def _factorize(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize`` (NaN → -1, first-appearance order), fast for object columns whose equal
    values share objects (as ``read_csv`` and Arrow's ``to_pandas`` produce them)."""
    values = series.to_numpy() if series.dtype == object else None
    if values is not None and values.size > 50_000:
        ptr_codes, ptr_uniques = pd.factorize(_object_pointers(values))
        if len(ptr_uniques) <= values.size // 8:
            # codes are numbered in order of first appearance: the running maximum steps up there
            steps = np.flatnonzero(np.diff(np.maximum.accumulate(ptr_codes))) + 1
            first = np.concatenate([[0], steps])
            obj_codes, uniques = pd.factorize(values[first])
            return obj_codes[ptr_codes], pd.Index(uniques, dtype=object)
    codes, uniques = pd.factorize(series)
    return codes, uniques if isinstance(uniques, pd.Index) else pd.Index(uniques)


def factorize_with_nan(series: pd.Series) -> tuple[np.ndarray, _Keys]:
    """Codes and distinct values with NaN as a value of its own, all in first-appearance order."""
    codes, uniques = _factorize(series)
    missing = codes < 0
    if not missing.any():
        return codes, _Keys(uniques, -1)
    first_nan = int(np.argmax(missing))
    pos = int(codes[:first_nan].max()) + 1 if first_nan else 0
    codes = np.where(codes >= pos, codes + 1, codes)
    codes[missing] = pos
    if uniques.dtype == object:
        keys = pd.Index([*uniques[:pos], np.nan, *uniques[pos:]], dtype=object)
    else:
        keys = uniques.insert(pos, np.nan)
    return codes, _Keys(keys, pos)


def codes_in(keys: pd.Index, series: pd.Series) -> np.ndarray:
    """Per-row position of each value in ``keys`` (-1 when absent); any missing value (None,
    NaN) maps to the missing-value key."""
    codes, local = factorize_with_nan(series)
    mapping = keys.get_indexer(local.index)
    if local.get_loc_nan >= 0:
        nan_positions = np.flatnonzero(keys.isna())
        mapping[local.get_loc_nan] = nan_positions[0] if len(nan_positions) else -1
    return mapping[codes]


def _uniqueness(stats: ColumnStats) -> float:
    n, c = stats.nunique, stats.count
    if c == 0:
        return 0.0 if n == 0 else float("inf")
    return n / c


def infer_type(stats: ColumnStats, values: list | None, name: Any = None) -> str:
    """CATEGORICAL or CONTINUOUS by smclarify's rule (``common.series_datatype``), logged in
    smclarify's words (``name`` is the column; ``None`` for predictions, as Clarify prints)."""
    data_type = _infer_type(stats, values)
    log.info(
        "Column %s with data uniqueness fraction %s is classifed as a %s column",
        name,
        _uniqueness(stats) if stats.keys is not None else float("nan"),  # float columns: not counted
        data_type,
    )
    return data_type


def _infer_type(stats: ColumnStats, values: list | None) -> str:
    kind = stats.kind
    if kind == "category" or (isinstance(values, list) and len(values) > 1):
        return CATEGORICAL
    if kind == "float":
        return CONTINUOUS
    if kind == "object":
        try:
            np.asarray(stats.keys, dtype=object).astype("int64")
            castable = True
        except (TypeError, ValueError, OverflowError):
            castable = False
        return CONTINUOUS if castable and _uniqueness(stats) >= UNIQUENESS_THRESHOLD else CATEGORICAL
    if kind == "int":
        return CONTINUOUS if _uniqueness(stats) >= UNIQUENESS_THRESHOLD else CATEGORICAL
    return CATEGORICAL


def warn_traps(stats: ColumnStats, values: list | None, data_type: str, role: str) -> None:
    """Log a warning for the known surprising outcomes of the inference rule."""
    if data_type == CONTINUOUS and role == "label" and stats.kind == "float" and values and len(values) == 1:
        if stats.max_value is not None and not pd.isna(stats.max_value):
            try:
                at_max = float(values[0]) >= float(stats.max_value)
            except (TypeError, ValueError):
                at_max = False
            if at_max:
                log.warning(
                    "Label column %s has a float dtype, so it is read as CONTINUOUS and %r is a threshold "
                    "(positive = value > %r); no value exceeds it, so no label is positive. Store the label "
                    "as integers or strings to use it as a category.",
                    stats.name,
                    values[0],
                    values[0],
                )
    if (
        data_type == CATEGORICAL
        and stats.kind == "int"
        and values
        and len(values) == 1
        and stats.keys is not None
    ):
        if stats.nunique > 10:
            log.warning(
                "Integer column %s has %d distinct values in %d rows (< 5%%), so it is read as CATEGORICAL: "
                "%r selects rows equal to it, not rows above it (Clarify behaves the same way).",
                stats.name,
                stats.nunique,
                stats.count,
                values[0],
            )


def numeric_threshold(values: list) -> None:
    """Turn ``values[0]`` into a float in place when it is not a number (smclarify does the same).

    Raises ValueError with smclarify's text when it cannot be converted.
    """
    if values and not isinstance(values[0], (int, float)):
        try:
            values[0] = float(values[0])
        except ValueError:
            raise ValueError(
                "Facet/label value provided must be a single numeric threshold for continuous data"
            ) from None


def interval_index(max_value: Any, thresholds: list | None) -> pd.IntervalIndex:
    """The interval(s) Clarify builds from a threshold: ``(t, max]`` (empty when ``t == |max|``)."""
    if not thresholds:
        raise ValueError("Threshold values must be provided for continuous features")
    breaks = list(thresholds)
    if abs(max_value) not in thresholds:
        breaks.append(max_value)
    return pd.IntervalIndex.from_breaks(sorted(breaks))


def interval_mask(x: pd.Series | np.ndarray, intervals: pd.IntervalIndex) -> np.ndarray:
    """Boolean mask of the values inside any of ``intervals`` (all closed on the right)."""
    arr = np.asarray(x)
    mask = np.zeros(arr.shape[0], dtype=bool)
    for iv in intervals:
        with np.errstate(invalid="ignore"):
            mask |= (arr > iv.left) & (arr <= iv.right)
    return mask


def interval_text(intervals: pd.IntervalIndex) -> str:
    """``value_or_threshold`` text of a continuous column, e.g. ``"(40.0, 80.0]"``."""
    return ",".join(map(str, intervals))


def _convert_values(first: Any, values: list) -> list:
    """smclarify's ``convert_positive_label_values``: cast the values to the column's element type."""
    target = type(first)
    if isinstance(values[0], target):
        return values
    try:
        return [target(v) for v in values]
    except ValueError as exc:
        if "invalid literal for int() with base 10" in str(exc):
            return [float(v) for v in values]
        raise Exception(  # noqa: TRY002 - same exception type and text as smclarify
            "'label' has not positive elements. Double-check if 'label' and 'positive_label_values'"
            "have correct data-types or values."
        ) from None


def categorical_lut(small: pd.Series, values: list) -> np.ndarray:
    """For each distinct value of a categorical column, whether it is in ``values``.

    Same semantics as smclarify's ``_categorical_data_idx`` applied to the whole column: when
    nothing matches, the values are converted to the type of the first row and matched again.
    """

    def match(vals: list) -> np.ndarray:
        m = np.asarray(small == vals[0], dtype=bool)
        for v in vals[1:]:
            m = m | np.asarray(small == v, dtype=bool)
        return m

    lut = match(values)
    if lut.any():
        return lut
    return match(_convert_values(small.iloc[0], values))
