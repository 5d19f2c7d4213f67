"""Flip Test (FT): a k-nearest-neighbour counterfactual of facet d trained on facet a.

Same definition as smclarify 0.5: scikit-learn's ``KNeighborsClassifier`` with k = 5 when facet
a has more than 9 rows, else 1, on unscaled features, fitted on facet a's predicted labels and
asked about facet d. The neighbours come from :func:`analyzer.bias.neighbours.knn_votes`, an
exact search that picks the neighbours scikit-learn picks (same rounding and tie-breaking where
they decide a vote), so the values are identical, without scikit-learn's brute-force pass over
every (d, a) pair on data with more than 15 features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.bias.metrics import divide

NON_NUMERIC = "FlipTest does not support non-numeric columns"


def feature_matrix(features: pd.DataFrame) -> np.ndarray:
    """The FT feature matrix; raises ValueError (smclarify's text) if a column is not numeric/bool."""
    if len(features.columns) != len(features.select_dtypes([np.number, bool]).columns):
        raise ValueError(NON_NUMERIC)
    return features.to_numpy()


def _sklearn_error(fit_x: np.ndarray, labels: np.ndarray, query_x: np.ndarray, k: int) -> None:
    """Raise what scikit-learn raises for input it refuses (NaN, infinity, no features), as smclarify does."""
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=k).fit(fit_x, labels)
    knn.predict(list(query_x))


def flip_test(
    features: np.ndarray | pd.DataFrame | ValueError,
    sensitive: np.ndarray,
    predicted: np.ndarray,
    n_jobs: int | None = -1,
    *,
    block_rows: int | None = None,
) -> float:
    """FT = (#{d: yhat=1, kNN=0} - #{d: yhat=0, kNN=1}) / n_d.

    ``features`` is the matrix from :func:`feature_matrix` (or the ValueError it raised, which
    is re-raised after the empty-group checks, in smclarify's order). ``n_jobs`` threads run the
    neighbour search (-1: all cores); ``block_rows`` bounds the facet-d rows searched at a time.
    """
    from analyzer.bias.neighbours import BLOCK_ROWS, knn_votes
    from analyzer.bias.sklearn_knn import validated

    sensitive = np.asarray(sensitive, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    n_d = int(sensitive.sum())
    n_a = int(sensitive.shape[0] - n_d)
    if n_d == 0:
        raise ValueError("Facet set is empty")
    if n_a == 0:
        raise ValueError("Negated Facet set is empty")
    if isinstance(features, ValueError):
        raise features
    if isinstance(features, pd.DataFrame):
        features = feature_matrix(features)
    k = 5 if n_a > 9 else 1
    matrix = np.asarray(features)
    fit_x, query_x = matrix[~sensitive], matrix[sensitive]
    labels = predicted[~sensitive]
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        _sklearn_error(fit_x, labels, query_x, k)
    try:
        fit_v, query_v = validated(fit_x), validated(query_x)
    except (TypeError, ValueError):  # e.g. pd.NA in an object column
        _sklearn_error(fit_x, labels, query_x, k)
        raise
    if fit_v.dtype.kind == "c" or (
        fit_v.dtype.kind == "f" and not (np.isfinite(fit_v).all() and np.isfinite(query_v).all())
    ):
        _sklearn_error(fit_x, labels, query_x, k)
    # the query rows stay as smclarify has them (object rows decide scikit-learn's code path)
    query_rows = np.ascontiguousarray(query_x)
    flipped = knn_votes(fit_v, labels, query_rows, k, n_jobs=n_jobs, block_rows=block_rows or BLOCK_ROWS)
    model = predicted[sensitive]
    pos = int(np.count_nonzero(model & ~flipped))
    neg = int(np.count_nonzero(~model & flipped))
    return divide(pos - neg, n_d)
