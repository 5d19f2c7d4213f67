"""Turning scores into predicted labels (pure computation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from analyzer.errors import ConfigError
from analyzer.model_client.parse import ResponseFormatError


def scores_to_labels(
    scores: np.ndarray,
    probability_threshold: float | None = None,
    label_headers: Sequence[Any] | None = None,
) -> np.ndarray:
    """Predicted labels from scores.

    One score per record: ``score > probability_threshold`` (default 0.5) gives 1, else 0.
    Several scores per record: the arg-max, mapped through ``label_headers`` when given.

    Raises:
        ConfigError: ``label_headers`` does not have one entry per score column.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores.reshape(-1, 1)
    if scores.shape[1] == 1:
        threshold = 0.5 if probability_threshold is None else float(probability_threshold)
        return (scores[:, 0] > threshold).astype(np.int64)
    idx = np.argmax(scores, axis=1)
    if label_headers is None:
        return idx.astype(np.int64)
    if len(label_headers) != scores.shape[1]:
        raise ConfigError(
            f"predictor.label_headers has {len(label_headers)} entries but the model returns "
            f"{scores.shape[1]} scores per record"
        )
    return np.asarray(list(label_headers), dtype=object)[idx]


def pick_labels(labels: list[Any], scores: np.ndarray | None, what: str = "label") -> list[Any]:
    """Per-record labels; where a record's label is the list of all classes, take the
    class of the highest score (clarify-contract.md 4.3, multi-class bias)."""
    out = []
    for i, lab in enumerate(labels):
        if isinstance(lab, list):
            if scores is None:
                raise ConfigError(
                    f"predictor.{what} yields all class labels per record; predictor.probability "
                    "is required to choose the predicted label"
                )
            if len(lab) != scores.shape[1]:
                raise ResponseFormatError(
                    f"record {i}: {len(lab)} labels but {scores.shape[1]} probabilities"
                )
            out.append(lab[int(np.argmax(scores[i]))])
        else:
            out.append(lab)
    return out
