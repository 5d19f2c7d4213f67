"""Step 1 of the Model Monitor demo: train the model and write the baselining inputs.

Writes into ``$DEMO_DIR`` (default ``/work``): ``model/model.joblib`` (a logistic regression on
synthetic credit applications: sex, age, income -> approved), ``baseline.csv`` (the records
the baseline is computed on), ``baselining_config.json`` (the analysis config that
``ModelBiasMonitor.suggest_baseline`` hands to the baselining job) and
``monitoring_config.json`` (the ``BiasAnalysisConfig`` a schedule uses as its ConfigUri).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

HEADERS = ["approved", "sex", "age", "income"]
FEATURES = HEADERS[1:]
BIAS = {"label_values_or_threshold": [1], "facet": [{"name_or_index": "sex", "value_or_threshold": [0]}]}


def applicants(n: int, seed: int, drifted: bool = False) -> pd.DataFrame:
    """Applications; ``drifted``: applicants of sex 0 earn 20 less than before."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)
    income = rng.normal(50, 15, n) - (20 * (sex == 0) if drifted else 0)
    approved = (income + rng.normal(0, 8, n) > 50).astype(int)
    return pd.DataFrame(
        {"approved": approved, "sex": sex, "age": rng.integers(20, 70, n), "income": income.round(2)}
    )


def main() -> None:
    """Write the model, the baseline data and both configs."""
    out = Path(os.environ.get("DEMO_DIR", "/work"))
    (out / "model").mkdir(parents=True, exist_ok=True)
    train = applicants(1000, seed=0)
    model = LogisticRegression(max_iter=1000).fit(train[FEATURES].to_numpy(), train["approved"])
    joblib.dump(model, out / "model" / "model.joblib")
    applicants(200, seed=1).to_csv(out / "baseline.csv", index=False)
    baselining = {
        "dataset_type": "text/csv",
        "headers": HEADERS,
        "label": "approved",
        **BIAS,
        "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
        "predictor": {
            "model_name": "credit-model",
            "instance_type": "ml.m5.xlarge",
            "initial_instance_count": 1,
            "accept_type": "text/csv",
            "content_type": "text/csv",
            "probability": 1,
        },
        "probability_threshold": 0.6,
    }
    (out / "baselining_config.json").write_text(json.dumps(baselining, indent=2))
    monitoring = {**BIAS, "headers": HEADERS, "label": "approved"}
    (out / "monitoring_config.json").write_text(json.dumps(monitoring, indent=2))
    print(f"model, baseline.csv and configs written to {out}")


if __name__ == "__main__":
    main()
