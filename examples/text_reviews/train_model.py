"""Train the review-sentiment example model and save it as a SageMaker-style model folder.

The model is a scikit-learn pipeline that takes the raw feature columns in dataset order —
the review text and the number of helpful votes — and returns ``[p(not recommended),
p(recommended)]`` per record: TF-IDF of the words and word pairs of the review, the scaled
vote count, then logistic regression. It is saved with skops (no code runs when it is
loaded). ``local_endpoint`` sees the ``TfidfVectorizer`` on column 0 and decodes that column
of every request as text (``local_endpoint/text_input.py``), in CSV or JSON Lines.

Usage: python train_model.py [--data reviews.csv] [--model-dir model]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
LABEL = "recommended"
FEATURES = ["review", "helpful_votes"]


def build_pipeline() -> Pipeline:
    """TF-IDF on the text column (position 0), scaling of the vote count, logistic regression."""
    columns = ColumnTransformer(
        [
            ("text", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), 0),
            ("num", StandardScaler(), [1]),
        ]
    )
    return Pipeline([("features", columns), ("model", LogisticRegression(C=4.0, max_iter=1000))])


def feature_matrix(df: pd.DataFrame) -> np.ndarray:
    """The model's input: an object array, text as ``str`` and numbers as floats (what
    local_endpoint hands the model)."""
    x = df[FEATURES].to_numpy(dtype=object)
    x[:, 1] = x[:, 1].astype(float)
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
    parser.add_argument("--data", type=Path, default=HERE / "reviews.csv")
    parser.add_argument("--model-dir", type=Path, default=HERE / "model")
    args = parser.parse_args()
    print(f"wrote {train(args.data, args.model_dir)}")


if __name__ == "__main__":
    main()
