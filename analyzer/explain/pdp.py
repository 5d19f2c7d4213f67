"""Partial dependence (``methods.pdp``) and the ``explanations.pdp`` section.

For a numeric feature the grid is the midpoints of ``grid_resolution`` equal-width buckets over
the feature's observed range, and ``data_distribution`` is the share of records in each bucket
(the last bucket includes the maximum). For a categorical feature the grid is its distinct
values in order of first appearance and the distribution their shares. ``model_predictions``
holds, per model output, the mean prediction over all records with the feature set to each
grid value (the same quantity as scikit-learn's ``partial_dependence(kind="average")``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from analyzer.errors import DatasetError, ModelError

PredictFn = Callable[[np.ndarray], np.ndarray]
#: Upper bound on rows per model call when evaluating one feature's grid.
MAX_ROWS_PER_CALL = 200_000


def numeric_grid(values: np.ndarray, grid_resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket midpoints and the share of (non-missing) values in each bucket."""
    finite = values[~np.isnan(values)]
    if len(finite) == 0:
        raise DatasetError("PDP feature has no numeric values")
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        return np.array([lo]), np.array([1.0])
    edges = np.linspace(lo, hi, grid_resolution + 1)
    counts, _ = np.histogram(finite, bins=edges)
    return (edges[:-1] + edges[1:]) / 2.0, counts / len(values)


def categorical_grid(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values in order of first appearance and their shares."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return np.asarray(uniques, dtype=object), counts / len(values)


def partial_dependence(records: np.ndarray, predict: PredictFn, column: int, grid: np.ndarray) -> np.ndarray:
    """Mean model output (k, len(grid)) with column ``column`` of every record set to each grid value."""
    n = len(records)
    per_call = max(1, MAX_ROWS_PER_CALL // max(n, 1))
    means: list[np.ndarray] = []
    for start in range(0, len(grid), per_call):
        chunk = grid[start : start + per_call]
        rows = np.tile(records, (len(chunk), 1))
        rows[:, column] = np.repeat(chunk, n)
        out = np.asarray(predict(rows), dtype=np.float64)
        if out.ndim == 1:
            out = out[:, None]
        if out.shape[0] != len(rows):
            raise ModelError(f"the model returned {out.shape[0]} predictions for {len(rows)} rows")
        means.append(out.reshape(len(chunk), n, -1).mean(axis=1))
    return np.concatenate(means).T


def partial_dependence_section(
    records: np.ndarray,
    predict: PredictFn,
    feature_names: Sequence[str],
    features: Sequence[str],
    grid_resolution: int,
    categorical: set[str],
    label_headers: Sequence[str] | None = None,
) -> list[dict]:
    """The ``explanations.pdp`` list: one object per feature in ``features``, in that order."""
    if grid_resolution is None or int(grid_resolution) < 1:
        raise ValueError(f"grid_resolution must be at least 1, got {grid_resolution}")
    names = list(feature_names)
    section: list[dict] = []
    for feature in features:
        if feature not in names:
            raise ValueError(f"features: {feature!r} is not one of the feature columns {names}")
        column = names.index(feature)
        if feature in categorical:
            grid, dist = categorical_grid(records[:, column])
            data_type = "categorical"
            values: list = [_plain(v) for v in grid]
        else:
            try:
                numeric = np.asarray(records[:, column], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise DatasetError(f"PDP feature {feature!r} is not numeric; declare it categorical") from exc
            grid, dist = numeric_grid(numeric, int(grid_resolution))
            data_type = "numerical"
            values = [float(v) for v in grid]
        grid_values = grid if records.dtype == object else grid.astype(records.dtype)
        predictions = partial_dependence(records, predict, column, grid_values)
        headers = list(label_headers) if label_headers else [f"label{k}" for k in range(predictions.shape[0])]
        if len(headers) != predictions.shape[0]:
            raise ValueError(
                f"label_headers has {len(headers)} names but there are {predictions.shape[0]} model outputs"
            )
        section.append(
            {
                "feature_name": feature,
                "data_type": data_type,
                "data_distribution": [float(v) for v in dist],
                "feature_values": values,
                "model_predictions": [[float(v) for v in row] for row in predictions],
                "label_headers": headers,
            }
        )
    return section


def top_k_features(shap_section: dict, k: int) -> list[str]:
    """The ``k`` features with the largest global SHAP values (PDP's ``top_k_features``).

    ``shap_section`` is the ``explanations.kernel_shap`` value. With several labels a
    feature's importance is the mean of its absolute global values over the labels; ties
    keep the dataset order.
    """
    if k is None or int(k) < 1:
        raise ValueError(f"top_k_features must be at least 1, got {k}")
    labels = list(shap_section.values())
    if not labels:
        raise ValueError("top_k_features needs SHAP values, but there are none")
    names = list(labels[0]["global_shap_values"])
    scores = [np.mean([abs(label["global_shap_values"][n]) for label in labels]) for n in names]
    order = sorted(range(len(names)), key=lambda j: -scores[j])
    return [names[j] for j in order[: int(k)]]


def _plain(value: object) -> object:
    """JSON-friendly scalar (numpy scalars become Python ones)."""
    return value.item() if isinstance(value, np.generic) else value
