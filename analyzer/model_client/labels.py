"""Turning scores into predicted labels (pure computation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from analyzer.bias.scores import scores_to_labels as _bias_scores_to_labels
from analyzer.errors import ModelError
from analyzer.model_client.parse import ResponseFormatError


def scores_to_labels(
    scores: np.ndarray,
    probability_threshold: float | None = None,
    label_headers: Sequence[Any] | None = None,
) -> np.ndarray:
    """Predicted labels from model scores (the bias engine's rule, see
    :func:`analyzer.bias.scores_to_labels`): one score per record, ``score >
    probability_threshold`` (default 0.5) gives 1, else 0; several scores per record, the
    arg-max, mapped through ``label_headers`` when given.

    Raises:
        ModelError: the model's scores do not have one column per ``label_headers`` entry.
    """
    try:
        return _bias_scores_to_labels(
            scores, probability_threshold, list(label_headers) if label_headers is not None else None
        )
    except ValueError as exc:
        raise ModelError(f"predictor.{exc}") from None


def pick_labels(labels: list[Any], scores: np.ndarray | None, what: str = "label") -> list[Any]:
    """Per-record labels; where a record's label is the list of all classes, take the
    class of the highest score (clarify-contract.md 4.3, multi-class bias)."""
    out = []
    for i, lab in enumerate(labels):
        if isinstance(lab, list):
            if scores is None:
                raise ModelError(
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
