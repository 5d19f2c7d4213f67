"""Exact k-nearest-neighbour majority votes, as smclarify's ``KNeighborsClassifier`` gives them.

FT needs, for each facet-d row, the majority predicted label of its k nearest facet-a rows.
scikit-learn answers that by brute force above 15 features (every d row against every a row),
which grows with n_a x n_d. Here a k-d tree (``scipy.spatial.cKDTree``, queries spread over the
cores) finds each query's candidates, and a certificate decides whether the vote is already
fixed whatever scikit-learn's rounding and tie-breaking do:

1. The candidates' squared distances ``c`` are recomputed as scikit-learn's k-d tree does
   (sequential sum of squared differences). ``v`` is the k-th smallest.
2. ``delta`` bounds how far scikit-learn's own distance for a pair can be from ``c``: a few ulps
   of ``c`` in k-d tree mode, plus the rounding of ``|x|^2 - 2 x.y + |y|^2`` in brute mode
   (``(d + 4) u (|x| + |y|)^2``, u = 2^-53; |y| is bounded by |x| + the band radius).
3. Rows with ``c < v - delta`` are among scikit-learn's k neighbours whatever the rounding; rows
   with ``c > v + delta`` are not; rows in between form the band, from which scikit-learn takes
   the rest by its own tie-breaking. The tree must have returned the whole band (its last
   returned distance lies beyond ``v + delta``); otherwise the query is asked again with more
   neighbours.
4. If every way of filling the band from its labels gives the same majority, that is the vote.
   Otherwise (ties or near-ties with mixed labels at the k-th place) the query goes to
   :class:`~analyzer.bias.sklearn_knn.SklearnNeighbours`, which reruns scikit-learn's own
   computation for the chunk that query sat in.

On isotropic data with many features a k-d tree visits most of the fit set; a probe on a few
hundred queries times the tree against scikit-learn's brute force and, when the tree is not
faster, the whole computation is scikit-learn's own (values identical either way).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from analyzer.bias.sklearn_knn import SklearnNeighbours

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

U = 2.0**-53  # unit roundoff of float64
BLOCK_ROWS = 16384  # queries per tree call: memory is O(BLOCK_ROWS x k x features)
PROBE_ROWS = 256  # queries timed when choosing between the tree and brute force (one sklearn chunk)
PROBE_FIT_ROWS = 32768  # fit rows the brute-force probe runs against
ESCALATE = (32, 256)  # neighbours asked for, in turn, when the band did not fit in the first answer


def _candidate_distances(query_t: np.ndarray, fit_t: np.ndarray, ind: np.ndarray) -> np.ndarray:
    """Squared distances query[i] - fit[ind[i, j]], summed feature by feature like scikit-learn's rdist.

    ``query_t`` and ``fit_t`` are the transposed (feature-major) matrices, so each feature's
    gather is contiguous; the sum runs over features in order, without fused multiply-adds.
    """
    acc = np.zeros(ind.shape, dtype=np.float64)
    for j in range(fit_t.shape[0]):
        t = query_t[j][:, None] - fit_t[j][ind]
        acc += t * t
    return acc


def _band_width(v: np.ndarray, query_norm: np.ndarray, n_features: int, brute: bool) -> np.ndarray:
    """delta: twice the largest |sklearn distance - c| over rows within v + delta of the query."""
    kappa = 4.0 * (n_features + 4) * U * (1.0 + 1e-9)
    if not brute:
        return v * (kappa / (1.0 - kappa))  # delta = kappa (v + delta)

    def bound(delta: np.ndarray) -> np.ndarray:
        reach = np.sqrt(v + delta) * (1.0 + 1e-9)
        return kappa * ((2.0 * query_norm + reach) ** 2 + v + delta)

    delta = np.zeros_like(v)
    for _ in range(4):
        delta = bound(delta)
    delta *= 2.0
    # the fixed point is reached long before; a row where it is not is left to scikit-learn
    return np.where(bound(delta) <= delta, delta, np.inf)


def _votes(
    query_t: np.ndarray,
    fit_t: np.ndarray,
    labels: np.ndarray,
    ind: np.ndarray,
    tree_dist: np.ndarray,
    k: int,
    brute: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vote, settled, band_complete) per query from its tree candidates (see the module docstring)."""
    (n_features, n_fit), m = fit_t.shape, ind.shape[1]
    c = _candidate_distances(query_t, fit_t, ind)
    v = np.partition(c, k - 1, axis=1)[:, k - 1]
    query_norm = np.sqrt(np.einsum("ji,ji->i", query_t, query_t)) * (1.0 + 1e-12)
    delta = _band_width(v, query_norm, n_features, brute)
    slack = 8.0 * (n_features + 4) * U + 1e-15
    if m >= n_fit:
        complete = np.ones(v.shape, dtype=bool)
        v_low = v
    else:
        last = tree_dist[:, -1] ** 2 * (1.0 - slack)
        complete = last > v + delta
        v_low = np.minimum(v, last)  # an unreturned row may be the k-th when the band is cut off
    lab = labels[ind]
    certain = c < (v_low - delta)[:, None]
    band = ~certain & (c <= (v + delta)[:, None])
    in_sure = certain.sum(axis=1)
    pos_sure = (certain & lab).sum(axis=1)
    band_pos = (band & lab).sum(axis=1)
    band_neg = (band & ~lab).sum(axis=1)
    rest = k - in_sure
    low = pos_sure + np.where(complete, np.maximum(0, rest - band_neg), 0)
    high = pos_sure + np.where(complete, np.minimum(rest, band_pos), rest)
    vote_low, vote_high = 2 * low > k, 2 * high > k
    return vote_low, vote_low == vote_high, complete


