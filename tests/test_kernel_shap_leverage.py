"""The optional leverage estimator (NOT Clarify-identical) reaches equal accuracy with fewer rows."""

from __future__ import annotations

import numpy as np

from analyzer.explain import kernel_shap
from tests._explain_helpers import brute_force_shapley, classifier


def relative_error(estimate: np.ndarray, exact: np.ndarray) -> float:
    """Mean over records of ||phi_hat - phi||^2 / ||phi||^2 (first output)."""
    return float(np.mean(((estimate - exact) ** 2).sum(axis=1) / (exact**2).sum(axis=1)))


def test_leverage_matches_clarify_accuracy_with_half_the_model_rows() -> None:
    model, X = classifier(12, seed=1)

    def predict(rows: np.ndarray) -> np.ndarray:
        return model.predict_proba(rows)[:, 1:]

    baseline, records = X[:5], X[300:306]
    exact = np.stack([brute_force_shapley(predict, baseline, x)[:, 0] for x in records])
    errors: dict[str, list[float]] = {"clarify": [], "leverage": []}
    rows: dict[str, int] = {"clarify": 0, "leverage": 0}
    for seed in range(4):
        for estimator, budget in (("clarify", 512), ("leverage", 256)):
            result = kernel_shap(
                records, baseline, predict, num_samples=budget, seed=seed, estimator=estimator
            )
            errors[estimator].append(relative_error(result.local[:, :, 0], exact))
            rows[estimator] += result.model_rows
            assert result.estimator == estimator
    assert rows["leverage"] < 0.6 * rows["clarify"]
    assert np.mean(errors["leverage"]) <= np.mean(errors["clarify"])


def test_leverage_is_exact_when_everything_is_enumerated() -> None:
    model, X = classifier(6)
    baseline, records = X[:3], X[300:302]
    result = kernel_shap(records, baseline, model.predict_proba, estimator="leverage", seed=0)
    for i, x in enumerate(records):
        np.testing.assert_allclose(
            result.local[i], brute_force_shapley(model.predict_proba, baseline, x), rtol=1e-9, atol=1e-12
        )


def test_leverage_values_add_up() -> None:
    model, X = classifier(14, 3)
    baseline, records = X[:4], X[300:303]
    result = kernel_shap(
        records, baseline, model.predict_proba, num_samples=300, seed=1, estimator="leverage"
    )
    np.testing.assert_allclose(
        result.local.sum(axis=1), result.fx - result.expected_value, rtol=1e-9, atol=1e-12
    )
