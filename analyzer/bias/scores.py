"""Model scores to predicted labels (Clarify's ``probability_threshold`` rule)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analyzer.plan.defaults import DEFAULT_PROBABILITY_THRESHOLD

log = logging.getLogger(__name__)

#: Clarify's line when scores become 0/1 predicted labels (``probability_threshold``).
ASSUME_MESSAGE = "We assume a prediction above %.3f indicates 1 and below or equal indicates 0."


def scores_to_labels(
    scores: np.ndarray, probability_threshold: float | None, label_headers: list | None
) -> np.ndarray:
    """Predicted labels from model scores.

    One score per row (1-D, or one column): ``score > threshold`` → 1, else 0 (threshold 0.5
    when None). Several score columns: the arg-max column index, mapped through
    ``label_headers`` when given.
    """
    arr = np.asarray(scores, dtype=float)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 1:
        threshold = (
            DEFAULT_PROBABILITY_THRESHOLD if probability_threshold is None else float(probability_threshold)
        )
        log.info(ASSUME_MESSAGE, threshold)
        return (arr > threshold).astype(np.int64)
    if arr.ndim != 2:
        raise ValueError(f"scores must be 1-D or 2-D, got shape {arr.shape}")
    best = np.argmax(arr, axis=1)
    if label_headers:
        if len(label_headers) != arr.shape[1]:
            raise ValueError(
                f"label_headers has {len(label_headers)} entries but the model returned "
                f"{arr.shape[1]} scores per record"
            )
        return np.asarray(label_headers, dtype=object)[best]
    return best


def _is_score_column(pred: pd.Series) -> bool:
    if not pd.api.types.is_float_dtype(pred.dtype):
        return False
    finite = pred.dropna().to_numpy()
    return bool(finite.size) and not np.all(np.equal(np.mod(finite, 1), 0))


@dataclass
class PredictedPrep:
    """How the predicted-label column is turned into labels, decided once for the whole column.

    ``mode``: ``"keep"`` (as it is), ``"scores"`` (score > ``threshold`` -> 1, else 0) or
    ``"cast"`` (whole numbers cast to the label's ``dtype``).
    """

    mode: str = "keep"
    threshold: float = DEFAULT_PROBABILITY_THRESHOLD
    dtype: Any = None

    def apply(self, pred: pd.Series) -> pd.Series:
        """The prepared column (or chunk of it)."""
        if self.mode == "scores":
            labels = scores_to_labels(pred.to_numpy(), self.threshold, None)
            return pd.Series(labels, index=pred.index, name=pred.name)
        if self.mode == "cast":
            return pred.astype(self.dtype)
        return pred


def plan_predicted(
    pairs: Iterable[tuple[pd.Series, pd.Series]], probability_threshold: float | None
) -> PredictedPrep:
    """Decide :class:`PredictedPrep` from ``(predicted, label)`` chunks of the two columns.

    A float column holding scores (non-integral values anywhere) against an integer or boolean
    label is turned into 0/1 with ``probability_threshold``. A float column of whole numbers
    without missing values against an integer label is cast to the label's dtype. Anything else
    is left as it is (and smclarify's type rules apply).
    """
    score = False
    complete = True
    label_dtype = None
    name = None
    for pred, label in pairs:
        label_int = pd.api.types.is_integer_dtype(label.dtype) or pd.api.types.is_bool_dtype(label.dtype)
        if not label_int or not pd.api.types.is_float_dtype(pred.dtype):
            return PredictedPrep()
        label_dtype, name = label.dtype, pred.name
        score = score or _is_score_column(pred)
        complete = complete and bool(pred.notna().all())
    if label_dtype is None:
        return PredictedPrep()
    if score:
        threshold = DEFAULT_PROBABILITY_THRESHOLD if probability_threshold is None else probability_threshold
        log.info("Predicted label column %s holds scores (probability_threshold applies)", name)
        return PredictedPrep("scores", threshold)
    if complete:
        return PredictedPrep("cast", dtype=label_dtype)
    return PredictedPrep()


def prepare_predicted(pred: pd.Series, label: pd.Series, probability_threshold: float | None) -> pd.Series:
    """The predicted-label column as the container hands it to the metrics (see
    :func:`plan_predicted`, applied to the whole column)."""
    return plan_predicted([(pred, label)], probability_threshold).apply(pred)
