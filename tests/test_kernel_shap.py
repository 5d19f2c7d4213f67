"""Kernel SHAP ("clarify" estimator) against shap.KernelExplainer itself, in process."""

from __future__ import annotations

import numpy as np
import pytest
from shap.utils._legacy import DenseData

from analyzer.explain import kernel_shap
from tests._explain_helpers import classifier, frame_predict, german_credit_model, shap_reference

RTOL = 1e-12


def assert_same(ours: np.ndarray, ref: np.ndarray) -> None:
    """Equal to 1e-12 relative (bit-identical in practice with tree models)."""
    scale = max(float(np.abs(ref).max()), 1e-300)
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=RTOL * scale)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("n_baseline", [1, 10])
@pytest.mark.parametrize("link", ["identity", "logit"])
@pytest.mark.parametrize("nsamples", ["auto", 500, 2048])
def test_matches_shap_kernel_explainer(
    nsamples: int | str, link: str, n_baseline: int, n_classes: int
) -> None:
    model, X = classifier(12, n_classes)
    baseline, records = X[:n_baseline], X[200:203]
    ref, ref_expected = shap_reference(
        model.predict_proba, baseline, records, nsamples=nsamples, link=link, seed=11
    )
    result = kernel_shap(
        records,
        baseline,
        model.predict_proba,
        num_samples=None if nsamples == "auto" else nsamples,
        seed=11,
        use_logit=link == "logit",
    )
    assert result.local.shape == (3, 12, n_classes)
    assert_same(result.local, ref)
    assert_same(result.expected_value, ref_expected)
    np.testing.assert_array_equal(result.fx, model.predict_proba(records))


def test_seed_stream_continues_across_records_and_blocks() -> None:
    """Tiny blocks (one record per model call) give the same values as one big block."""
    model, X = classifier(12)
    baseline, records = X[:4], X[200:206]
    ref, _ = shap_reference(model.predict_proba, baseline, records, nsamples=300, seed=5)
    calls: list[int] = []

    def predict(rows: np.ndarray) -> np.ndarray:
        calls.append(len(rows))
        return model.predict_proba(rows)

    result = kernel_shap(records, baseline, predict, num_samples=300, seed=5, max_rows_per_call=1)
    assert_same(result.local, ref)
    assert len(calls) == 1 + len(records)


def test_string_features_match_shap(german_credit_csv) -> None:
    """Object arrays (German credit's string columns): shap's exact-equality varying test."""
    pipe, X = german_credit_model(str(german_credit_csv))
    predict = frame_predict(pipe, list(X.columns))
    data = X.to_numpy(dtype=object)
    baseline, records = data[:6], data[100:108]
    for nsamples in ("auto", 120):
        ref, expected = shap_reference(predict, baseline, records, nsamples=nsamples, seed=3)
        result = kernel_shap(
            records, baseline, predict, num_samples=None if nsamples == "auto" else nsamples, seed=3
        )
        assert_same(result.local, ref)
        assert_same(result.expected_value, expected)


def test_identical_synthetic_rows_are_sent_once(german_credit_csv) -> None:
    pipe, X = german_credit_model(str(german_credit_csv))
    inner = frame_predict(pipe, list(X.columns))
    sent: list[np.ndarray] = []

    def predict(rows: np.ndarray) -> np.ndarray:
        sent.append(rows)
        return inner(rows)

    data = X.drop_duplicates().to_numpy(dtype=object)
    baseline, records = data[:5], data[200:215]
    result = kernel_shap(records, baseline, predict, seed=1, max_rows_per_call=4000)
    keys = [tuple((type(v).__name__, v) for v in row) for rows in sent for row in rows]
    assert len(keys) == len(set(keys)) == result.model_rows
    naive = len(records) * len(baseline) * (2**9 - 2) + len(records) + len(baseline)
    assert result.model_rows < naive / 2


def test_features_to_explain_matches_shap_feature_groups() -> None:
    """The other features form one player; equal to shap with the same grouping."""
    model, X = classifier(12)
    baseline, records = X[:3], X[200:204]
    explained = [4, 0, 7]
    rest = [j for j in range(12) if j not in explained]
    groups = [np.array([j]) for j in explained] + [np.array(rest)]
    data = DenseData(baseline.copy(), [str(j) for j in explained] + ["rest"], groups)
    ref, _ = shap_reference(model.predict_proba, data, records, seed=2)
    result = kernel_shap(records, baseline, model.predict_proba, seed=2, features_to_explain=explained)
    assert result.local.shape == (4, 3, 2)
    assert result.features == explained
    assert_same(result.local, ref[:, :3, :])


def test_non_varying_features_get_zero_and_single_feature_gets_all() -> None:
    model, X = classifier(12)
    baseline = X[:2].copy()
    same = baseline[0].copy()
    baseline[1] = same
    one_diff = same.copy()
    one_diff[3] += 1.0
    records = np.stack([same, one_diff, X[250]])
    ref, _ = shap_reference(model.predict_proba, baseline, records, seed=0)
    result = kernel_shap(records, baseline, model.predict_proba, seed=0)
    assert_same(result.local, ref)
    assert not result.local[0].any()
    assert np.count_nonzero(result.local[1].any(axis=1)) <= 1


