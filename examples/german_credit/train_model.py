"""Train the German-credit example model and save it as a SageMaker-style model folder.

The model is a scikit-learn pipeline (one-hot encoding of the string columns, then a
gradient-boosted classifier) that takes the nine feature columns in dataset order, as raw
values (strings and numbers), and returns ``[p(bad), p(good)]`` per record.

It is saved in the skops format, which loads without running arbitrary code (unlike
pickle/joblib). ``local_endpoint`` serves it; ``predictor.probability: 1`` in the analysis
config selects the probability of the positive label (``risk == 1``, good credit).

Usage: python train_model.py [--data german_credit.csv] [--model-dir model]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

HERE = Path(__file__).resolve().parent
LABEL = "risk"
FEATURES = [
    "sex",
    "job",
    "housing",
    "saving_accounts",
    "checking_account",
    "credit_amount",
    "duration",
    "purpose",
    "age",
]
CATEGORICAL = ["sex", "housing", "saving_accounts", "checking_account", "purpose"]


def build_pipeline() -> Pipeline:
    """The example model: one-hot encoding by column position, then gradient boosting."""
    cat_idx = [FEATURES.index(c) for c in CATEGORICAL]
    num_idx = [i for i in range(len(FEATURES)) if i not in cat_idx]
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), cat_idx), ("num", "passthrough", num_idx)]
    )
    return Pipeline(
        [
            ("encode", encode),
            ("model", GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=0)),
        ]
    )


def feature_matrix(df: pd.DataFrame) -> np.ndarray:
    """The model's input: the feature columns as an object array, numbers as floats and
    strings as ``str`` (what local_endpoint hands the model for a CSV request)."""
    x = df[FEATURES].to_numpy(dtype=object)
    for i, name in enumerate(FEATURES):
        if name not in CATEGORICAL:
            x[:, i] = x[:, i].astype(float)
    return x


def train(data: Path, model_dir: Path) -> Path:
    """Train on ``data`` and write ``model_dir/model.skops``; returns the model file."""
    df = pd.read_csv(data)
    pipeline = build_pipeline().fit(feature_matrix(df), df[LABEL].to_numpy())
    model_dir.mkdir(parents=True, exist_ok=True)
    import skops.io as sio

    path = model_dir / "model.skops"
    sio.dump(pipeline, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "german_credit.csv")
    parser.add_argument("--model-dir", type=Path, default=HERE / "model")
    args = parser.parse_args()
    print(f"Model written to {train(args.data, args.model_dir)}")


if __name__ == "__main__":
    main()
