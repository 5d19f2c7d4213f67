"""Automatic SHAP baseline: cluster the dataset's features (Clarify's ``num_clusters``).

Clarify documents K-means for numeric data and K-prototypes when there are categorical
features, and "an optimal number of clusters between 1 and 12" when ``num_clusters`` is not
given. Here: K-means (scikit-learn, ``n_init=10``) on numeric features, K-prototypes
(``kmodes``) on mixed features, K-modes on purely categorical ones; one cluster is the column
means / modes. Each centroid is one baseline row (numeric columns are cluster means,
categorical columns cluster modes). When unset, the number of clusters is the elbow of the
clustering cost over k = 1..12 (the point farthest from the chord between k=1 and k=12).
Which rule Clarify uses is not documented. Pure computation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from analyzer.errors import DatasetError

MAX_AUTO_CLUSTERS = 12
#: Rows used to choose the number of clusters and to fit K-prototypes/K-modes (sampled).
SELECTION_SAMPLE = 300


def _is_categorical(col: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col))


def _mode(col: pd.Series) -> object:
    counts = col.value_counts(dropna=True, sort=True)
    return counts.index[0] if len(counts) else np.nan


def _fit(
    numeric: np.ndarray, categorical: np.ndarray, k: int, seed: int, n_init: int = 3
) -> tuple[np.ndarray, np.ndarray, float]:
    """Centroids (numeric part, categorical part) and the clustering cost for k clusters."""
    if categorical.shape[1] == 0:
        km = KMeans(n_clusters=k, random_state=seed, n_init=max(n_init, 1)).fit(numeric)
        return km.cluster_centers_, np.empty((k, 0), dtype=object), float(km.inertia_)
    if numeric.shape[1] == 0:
        from kmodes.kmodes import KModes

        kmo = KModes(n_clusters=k, init="Huang", n_init=n_init, random_state=seed).fit(categorical)
        return np.empty((k, 0)), kmo.cluster_centroids_.astype(object), float(kmo.cost_)
    from kmodes.kprototypes import KPrototypes

    mixed = np.empty((len(numeric), numeric.shape[1] + categorical.shape[1]), dtype=object)
    mixed[:, : numeric.shape[1]] = numeric
    mixed[:, numeric.shape[1] :] = categorical
    cat_idx = list(range(numeric.shape[1], mixed.shape[1]))
    kp = KPrototypes(
        n_clusters=k, init="Cao", n_init=n_init, max_iter=30 if n_init > 1 else 8, random_state=seed
    ).fit(mixed, categorical=cat_idx)
    centroids = kp.cluster_centroids_
    return (
        centroids[:, : numeric.shape[1]].astype(np.float64),
        centroids[:, numeric.shape[1] :].astype(object),
        float(kp.cost_),
    )


def _elbow(costs: list[float]) -> int:
    """1-based k at the elbow: the point farthest below the chord from k=1 to k=len(costs)."""
    if len(costs) < 3 or costs[0] <= 0:
        return 1
    ks = np.arange(1, len(costs) + 1, dtype=np.float64)
    c = np.asarray(costs) / costs[0]
    chord = c[0] + (c[-1] - c[0]) * (ks - 1) / (ks[-1] - 1)
    return int(ks[int(np.argmax(chord - c))])


def kmeans_baseline(
    features: pd.DataFrame, num_clusters: int | None, seed: int | None = None
) -> pd.DataFrame:
    """Baseline rows summarising ``features`` (columns in dataset order, no label).

    ``num_clusters`` rows (capped at the number of distinct rows), or the elbow over 1..12
    when None. Numeric NaNs are replaced by the column mean before clustering, categorical
    values are clustered as strings. The result has the same columns; numeric columns are
    float64, categorical ones keep their values.
    """
    if len(features) == 0:
        raise DatasetError("cannot compute a SHAP baseline from an empty dataset")
    if num_clusters is not None and int(num_clusters) < 1:
        raise ValueError(f"num_clusters must be at least 1, got {num_clusters}")
    seed = 0 if seed is None else int(seed)
    cat_cols = [c for c in features.columns if _is_categorical(features[c])]
    num_cols = [c for c in features.columns if c not in cat_cols]
    numeric = features[num_cols].astype(np.float64)
    numeric = numeric.fillna(numeric.mean()).fillna(0.0).to_numpy()
    categorical = features[cat_cols].astype(str).to_numpy(dtype=object)
    n_distinct = len(features.drop_duplicates())
    if num_clusters is None:
        rng = np.random.RandomState(seed)
        sample = rng.choice(len(features), min(len(features), SELECTION_SAMPLE), replace=False)
        top = min(MAX_AUTO_CLUSTERS, n_distinct, len(sample))
        costs = [_fit(numeric[sample], categorical[sample], k, seed, n_init=1)[2] for k in range(1, top + 1)]
        k = _elbow(costs)
    else:
        k = min(int(num_clusters), n_distinct)
    if k == 1:
        row = {c: features[c].astype(np.float64).mean() for c in num_cols}
        row.update({c: _mode(features[c]) for c in cat_cols})
        return pd.DataFrame([row], columns=list(features.columns))
    num_c, cat_c, _ = _fit(numeric, categorical, k, seed, n_init=10 if not cat_cols else 2)
    out = pd.DataFrame(index=range(k), columns=list(features.columns), dtype=object)
    for j, c in enumerate(num_cols):
        out[c] = num_c[:, j].astype(np.float64)
    for j, c in enumerate(cat_cols):
        out[c] = _restore_categories(features[c], cat_c[:, j])
    return out


def _restore_categories(col: pd.Series, modes: np.ndarray) -> list[object]:
    """Map the clustered string modes back to the column's original values."""
    lookup = {str(v): v for v in col.dropna().unique()}
    return [lookup.get(str(m), m) for m in modes]
