"""The conditioning guard of the Kernel SHAP solve: few coalitions for many features.

AWS's boto3 example notebook explains 14 features against a 1-row baseline with
``num_samples: 15``. shap's unregularised solve (``l1_reg=False``) returns values around 1e26
there; the guard must give values that stay in range and still add up to f(x) - E[f].
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from analyzer.explain import kernel_shap
from analyzer.explain.plan import CoalitionPlan, clarify_plan
from analyzer.explain.solver import (
    REASON_ILL_CONDITIONED,
    REASON_OUT_OF_RANGE,
    SolveReport,
    _guarded_phi,
    link,
    solve_record,
)
from tests._explain_helpers import classifier, shap_reference

BOTO3_CONFIG = (
    Path(__file__).parent
    / "fixtures/clarify_examples/analysis_config/real"
    / "real_examples_repo__boto3_notebook__explainability_analysis_config.json"
)


@lru_cache(maxsize=1)
def adult_like_model() -> tuple[xgb.Booster, np.ndarray]:
    """A binary:logistic XGBoost model on synthetic rows shaped like the label-encoded adult data."""
    rng = np.random.default_rng(0)
    n = 3000
    X = np.column_stack(
        [
            rng.integers(17, 90, n),  # Age
            rng.integers(0, 7, n),  # Workclass
            rng.integers(12_000, 1_500_000, n),  # fnlwgt
            rng.integers(0, 16, n),  # Education
            rng.integers(1, 17, n),  # Education-Num
            rng.integers(0, 7, n),  # Marital Status
            rng.integers(0, 14, n),  # Occupation
            rng.integers(0, 6, n),  # Relationship
            rng.integers(0, 5, n),  # Ethnic group
            rng.integers(0, 2, n),  # Sex
            np.where(rng.random(n) < 0.1, rng.integers(0, 99_999, n), 0),  # Capital Gain
            np.where(rng.random(n) < 0.05, rng.integers(0, 4_356, n), 0),  # Capital Loss
            rng.integers(1, 99, n),  # Hours per week
            rng.integers(0, 41, n),  # Country
        ]
    ).astype(np.float64)
    score = 0.05 * (X[:, 0] - 40) + 0.4 * (X[:, 4] - 10) + 1.2 * X[:, 9] + X[:, 10] / 5000 - 2
    y = (rng.random(n) < 1 / (1 + np.exp(-score))).astype(float)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 0},
        xgb.DMatrix(X, label=y),
        num_boost_round=40,
    )
    return booster, X


def predict(rows: np.ndarray) -> np.ndarray:
    booster, _ = adult_like_model()
    return booster.predict(xgb.DMatrix(np.asarray(rows, dtype=np.float64)))


def boto3_shap_config() -> tuple[np.ndarray, int]:
    shap_cfg = json.loads(BOTO3_CONFIG.read_text())["methods"]["shap"]
    return np.asarray(shap_cfg["baseline"], dtype=np.float64), int(shap_cfg["num_samples"])


def test_boto3_notebook_config_gives_sane_values_that_add_up(caplog: pytest.LogCaptureFixture) -> None:
    baseline, num_samples = boto3_shap_config()
    assert baseline.shape == (1, 14) and num_samples == 15
    _, X = adult_like_model()
    records = X[:60]
    with caplog.at_level(logging.WARNING, logger="analyzer.explain.kernel_shap"):
        result = kernel_shap(records, baseline, predict, num_samples=num_samples, seed=0)
    local = result.local[:, :, 0]
    assert np.all(np.isfinite(local))
    assert np.abs(local).max() <= 1.0  # a probability model
    gap = result.fx[:, 0] - result.expected_value[0]
    np.testing.assert_allclose(local.sum(axis=1), gap, rtol=0, atol=1e-9)
    global_values = np.abs(local).mean(axis=0)
    assert global_values.max() < 0.5
    report = result.solve_report
    assert report.records == len(records)
    assert report.guarded == len(records)
    assert report.max_players == 14 and report.min_coalitions == 15
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "unstable for 60 of 60 records" in m and "raise methods.shap.num_samples (at least 30" in m
        for m in messages
    ), messages


def test_shap_leaves_the_range_where_the_guard_does_not() -> None:
    """shap's l1_reg=False values on that config: mostly its own lstsq fallback, sometimes wild.

    Where shap's ``np.linalg.solve`` raised, shap used the minimum-norm ``lstsq`` solution, which
    is what the guard computes; where the singular system slipped through ``solve``, shap
    returns values far outside [-1, 1] (5.0 and 5e15 among these 60 records).
    """
    baseline, num_samples = boto3_shap_config()
    _, X = adult_like_model()
    records = X[:60]
    ref, _ = shap_reference(predict, baseline, records, nsamples=num_samples, seed=0)
    ours = kernel_shap(records, baseline, predict, num_samples=num_samples, seed=0).local[:, :, 0]
    assert np.abs(ref).max() > 1e3
    assert np.abs(ours).max() <= 1.0
    same = np.all(np.abs(ours - ref) < 1e-9, axis=1)
    assert same.sum() >= len(records) // 2


def test_guarded_solve_is_the_minimum_norm_solution_of_the_eliminated_system() -> None:
    """Rank-deficient case: the guard's values equal lstsq's minimum-norm solution."""
    baseline, num_samples = boto3_shap_config()
    _, X = adult_like_model()
    x = X[5]
    plan = clarify_plan(14, num_samples, np.random.RandomState(3))
    masks = plan.masks[: plan.n_added].astype(bool)
    rows = np.where(masks, x, baseline[0])
    ey = np.zeros((len(plan.weights), 1))
    ey[: plan.n_added, 0] = predict(rows)
    fx = predict(x[None, :])
    fnull = predict(baseline)
    report = SolveReport()
    phi = solve_record(plan, ey, fx, fnull, False, report)[:, 0]
    assert report.guarded == 1 and report.reasons[REASON_ILL_CONDITIONED] == 1

    delta = fx[0] - fnull[0]
    z = plan.masks[: plan.n_added]
    sqrt_w = np.sqrt(plan.weights[: plan.n_added])
    design = sqrt_w[:, None] * (z[:, :-1] - z[:, [-1]])
    y = ey[: plan.n_added, 0] - fnull[0] - z[:, -1] * delta
    minimum_norm = np.linalg.lstsq(design, sqrt_w * y, rcond=1e-6)[0]
    expected = np.append(minimum_norm, delta - minimum_norm.sum())
    expected[np.abs(expected) < 1e-10] = 0
    np.testing.assert_allclose(phi, expected, rtol=1e-9, atol=1e-15)
    assert phi.sum() == pytest.approx(delta, abs=1e-12)


def test_out_of_range_solution_is_truncated_until_in_range() -> None:
    """A full-rank but nearly collinear system: the guard drops singular values until in range."""
    rng = np.random.default_rng(1)
    base = rng.normal(size=(40, 1))
    design = np.hstack([base, base + 1e-4 * rng.normal(size=(40, 1)), rng.normal(size=(40, 2))])
    sqrt_w = np.ones(40)
    y = rng.normal(size=40)
    unguarded = np.linalg.lstsq(design, y, rcond=None)[0]
    bound = 3.0
    assert np.abs(np.append(unguarded, 0.5 - unguarded.sum())).max() > bound
    phi = _guarded_phi(design, sqrt_w, y, 0.5, bound)
    assert np.abs(phi).max() <= bound
    assert phi.sum() == pytest.approx(0.5, abs=1e-12)


def test_out_of_range_reason_is_reported_for_a_well_conditioned_but_wild_solve() -> None:
    """Full rank, yet the values leave the observed range: counted as out of range, kept in range."""
    n_players = 3
    masks = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1], [0, 1, 0]], dtype=float)
    plan = CoalitionPlan(masks=masks, weights=np.array([0.09, 0.006, 0.386, 0.006]), n_added=4)
    ey = np.array([[0.7], [0.6], [0.6], [0.9]])
    fx, fnull = np.array([0.2]), np.array([0.0])
    etmp = masks[:, :2] - masks[:, [2]]
    w = np.linalg.solve(etmp.T @ (plan.weights[:, None] * etmp), (plan.weights[:, None] * etmp).T @ ey[:, 0])
    assert np.abs(np.append(w, 0.2 - w.sum())).max() > 0.9  # shap's value leaves the observed range
    report = SolveReport()
    phi = solve_record(plan, ey, fx, fnull, False, report)[:, 0]
    assert report.guarded == 1 and report.reasons[REASON_OUT_OF_RANGE] == 1
    assert np.abs(phi).max() <= 0.9 * (1 + 1e-9)
    assert phi.sum() == pytest.approx(0.2, abs=1e-12)
    assert phi.shape == (n_players,)


def test_logit_link_guarded_values_add_up_in_log_odds() -> None:
    baseline, num_samples = boto3_shap_config()
    _, X = adult_like_model()
    records = X[100:120]
    result = kernel_shap(records, baseline, predict, num_samples=num_samples, seed=1, use_logit=True)
    gap = link(result.fx[:, 0], True) - result.expected_value[0]
    np.testing.assert_allclose(result.local[:, :, 0].sum(axis=1), gap, rtol=0, atol=1e-9)
    assert result.solve_report.guarded == len(records)


def test_well_conditioned_records_are_not_guarded() -> None:
    model, X = classifier(12)
    result = kernel_shap(X[200:204], X[:3], model.predict_proba, num_samples=500, seed=2)
    assert result.solve_report.records == 4
    assert result.solve_report.guarded == 0
    assert result.solve_report.message() is None