def _tree_is_faster(tree: cKDTree, query: np.ndarray, exact: SklearnNeighbours, k: int) -> bool:
    """Whether the tree answers a sample of queries faster than scikit-learn's brute force would.

    Brute force is timed on one chunk of queries against part of the fit set and scaled to all
    of it (its cost is linear in the fit rows); the tree then gets at most that much time for the
    same queries, so the probe never costs more than twice a brute-force chunk.
    """
    from sklearn.metrics._pairwise_distances_reduction import ArgKmin

    n_d, n_a = query.shape[0], exact.fit_x.shape[0]
    sample = np.ascontiguousarray(query[np.linspace(0, n_d - 1, min(n_d, PROBE_ROWS)).astype(np.intp)])
    part = np.ascontiguousarray(exact.fit_x[: min(n_a, PROBE_FIT_ROWS)], dtype=np.float64)
    start = time.perf_counter()
    ArgKmin.compute(X=sample, Y=part, k=min(k, part.shape[0]), metric="euclidean", strategy="parallel_on_X")
    budget = (time.perf_counter() - start) * n_a / part.shape[0]
    start = time.perf_counter()
    for first in range(0, sample.shape[0], 8):
        tree.query(sample[first : first + 8], k=min(n_a, k + 1), workers=1)
        if time.perf_counter() - start > budget:
            return False
    return True


def knn_votes(
    fit_x: np.ndarray,
    labels: np.ndarray,
    query_x: np.ndarray,
    k: int,
    *,
    n_jobs: int | None = -1,
    block_rows: int = BLOCK_ROWS,
) -> np.ndarray:
    """Majority of ``labels`` over each query row's k nearest ``fit_x`` rows, as smclarify's kNN gives it.

    ``fit_x`` is a :func:`~analyzer.bias.sklearn_knn.validated` array, ``query_x`` the query rows
    as smclarify holds them (see :class:`~analyzer.bias.sklearn_knn.SklearnNeighbours`), both
    finite; ``labels`` is boolean. ``n_jobs`` is the number of threads for the tree queries
    (-1: all cores). Memory beyond the tree is bounded by ``block_rows`` queries at a time.
    """
    from scipy.spatial import cKDTree

    labels = np.asarray(labels, dtype=bool)
    n_d = query_x.shape[0]
    if labels.all() or not labels.any():  # one class: every prediction is that class
        return np.full(n_d, bool(labels[0]))
    exact = SklearnNeighbours(fit_x, query_x, k)
    brute = exact.method != "kd_tree"
    if brute and n_d <= PROBE_ROWS:  # one brute-force chunk: nothing to gain
        return labels[exact.all_indices(block_rows)].sum(axis=1) * 2 > k
    fit = np.ascontiguousarray(fit_x, dtype=np.float64)
    query = np.ascontiguousarray(query_x, dtype=np.float64)
    n_fit = fit.shape[0]
    tree = cKDTree(fit)
    if brute and not _tree_is_faster(tree, query, exact, k):
        return labels[exact.all_indices(block_rows)].sum(axis=1) * 2 > k
    fit_t, query_t = np.ascontiguousarray(fit.T), np.ascontiguousarray(query.T)
    workers = -1 if n_jobs is None or n_jobs < 0 else max(1, n_jobs)
    votes = np.zeros(n_d, dtype=bool)
    unsettled: list[np.ndarray] = []
    for start in range(0, n_d, block_rows):
        rows = np.arange(start, min(n_d, start + block_rows))
        for depth, m in enumerate((k + 1, *ESCALATE)):
            m = min(n_fit, m)
            dist, ind = tree.query(query[rows], k=m, workers=workers)
            dist, ind = dist.reshape(rows.shape[0], m), ind.reshape(rows.shape[0], m)
            vote, settled, complete = _votes(query_t[:, rows], fit_t, labels, ind, dist, k, brute)
            votes[rows[settled]] = vote[settled]
            unsettled.append(rows[~settled & complete])
            rows = rows[~settled & ~complete]
            if rows.shape[0] == 0:
                break
            if m == n_fit or depth == len(ESCALATE):
                unsettled.append(rows)
                break
    left = np.sort(np.concatenate(unsettled)) if unsettled else np.empty(0, dtype=np.intp)
    if left.shape[0]:
        votes[left] = labels[exact.indices(left)].sum(axis=1) * 2 > k
    return votes
