"""Full enumeration equals brute-force Shapley values; local values add up; the RNG replay."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.explain import default_num_samples, kernel_shap
from analyzer.explain.plan import clarify_plan, resolve_num_samples
from analyzer.explain.sampling import random_coalitions
from tests._explain_helpers import brute_force_shapley, classifier


@pytest.mark.parametrize(("n_features", "n_classes", "n_baseline"), [(4, 2, 3), (7, 3, 2), (10, 2, 4)])
def test_full_enumeration_equals_brute_force(n_features: int, n_classes: int, n_baseline: int) -> None:
    model, X = classifier(n_features, n_classes)
    baseline, records = X[:n_baseline], X[300:303]
    assert 2**n_features - 2 <= default_num_samples(n_features)
    result = kernel_shap(records, baseline, model.predict_proba, seed=None)
    for i, x in enumerate(records):
        np.testing.assert_allclose(
            result.local[i], brute_force_shapley(model.predict_proba, baseline, x), rtol=1e-9, atol=1e-12
        )


def test_local_values_sum_to_prediction_minus_expected_value() -> None:
    model, X = classifier(14, 3)
    baseline, records = X[:5], X[300:304]
    result = kernel_shap(records, baseline, model.predict_proba, num_samples=400, seed=4)
    expected = model.predict_proba(baseline).mean(axis=0)
    np.testing.assert_allclose(result.expected_value, expected, rtol=1e-12)
    np.testing.assert_allclose(result.local.sum(axis=1), result.fx - expected, rtol=1e-9, atol=1e-12)


def test_logit_values_sum_in_log_odds() -> None:
    model, X = classifier(6)
    baseline, records = X[:3], X[300:303]
    result = kernel_shap(records, baseline, model.predict_proba, use_logit=True)
    p = np.clip(model.predict_proba(baseline).mean(axis=0), 1e-15, 1 - 1e-15)
    fx = np.clip(result.fx, 1e-15, 1 - 1e-15)
    np.testing.assert_allclose(result.expected_value, np.log(p / (1 - p)), rtol=1e-12)
    np.testing.assert_allclose(
        result.local.sum(axis=1), np.log(fx / (1 - fx)) - result.expected_value, rtol=1e-9, atol=1e-12
    )


def test_default_num_samples_rule() -> None:
    assert default_num_samples(10) == 1022
    assert default_num_samples(20) == 2088
    assert default_num_samples(11) == 2046
    assert resolve_num_samples(40, None) == 2128
    assert resolve_num_samples(5, 500) == 30


@pytest.mark.parametrize(("n_players", "samples"), [(9, 100), (63, 300), (64, 300), (100, 1000), (130, 50)])
def test_compiled_draws_replay_numpy_legacy_stream(n_players: int, samples: int) -> None:
    """The compiled loop draws what shap's interpreted loop draws and leaves the RNG in the same state."""
    rng_a = np.random.RandomState(123)
    rng_b = np.random.RandomState(123)
    q = np.array([0.5, 0.3, 0.2])
    masks, counts = random_coalitions(rng_a, n_players, samples, 1, 4, q)
    # shap 0.51.0's loop, written out with numpy's own RandomState
    ind_set = rng_b.choice(3, 4 * samples, p=q)
    samples_left, pos = samples, 0
    ref_masks: list[np.ndarray] = []
    ref_counts: list[float] = []
    used: dict[bytes, int] = {}
    while samples_left > 0 and pos < len(ind_set):
        size = ind_set[pos] + 2
        pos += 1
        mask = np.zeros(n_players, dtype=bool)
        mask[rng_b.permutation(n_players)[:size]] = True
        new = mask.tobytes() not in used
        if new:
            used[mask.tobytes()] = len(ref_masks)
            samples_left -= 1
            ref_masks.append(mask)
            ref_counts.append(1.0)
        else:
            ref_counts[used[mask.tobytes()]] += 1.0
        if samples_left > 0 and size <= 4:
            if new:
                samples_left -= 1
                ref_masks.append(~mask)
                ref_counts.append(1.0)
            else:
                ref_counts[used[mask.tobytes()] + 1] += 1.0
    np.testing.assert_array_equal(masks, np.array(ref_masks))
    np.testing.assert_array_equal(counts, np.array(ref_counts))
    assert rng_a.random_sample() == rng_b.random_sample()


def test_plan_is_reproducible_and_weights_sum_to_one() -> None:
    plan_a = clarify_plan(16, None, np.random.RandomState(9))
    plan_b = clarify_plan(16, None, np.random.RandomState(9))
    np.testing.assert_array_equal(plan_a.masks, plan_b.masks)
    assert plan_a.masks.shape == (2 * 16 + 2048, 16)
    assert abs(plan_a.weights.sum() - 1.0) < 1e-12
    assert len({m.tobytes() for m in plan_a.masks[: plan_a.n_added]}) == plan_a.n_added


def test_compiled_row_fill_equals_numpy() -> None:
    """The compiled synthetic-row writers give what np.where / np.copyto give, strided inputs too."""
    from analyzer.explain.rowfill import fill_grid, fill_keys
    from analyzer.explain.synthetic import pack_bits

    rng = np.random.default_rng(1)
    records = np.asfortranarray(rng.normal(size=(3, 70)))  # a record row is then strided
    baseline = rng.normal(size=(4, 70))
    colmask = rng.random((9, 70)) < 0.5
    grid = np.empty((9, 4, 70))
    fill_grid(grid, colmask, records[1], baseline)
    expected = np.where(colmask[:, None, :], records[1][None, None, :], baseline[None])
    np.testing.assert_array_equal(grid, expected)
    rows_b = rng.integers(0, 4, 9)
    out = np.empty((9, 70))
    fill_keys(out, records[2], baseline, rows_b, pack_bits(colmask))
    np.testing.assert_array_equal(out, np.where(colmask, records[2][None, :], baseline[rows_b]))
    as_objects = np.empty((9, 70), dtype=object)  # string features: the numpy path
    fill_keys(as_objects, records[2].astype(object), baseline.astype(object), rows_b, pack_bits(colmask))
    np.testing.assert_array_equal(as_objects.astype(float), out)
