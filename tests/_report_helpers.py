"""A German-credit-like analysis.json (plus local SHAP and baseline files) for the report tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
FACETS = {"sex": "female", "age": "(25, 75]"}


def _pre(dpl: float, ci: float) -> list[dict[str, Any]]:
    tvd = abs(dpl)
    return [
        {
            "name": "CDDL",
            "description": "Conditional Demographic Disparity in Labels (CDDL)",
            "value": None,
            "error": "Group variable is empty or not provided",
        },
        {"name": "CI", "description": "Class Imbalance (CI)", "value": ci},
        {"name": "DPL", "description": "Difference in Positive Proportions in Labels (DPL)", "value": dpl},
        {"name": "JS", "description": "Jensen-Shannon Divergence (JS)", "value": tvd * tvd / 2.1},
        {"name": "KL", "description": "Kullback-Liebler Divergence (KL)", "value": tvd * tvd * 1.9},
        {"name": "KS", "description": "Kolmogorov-Smirnov Distance (KS)", "value": tvd},
        {"name": "LP", "description": "L-p Norm (LP)", "value": tvd * 2**0.5},
        {"name": "TVD", "description": "Total Variation Distance (TVD)", "value": tvd},
    ]


def _post(shift: float) -> list[dict[str, Any]]:
    names = {
        "AD": "Accuracy Difference (AD)",
        "DAR": "Difference in Acceptance Rates (DAR)",
        "DCA": "Difference in Conditional Acceptance (DCA)",
        "DCR": "Difference in Conditional Rejection (DCR)",
        "DI": "Disparate Impact (DI)",
        "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
        "DRR": "Difference in Rejection Rates (DRR)",
        "FT": "Flip Test (FT)",
        "GE": "Generalized Entropy (GE)",
        "RD": "Recall Difference (RD)",
        "SD": "Specificity Difference (SD)",
        "TE": "Treatment Equality (TE)",
    }
    values: dict[str, Any] = {
        "AD": 0.03 * shift,
        "DAR": -0.05 * shift,
        "DCA": -0.08 * shift,
        "DCR": 0.21 * shift,
        "DI": 1 - 0.16 * shift,
        "DPPL": 0.13 * shift,
        "DRR": 0.02,
        "FT": -0.04 * shift,
        "GE": 0.097,
        "RD": 0.09 * shift,
        "SD": -0.02 * shift,
        "TE": "Infinity",
    }
    out = [
        {
            "name": "CDDPL",
            "description": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
            "value": None,
            "error": "Group variable is empty or not provided",
        }
    ]
    out += [{"name": k, "description": names[k], "value": values[k]} for k in sorted(names)]
    return sorted(out, key=lambda m: m["name"])


def german_credit_analysis() -> dict[str, Any]:
    """analysis.json content shaped like a Clarify run on German credit (pre, post, SHAP, PDP)."""
    shap = dict(zip(FEATURES, [0.021, 0.012, 0.018, 0.034, 0.089, 0.061, 0.055, 0.027, 0.031]))
    return {
        "version": "1.0",
        "post_training_bias_metrics": {
            "label": "risk",
            "facets": {
                "sex": [{"value_or_threshold": "female", "metrics": _post(1.0)}],
                "age": [{"value_or_threshold": "(25, 75]", "metrics": _post(-0.6)}],
            },
            "label_value_or_threshold": "1",
        },
        "pre_training_bias_metrics": {
            "label": "risk",
            "facets": {
                "sex": [{"value_or_threshold": "female", "metrics": _pre(0.0748, 0.38)}],
                "age": [{"value_or_threshold": "(25, 75]", "metrics": _pre(-0.149, -0.62)}],
            },
            "label_value_or_threshold": "1",
        },
        "explanations": {
            "kernel_shap": {"label0": {"global_shap_values": shap, "expected_value": 0.6931}},
            "pdp": [
                {
                    "feature_name": "credit_amount",
                    "data_type": "numerical",
                    "feature_values": [1000.0 + 1800.0 * i for i in range(10)],
                    "data_distribution": [0.26, 0.24, 0.16, 0.11, 0.08, 0.06, 0.04, 0.03, 0.01, 0.01],
                    "model_predictions": [[0.74, 0.73, 0.71, 0.69, 0.66, 0.62, 0.6, 0.57, 0.55, 0.54]],
                    "label_headers": ["label0"],
                },
                {
                    "feature_name": "duration",
                    "data_type": "numerical",
                    "feature_values": [6.0 + 6.6 * i for i in range(10)],
                    "data_distribution": [0.18, 0.3, 0.17, 0.16, 0.05, 0.08, 0.01, 0.03, 0.0, 0.02],
                    "model_predictions": [[0.8, 0.76, 0.71, 0.67, 0.62, 0.6, 0.58, 0.55, 0.54, 0.52]],
                    "label_headers": ["label0"],
                },
            ],
        },
    }


def german_credit_summary(rows: int = 1000) -> dict[str, Any]:
    """The job summary the runner would pass for the German credit example."""
    return {
        "dataset_uri": "file:///data/german_credit.csv",
        "dataset_type": "text/csv",
        "rows": rows,
        "label": "risk",
        "label_values_or_threshold": [1],
        "facets": [
            {"name": "sex", "value_or_threshold": ["female"]},
            {"name": "age", "value_or_threshold": [25]},
        ],
        "endpoint": "http://127.0.0.1:8080 (local xgboost container)",
        "methods": ["pre_training_bias", "post_training_bias", "shap", "pdp", "report"],
        "started_at": "2026-11-22T04:00:00+00:00",
        "elapsed_seconds": 83.4,
        "version": "0.1.0",
    }


def write_local_shap(path: Path, data_csv: Path, rows: int = 300, seed: int = 1) -> Path:
    """An ``out.csv`` with columns ``<feature>_label0`` and values shaped by the real data."""
    rng = np.random.default_rng(seed)
    data = pd.read_csv(data_csv).head(rows)
    out = {}
    for i, feature in enumerate(FEATURES):
        col = data[feature]
        if pd.api.types.is_numeric_dtype(col):
            z = (col - col.mean()) / (col.std() or 1.0)
        else:
            z = col.astype("category").cat.codes.astype(float)
            z = (z - z.mean()) / (z.std() or 1.0)
        out[f"{feature}_label0"] = 0.01 * (i % 4 + 1) * z.to_numpy() + rng.normal(0, 0.004, len(col))
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(out).to_csv(path, index=False)
    return path


def write_baseline(path: Path, data_csv: Path) -> Path:
    """A one-row baseline (column modes/medians of the data), without a header row like Clarify's."""
    data = pd.read_csv(data_csv)[FEATURES]
    row = [
        data[c].median() if pd.api.types.is_numeric_dtype(data[c]) else data[c].mode()[0] for c in FEATURES
    ]
    path.write_text(",".join(str(v) for v in row) + "\n")
    return path
