"""Flip Test (FT): a k-nearest-neighbour counterfactual of facet d trained on facet a.

Same estimator and parameters as smclarify 0.5 (scikit-learn ``KNeighborsClassifier``,
k = 5 when facet a has more than 9 rows, else 1, unscaled features), so the values are
identical; the speed comes from vectorised masking and a parallel neighbour query.
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


def flip_test(
    features: np.ndarray | pd.DataFrame | ValueError,
    sensitive: np.ndarray,
    predicted: np.ndarray,
    n_jobs: int | None = -1,
) -> float:
    """FT = (#{d: yhat=1, kNN=0} - #{d: yhat=0, kNN=1}) / n_d.

    ``features`` is the matrix from :func:`feature_matrix` (or the ValueError it raised, which
    is re-raised after the empty-group checks, in smclarify's order).
    """
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
    # Imported here: scikit-learn's neighbours module costs ~1 s, and FT is the only user.
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=5 if n_a > 9 else 1, n_jobs=n_jobs)
    knn.fit(features[~sensitive], predicted[~sensitive])
    flipped = np.asarray(knn.predict(features[sensitive]), dtype=bool)
    model = predicted[sensitive]
    pos = int(np.count_nonzero(model & ~flipped))
    neg = int(np.count_nonzero(~model & flipped))
    return divide(pos - neg, n_d)
