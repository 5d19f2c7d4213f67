"""Train the forecasting example model and save it as a local_endpoint ``forecaster`` folder.

The model (:class:`local_endpoint.forecasting.LagForecaster`) predicts the next ``horizon``
values of the target from its last ``target_lags`` values, each related series from
``related_past`` steps before to ``related_future`` steps after the forecast start, and the
static covariates. The regressor is scikit-learn: standardisation, then the features
themselves plus an RBF kernel expansion (Nystroem), then ridge regression — every step is a
type skops trusts, so the model loads without running code and without extra settings.

local_endpoint serves the folder and answers DeepAR-style JSON::

    {"instances": [{"start": "...", "target": [...], "dynamic_feat": [[...], ...], "cat": [...]}]}
    → {"predictions": [{"mean": [...]}, ...]}

Usage: python train_model.py [--data data/stores.json] [--model-dir model]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import Ridge
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler

from local_endpoint.forecasting import Instance, LagForecaster, save_forecaster

HERE = Path(__file__).resolve().parent


def _series(rows: Sequence[dict[str, Any]], name: str) -> np.ndarray:
    return np.array([np.nan if r[name] is None else float(r[name]) for r in rows])


def training_set(
    rows: Sequence[dict[str, Any]],
    shape: LagForecaster,
    *,
    target: str,
    related: Sequence[str],
    static: Sequence[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and targets (future values minus the last observed one) from every item's
    history, one window per possible forecast start."""
    by_item: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        by_item.setdefault(row["item_id"], []).append(row)
    X, Y = [], []
    for item_rows in by_item.values():
        y = _series(item_rows, target)
        known = int(np.flatnonzero(~np.isnan(y))[-1]) + 1
        rel = [_series(item_rows, name) for name in related]
        codes = tuple(float(item_rows[0][name]) for name in static)
        for cut in range(1, known - shape.horizon + 1):
            inst = Instance(y[:cut], tuple(r[: cut + shape.related_future] for r in rel), codes)
            X.append(shape.window_features(inst))
            Y.append(y[cut : cut + shape.horizon] - shape.level(inst.target))
    if not X:
        raise ValueError(
            f"no training window: every item needs more than {shape.horizon} known target values"
        )
    return np.stack(X), np.stack(Y)


def train(
    rows: Sequence[dict[str, Any]],
    *,
    target: str = "sales",
    related: Sequence[str] = ("temperature", "promotion"),
    static: Sequence[str] = ("store_size", "region"),
    horizon: int = 7,
    target_lags: int = 7,
    related_past: int = 3,
    related_future: int = 7,
    components: int = 150,
    seed: int = 0,
) -> LagForecaster:
    """Fit the forecaster on timestamp-record rows (as written by ``generate_data.py``)."""
    shape = LagForecaster(None, horizon, target_lags, related_past, related_future, len(related), len(static))
    X, Y = training_set(rows, shape, target=target, related=related, static=static)
    features = FeatureUnion(
        [
            ("linear", "passthrough"),
            ("rbf", Nystroem(n_components=min(components, len(X)), random_state=seed)),
        ]
    )
    regressor = make_pipeline(StandardScaler(), features, Ridge(alpha=1.0)).fit(X, Y)
    return LagForecaster(
        regressor, horizon, target_lags, related_past, related_future, len(related), len(static)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "stores.json")
    parser.add_argument("--model-dir", type=Path, default=HERE / "model")
    args = parser.parse_args()
    rows = json.loads(args.data.read_text())
    model = train(rows)
    print(f"Model written to {save_forecaster(model, args.model_dir)}")


if __name__ == "__main__":
    main()
