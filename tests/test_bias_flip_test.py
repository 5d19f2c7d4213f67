"""FT against smclarify 0.5 on data built to make neighbour ties, wide and narrow.

Every case compares our ``flip_test`` with smclarify's own ``FT`` function bit for bit. The data
sets are chosen so that every scikit-learn code path smclarify can take is exercised (k-d tree,
brute force on floats with either parallel strategy, brute force on integers or booleans), with
duplicated rows and integer-valued features so that many queries have tied neighbours with
different labels; the tests check that such queries really reach the exact fallback.
"""

from __future__ import annotations

import logging
import zlib

import numpy as np
import pandas as pd
import pytest

from analyzer.bias import neighbours, sklearn_knn
from analyzer.bias.flip_test import flip_test

pytest.importorskip("smclarify")
from smclarify.bias.metrics.posttraining import FT  # noqa: E402

logging.getLogger("smclarify").setLevel(logging.CRITICAL)


def _frame(kind: str, n: int, d: int, rng: np.random.Generator) -> pd.DataFrame:
    if kind == "integers":  # few distinct values per column: exact distance ties everywhere
        x: np.ndarray = rng.integers(0, 3, (n, d))
    elif kind == "duplicates":  # every row repeated about ten times, large offsets (brute-force rounding)
        base = rng.normal(size=(max(1, n // 10), d)) * 1_000.0 + 50_000.0
        x = base[rng.integers(0, base.shape[0], n)]
    elif kind == "rounded":
        x = rng.normal(size=(n, d)).round(1)
    elif kind == "booleans":
        x = rng.random((n, d)) < 0.5
    elif kind == "mixed":  # bool + int + float columns: an object matrix that scikit-learn makes float64
        x = np.empty((n, d), dtype=object)
        for j in range(d):
            x[:, j] = [rng.random(n) < 0.5, rng.integers(0, 4, n), rng.normal(size=n).round(1)][j % 3]
        return pd.DataFrame({f"f{j}": pd.Series(x[:, j]).infer_objects() for j in range(d)})
    else:  # continuous, different scales
        x = rng.normal(size=(n, d)) * rng.uniform(0.1, 1e4, d)
    return pd.DataFrame(x, columns=[f"f{j}" for j in range(d)])


def _compare(frame: pd.DataFrame, sensitive: np.ndarray, predicted: np.ndarray, **kwargs: object) -> float:
    want = FT(frame, pd.Series(sensitive), pd.Series(predicted))
    got = flip_test(frame, sensitive, predicted, **kwargs)  # type: ignore[arg-type]
    assert got == want
    return got


@pytest.fixture
def exact_rows(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts, per scikit-learn path, the queries the fast search hands to the exact fallback."""
    seen: dict[str, int] = {}
    original = sklearn_knn.SklearnNeighbours.indices

    def spy(self: sklearn_knn.SklearnNeighbours, rows: np.ndarray) -> np.ndarray:
        seen[self.method] = seen.get(self.method, 0) + len(rows)
        return original(self, rows)

    monkeypatch.setattr(sklearn_knn.SklearnNeighbours, "indices", spy)
    return seen


@pytest.mark.parametrize("kind", ["integers", "duplicates", "rounded", "booleans", "mixed", "scaled"])
@pytest.mark.parametrize("d", [1, 3, 15, 16, 20])
def test_ft_matches_smclarify(kind: str, d: int) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{kind}-{d}".encode()))
    for n, share in [(1_500, 0.4), (400, 0.8), (30, 0.5)]:
        frame = _frame(kind, n, d, rng)
        sensitive = rng.random(n) < share
        predicted = rng.random(n) < 0.5
        _compare(frame, sensitive, predicted, block_rows=int(rng.choice([64, 1000])))


@pytest.mark.parametrize(
    ("kind", "d", "method"),
    [("integers", 3, "kd_tree"), ("duplicates", 20, "argkmin"), ("integers", 20, "chunked")],
)
def test_tied_queries_reach_the_exact_path(
    kind: str, d: int, method: str, exact_rows: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(neighbours, "_tree_is_faster", lambda *args: True)  # the tree path, always
    rng = np.random.default_rng(5)
    frame = _frame(kind, 4_000, d, rng)
    sensitive = rng.random(4_000) < 0.45
    _compare(frame, sensitive, rng.random(4_000) < 0.5, block_rows=500)
    assert exact_rows.get(method, 0) > 0


@pytest.mark.parametrize("n_d", [300, 1_500, 2_600])
def test_both_argkmin_strategies(n_d: int) -> None:
    """Few d rows (parallel_on_Y in scikit-learn's run) and many (parallel_on_X), with ties."""
    rng = np.random.default_rng(n_d)
    n_a = 3_000
    frame = _frame("duplicates", n_a + n_d, 20, rng)
    sensitive = np.zeros(n_a + n_d, dtype=bool)
    sensitive[rng.choice(n_a + n_d, n_d, replace=False)] = True
    _compare(frame, sensitive, rng.random(n_a + n_d) < 0.5)


@pytest.mark.parametrize("tree_wins", [True, False])
def test_probe_outcome_does_not_change_the_value(tree_wins: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(neighbours, "_tree_is_faster", lambda *args: tree_wins)
    rng = np.random.default_rng(9)
    frame = _frame("duplicates", 5_000, 20, rng)
    _compare(frame, rng.random(5_000) < 0.4, rng.random(5_000) < 0.5, block_rows=700)


def test_probe_picks_brute_force_on_isotropic_data() -> None:
    rng = np.random.default_rng(2)
    fit, query = rng.normal(size=(20_000, 20)), rng.normal(size=(3_000, 20))
    exact = sklearn_knn.SklearnNeighbours(fit, query, 5)
    from scipy.spatial import cKDTree

    assert not neighbours._tree_is_faster(cKDTree(fit), query, exact, 5)


def test_band_covers_scikit_learn_rounding() -> None:
    """scikit-learn's brute-force distances stay within delta/2 of ours, on data far from the origin."""
    from sklearn.metrics._pairwise_distances_reduction import ArgKmin

    rng = np.random.default_rng(4)
    fit = rng.normal(size=(3_000, 20)) + 1e6
    query = rng.normal(size=(500, 20)) + 1e6
    dist, ind = ArgKmin.compute(X=query, Y=fit, k=5, metric="euclidean", return_distance=True)
    c = neighbours._candidate_distances(np.ascontiguousarray(query.T), np.ascontiguousarray(fit.T), ind)
    v = c.max(axis=1)
    delta = neighbours._band_width(v, np.linalg.norm(query, axis=1), 20, brute=True)
    assert np.all(np.isfinite(delta))
    gap = np.abs(dist**2 - c) - 8 * neighbours.U * c  # dist is sqrt of sklearn's squared distance
    assert np.all(gap <= delta[:, None] / 2)
    assert np.any(np.abs(dist**2 - c) > 0)  # the rounding is real, not zero


def test_single_class_and_tiny_groups() -> None:
    rng = np.random.default_rng(3)
    frame = _frame("integers", 40, 20, rng)
    sensitive = np.arange(40) < 35  # 5 a rows: k = 1, brute force (k >= n_a // 2)
    _compare(frame, sensitive, rng.random(40) < 0.5)
    _compare(frame, ~sensitive, rng.random(40) < 0.5)
    _compare(frame, rng.random(40) < 0.5, np.ones(40, dtype=bool))


def test_nan_feature_raises_scikit_learns_error() -> None:
    frame = pd.DataFrame({"f0": [1.0, np.nan, 3.0, 4.0], "f1": [1, 2, 3, 4]})
    sensitive = np.array([True, False, True, False])
    with pytest.raises(ValueError) as theirs:
        FT(frame, pd.Series(sensitive), pd.Series([True, False, False, True]))
    with pytest.raises(ValueError) as ours:
        flip_test(frame, sensitive, np.array([True, False, False, True]))
    assert str(ours.value) == str(theirs.value)