def test_rejects_bad_arguments() -> None:

    model, X = classifier(12)
    with pytest.raises(ValueError, match="num_samples"):
        kernel_shap(X[:2], X[:1], model.predict_proba, num_samples=0)
    with pytest.raises(ValueError, match="estimator"):
        kernel_shap(X[:2], X[:1], model.predict_proba, estimator="magic")
    with pytest.raises(ValueError, match="features_to_explain"):
        kernel_shap(X[:2], X[:1], model.predict_proba, features_to_explain=[12])


def test_repeated_record_and_progress_reporting(german_credit_csv) -> None:
    pipe, X = german_credit_model(str(german_credit_csv))
    predict = frame_predict(pipe, list(X.columns))
    data = X.to_numpy(dtype=object)
    baseline = data[:3]
    records = np.stack([data[50], data[50], data[51]])
    ref, _ = shap_reference(predict, baseline, records, nsamples=60, seed=8)
    calls: list[int] = []
    seen: list[tuple[int, int]] = []

    def counting(rows: np.ndarray) -> np.ndarray:
        calls.append(len(rows))
        return predict(rows)

    result = kernel_shap(
        records,
        baseline,
        counting,
        num_samples=60,
        seed=8,
        max_rows_per_call=1,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert_same(result.local, ref)
    assert seen[-1] == (3, 3)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert result.model_rows == sum(calls)
    assert result.model_rows < 2 * len(baseline) * 60  # the repeated record reuses rows


@pytest.mark.parametrize(("n_features", "nsamples"), [(63, 200), (64, "auto"), (100, "auto"), (100, 300)])
def test_many_features_match_shap(n_features: int, nsamples: int | str) -> None:
    """Coalitions wider than one 64-bit word: the compiled sampler and the row deduplication.

    Enough coalitions that every solve is well-conditioned (fewer, e.g. 80 for 63 players, hand
    the records to the conditioning guard; see test_kernel_shap_conditioning.py)."""
    model, X = classifier(n_features, 3)
    baseline, records = X[:2], X[200:202]
    ref, _ = shap_reference(model.predict_proba, baseline, records, nsamples=nsamples, seed=6)
    result = kernel_shap(
        records, baseline, model.predict_proba, num_samples=None if nsamples == "auto" else nsamples, seed=6
    )
    assert result.solve_report.guarded == 0
    assert_same(result.local, ref)


def test_wide_rows_with_repeated_values_are_sent_once() -> None:
    """100 columns: a synthetic row is sent once per baseline row it comes from, past 64 columns too."""
    model, _ = classifier(100, 2)
    # baseline row b holds the value b in every column; the record takes values 0..2, so it
    # equals each baseline row in about a third of the columns
    baseline = np.repeat(np.arange(3.0)[:, None], 100, axis=1)
    records = np.random.default_rng(0).integers(0, 3, (2, 100)).astype(np.float64)
    sent: list[np.ndarray] = []

    def predict(rows: np.ndarray) -> np.ndarray:
        sent.append(rows)
        return model.predict_proba(rows)

    ref, _ = shap_reference(model.predict_proba, baseline, records, nsamples=400, seed=3)
    result = kernel_shap(records, baseline, predict, num_samples=400, seed=3, max_rows_per_call=1)
    assert_same(result.local, ref)
    assert len(sent) == 3  # the first call, then one block per record
    for record, rows in zip(records, sent[1:], strict=True):
        # the baseline row a synthetic row comes from: its value where it differs from the record
        # (a row equal to the record can come from any baseline row)
        differs = rows != record
        source = np.where(differs.any(axis=1), rows[np.arange(len(rows)), differs.argmax(axis=1)], -1)
        for b in range(3):
            mine = rows[source == b]
            assert len(np.unique(mine, axis=0)) == len(mine)
        assert len(rows) < 0.95 * len(baseline) * 400  # rows equal to a baseline row or repeated: not sent


def test_records_split_over_blocks_bound_memory() -> None:
    """A block holds at most max_block_bytes of rows: records are split and the values unchanged."""
    model, X = classifier(100, 3)
    baseline, records = X[:5], X[200:204]
    ref, _ = shap_reference(model.predict_proba, baseline, records, nsamples=500, seed=4)
    calls: list[int] = []

    def predict(rows: np.ndarray) -> np.ndarray:
        calls.append(len(rows))
        return model.predict_proba(rows)

    block_bytes = 700 * 100 * 8  # 700 rows of 100 features: a record (500 x 5 rows) spans several blocks
    result = kernel_shap(records, baseline, predict, num_samples=500, seed=4, max_block_bytes=block_bytes)
    assert_same(result.local, ref)
    assert max(calls[1:]) <= 700 + len(baseline)
    assert len(calls) > 1 + 2 * len(records)


def test_split_records_with_rows_shared_across_blocks(german_credit_csv) -> None:
    """String features (rows deduplicated across records and blocks) with records split over blocks."""
    pipe, X = german_credit_model(str(german_credit_csv))
    predict = frame_predict(pipe, list(X.columns))
    data = X.to_numpy(dtype=object)
    baseline, records = data[:4], data[100:104]
    ref, _ = shap_reference(predict, baseline, records, nsamples=150, seed=7)
    block_bytes = 90 * 8 * data.shape[1]  # 90 rows: each record (150 x 4 rows) spans several blocks
    result = kernel_shap(records, baseline, predict, num_samples=150, seed=7, max_block_bytes=block_bytes)
    assert_same(result.local, ref)
