"""Shared helpers for the Kernel SHAP and PDP tests: small models and a brute-force reference."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
import shap
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder


@lru_cache(maxsize=8)
def classifier(n_features: int, n_classes: int = 2, seed: int = 0) -> tuple[object, np.ndarray]:
    """A small GradientBoostingClassifier and its training data (trees: row-independent, exact)."""
    X, y = make_classification(
        n_samples=400,
        n_features=n_features,
        n_informative=min(n_features, 6),
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    model = GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=seed).fit(X, y)
    return model, X


def shap_reference(
    predict: Callable[[np.ndarray], np.ndarray],
    baseline: np.ndarray | object,
    records: np.ndarray,
    *,
    nsamples: int | str = "auto",
    link: str = "identity",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """shap.KernelExplainer's values (n, m, k) and expected value, seeded like Clarify."""
    explainer = shap.KernelExplainer(predict, baseline, link=link)
    np.random.seed(seed)
    values = explainer.shap_values(records, nsamples=nsamples, l1_reg=False, silent=True)
    return np.asarray(values), np.atleast_1d(explainer.expected_value)


def brute_force_shapley(
    predict: Callable[[np.ndarray], np.ndarray], baseline: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """Exact interventional Shapley values (M, k) by enumerating all 2^M coalitions."""
    n_features = len(x)
    subsets = np.array(list(itertools.product([False, True], repeat=n_features)))
    rows = np.where(subsets[:, None, :], x[None, None, :], baseline[None, :, :]).reshape(-1, n_features)
    out = np.asarray(predict(rows), dtype=np.float64)
    values = out.reshape(len(subsets), len(baseline), -1).mean(axis=1)
    position = {tuple(s): i for i, s in enumerate(subsets.tolist())}
    phi = np.zeros((n_features, values.shape[1]))
    for i, s in enumerate(subsets.tolist()):
        size = sum(s)
        for j in range(n_features):
            if s[j]:
                continue
            with_j = list(s)
            with_j[j] = True
            weight = math.factorial(size) * math.factorial(n_features - size - 1) / math.factorial(n_features)
            phi[j] += weight * (values[position[tuple(with_j)]] - values[i])
    return phi


@lru_cache(maxsize=2)
def german_credit_model(path: str) -> tuple[object, pd.DataFrame]:
    """A one-hot + GBC pipeline on German credit, predicting from object arrays in column order."""
    df = pd.read_csv(path)
    X = df.drop(columns="risk")
    categorical = [c for c in X.columns if X[c].dtype == object]
    X[categorical] = X[categorical].fillna("NA")
    encoder = ColumnTransformer(
        [("onehot", OneHotEncoder(handle_unknown="ignore"), categorical)], remainder="passthrough"
    )
    pipe = make_pipeline(encoder, GradientBoostingClassifier(n_estimators=15, random_state=0))
    pipe.fit(X, df["risk"])
    return pipe, X


def frame_predict(model: object, columns: list[str]) -> Callable[[np.ndarray], np.ndarray]:
    """predict_proba over object arrays given in ``columns`` order."""

    def predict(rows: np.ndarray) -> np.ndarray:
        return model.predict_proba(pd.DataFrame(rows, columns=columns))  # type: ignore[attr-defined]

    return predict
