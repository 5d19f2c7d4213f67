"""Binarisation rules of the facet, label and predicted label, decided from column statistics.

A rule is decided once (from a whole column or from merged chunk statistics) and then
applied to rows, chunk by chunk if needed. Errors are raised as smclarify raises them
(``ValueError``/``Exception`` with its text); the caller turns them into ``DatasetError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analyzer.bias.columns import (
    CATEGORICAL,
    CONTINUOUS,
    ColumnStats,
    categorical_lut,
    codes_in,
    infer_type,
    interval_index,
    interval_mask,
    interval_text,
    numeric_threshold,
    warn_traps,
)

BINARY_KEYS = pd.Index([False, True], dtype=object)


@dataclass
class LabelRule:
    """Which rows of a label (or predicted-label) column are positive."""

    data_type: str
    text: str
    keys: pd.Index | None = None
    lut: np.ndarray | None = None
    intervals: pd.IntervalIndex | None = None
    cast_dtype: Any = None

    def mask(self, series: pd.Series, codes: np.ndarray | None = None) -> np.ndarray:
        """Boolean positive mask of ``series`` (``codes`` index ``keys`` when already known)."""
        if self.data_type == CATEGORICAL:
            assert self.keys is not None and self.lut is not None
            if codes is None:
                codes = codes_in(self.keys, series)
            return np.append(self.lut, False)[codes]
        values = pd.to_numeric(series)
        if self.cast_dtype is not None:
            values = values.astype(self.cast_dtype)
        assert self.intervals is not None
        return interval_mask(values, self.intervals)


def label_type(stats: ColumnStats, values: list, name: Any = None, missing: int = 0) -> str:
    """Data type of the label; for a continuous label ``values[0]`` becomes a float in place.

    ``name`` is logged with the type; ``missing``: rows without a label; the caller then explains
    the outcome (not the dtype).
    """
    data_type = infer_type(stats, values, name)
    if not missing:
        warn_traps(stats, values, data_type, "label")
    if data_type == CONTINUOUS:
        numeric_threshold(values)
    return data_type


def label_rule(stats: ColumnStats, data_type: str, values: list, numeric_max: Any = None) -> LabelRule:
    """Positive-label rule and ``label_value_or_threshold`` text (smclarify ``_positive_label_index``)."""
    if data_type == CONTINUOUS:
        top = numeric_max if numeric_max is not None else stats.max_value
        intervals = interval_index(top, values)
        return LabelRule(CONTINUOUS, interval_text(intervals), intervals=intervals)
    lut = categorical_lut(stats.small_series(), values)
    return LabelRule(CATEGORICAL, ",".join(map(str, values)), keys=stats.keys, lut=lut)


def predicted_rule(
    stats: ColumnStats,
    values: list,
    label: LabelRule,
    joint_max: Callable[[], Any] | None = None,
    label_dtype: Any = None,
) -> LabelRule:
    """Positive-prediction rule; ``joint_max()`` gives max(label ∪ prediction cast to the label dtype)."""
    data_type = infer_type(stats, values)
    if data_type == CONTINUOUS:
        numeric_threshold(values)
    if data_type != label.data_type:
        raise ValueError("Predicted Label Column series datatype is not the same as Label Column series")
    if data_type == CONTINUOUS:
        assert joint_max is not None
        intervals = interval_index(joint_max(), values)
        return LabelRule(CONTINUOUS, interval_text(intervals), intervals=intervals, cast_dtype=label_dtype)
    lut = categorical_lut(stats.small_series(), values)
    return LabelRule(CATEGORICAL, ",".join(map(str, values)), keys=stats.keys, lut=lut)


NO_POSITIVE_PREDICTION = (
    "No Label values are present in the predicted Label Column,"
    "Positive Predicted Index Series contains all False values"
)


@dataclass
class FacetRule:
    """How rows map to facet keys, and which keys form facet d in each report."""

    data_type: str
    values: list | None
    keys: pd.Index | None = None
    intervals: pd.IntervalIndex | None = None

    def codes(self, series: pd.Series, codes: np.ndarray | None = None) -> np.ndarray:
        """Per-row index into :meth:`count_keys`."""
        if self.data_type == CONTINUOUS:
            assert self.intervals is not None
            return interval_mask(pd.to_numeric(series), self.intervals).astype(np.int64)
        assert self.keys is not None
        return codes if codes is not None else codes_in(self.keys, series)

    def count_keys(self) -> pd.Index:
        """Facet keys the counts are kept by."""
        return BINARY_KEYS if self.data_type == CONTINUOUS else self.keys


def facet_type(stats: ColumnStats, values: list | None, name: Any = None) -> str:
    """Data type of a facet; for a continuous facet ``values[0]`` becomes a float in place."""
    data_type = infer_type(stats, values, name)
    warn_traps(stats, values, data_type, "facet")
    if data_type == CONTINUOUS and values:
        numeric_threshold(values)
    return data_type


def facet_rule(stats: ColumnStats, data_type: str, values: list | None, numeric_max: Any = None) -> FacetRule:
    """Facet rule; a continuous facet needs its threshold (smclarify's error text otherwise)."""
    if data_type == CONTINUOUS:
        top = numeric_max if numeric_max is not None else stats.max_value
        return FacetRule(CONTINUOUS, values, intervals=interval_index(top, values))
    return FacetRule(CATEGORICAL, values, keys=stats.keys)


def facet_groups(rule: FacetRule, stats: ColumnStats) -> list[tuple[str, np.ndarray]]:
    """``(value_or_threshold, d-mask over count keys)`` for every report of the facet."""
    if rule.data_type == CONTINUOUS:
        assert rule.intervals is not None
        return [(interval_text(rule.intervals), np.array([False, True]))]
    small = stats.small_series()
    if rule.values:
        return [(",".join(map(str, rule.values)), categorical_lut(small, rule.values))]
    return [(str(v), categorical_lut(small, [v])) for v in list(small.unique())]
