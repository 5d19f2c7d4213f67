"""The neighbours scikit-learn's ``KNeighborsClassifier`` picks when smclarify 0.5 runs FT.

smclarify fits ``KNeighborsClassifier(n_neighbors=k)`` (algorithm "auto") on the facet-a rows
and calls ``predict`` with the facet-d rows **as a Python list**. That list is what decides the
code path inside scikit-learn, and so how distance ties are broken:

* ``kd_tree`` (at most 15 features and ``k < n_a // 2``): ``KDTree.query``, one query at a time;
  distances are the sequential sum of squared differences.
* ``brute`` with float rows (``argkmin``): ``ArgKmin`` with the squared-norm decomposition
  ``|x|^2 - 2 x.y + |y|^2`` (BLAS ``dgemm`` on 256 x 256 chunks) and a bounded max-heap per
  query; the parallel strategy is chosen from the number of queries. Ties go to whichever
  element the heap kept, and the ``dgemm`` rounding depends on the chunk a query sits in.
* ``brute`` with any other rows (``chunked``): ``pairwise_distances_chunked`` with the same
  decomposition through numpy, then ``np.argpartition`` per row. That covers integer and
  boolean features, and also mixed bool/number columns: their rows are object arrays, which
  scikit-learn turns into float64 for the fitted side but leaves as objects when the query
  arrives as a list, so ``ArgKmin`` (which wants both sides float) is not used.

:class:`SklearnNeighbours` reruns exactly that computation for any subset of the queries. It
keeps the chunk a query belonged to in the full run (a run of whole chunks is recomputed, never
a lone row) and forces the parallel strategy the full run would have used, so the rounding and
the heap history are the same as in smclarify's own call. This is the slow, exact path: the fast
search in :mod:`analyzer.bias.neighbours` only sends it the queries whose vote it cannot settle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from sklearn.neighbors import NearestNeighbors

Method = Literal["kd_tree", "argkmin", "chunked"]

# How many query rows one call recomputes at most (whole chunks are kept together).
MAX_RUN_ROWS = 8192


def sklearn_method(n_fit: int, n_features: int, k: int, query_dtype: np.dtype) -> Method:
    """The search smclarify's ``KNeighborsClassifier`` runs, given the dtype of its query rows."""
    if n_features > 15 or k >= n_fit // 2:
        return "argkmin" if query_dtype in (np.float32, np.float64) else "chunked"
    return "kd_tree"


def validated(matrix: np.ndarray) -> np.ndarray:
    """The array scikit-learn works on (``check_array(dtype="numeric", order="C")``).

    An object array (mixed bool and number columns) becomes float64; other dtypes are kept.
    """
    arr = np.asarray(matrix)
    if arr.dtype == object:
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


class SklearnNeighbours:
    """Neighbour indices of query rows exactly as smclarify's full ``predict`` call finds them.

    ``fit_x`` (facet a) is the :func:`validated` array, ``query_x`` (facet d) the rows as
    smclarify holds them (``np.array(df)``: object when bool and number columns mix); ``k``
    is FT's neighbour count. :meth:`indices` recomputes whole chunks of the original call, so
    the neighbours of a row do not depend on which other rows are asked for.
    """

    def __init__(self, fit_x: np.ndarray, query_x: np.ndarray, k: int) -> None:
        self.fit_x = fit_x
        self.query_x = query_x
        self.k = k
        self.method = sklearn_method(fit_x.shape[0], fit_x.shape[1], k, query_x.dtype)
        self._estimator: NearestNeighbors | None = None
        self._layout: tuple[int, str] | None = None

    @property
    def chunk(self) -> int:
        """Query rows per chunk of smclarify's call (1 for the k-d tree: queries are independent)."""
        return self._chunking()[0]

    @property
    def strategy(self) -> str:
        """ArgKmin's parallel strategy in smclarify's call ("" outside the argkmin path)."""
        return self._chunking()[1]

    def _chunking(self) -> tuple[int, str]:
        if self._layout is not None:
            return self._layout
        n_a, n_d = self.fit_x.shape[0], self.query_x.shape[0]
        chunk, strategy = 1, ""
        if self.method == "argkmin":
            from sklearn import get_config
            from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

            chunk = int(get_config().get("pairwise_dist_chunk_size", 256))
            # ArgKmin's "auto" rule, evaluated for the full query set of smclarify's call
            threads = _openmp_effective_n_threads()
            on_x = n_a < n_d or 4 * chunk * threads < n_d
            strategy = "parallel_on_X" if on_x else "parallel_on_Y"
        elif self.method == "chunked":
            from sklearn.utils._chunking import get_chunk_n_rows

            chunk = int(get_chunk_n_rows(row_bytes=8 * n_a, max_n_rows=max(n_d, 1)))
        self._layout = (chunk, strategy)
        return self._layout

    def _neighbours(self) -> NearestNeighbors:
        if self._estimator is None:
            from sklearn.neighbors import NearestNeighbors

            algorithm = "kd_tree" if self.method == "kd_tree" else "brute"
            # n_jobs only splits kd-tree queries across threads (each query is independent);
            # the chunked path must run in-process, as smclarify's (n_jobs=None) does
            n_jobs = -1 if self.method == "kd_tree" else None
            self._estimator = NearestNeighbors(
                n_neighbors=self.k, algorithm=algorithm, leaf_size=30, n_jobs=n_jobs
            ).fit(self.fit_x)
        return self._estimator

    def _run(self, start: int, stop: int) -> np.ndarray:
        """Neighbour indices of query rows start..stop (chunk-aligned unless kd_tree)."""
        rows = self.query_x[start:stop]
        if self.method == "argkmin":
            from sklearn.metrics._pairwise_distances_reduction import ArgKmin

            return np.asarray(
                ArgKmin.compute(
                    X=rows,
                    Y=self.fit_x,
                    k=self.k,
                    metric="euclidean",
                    metric_kwargs={},
                    strategy=self.strategy,
                    return_distance=False,
                )
            )
        # a list, as smclarify passes it: scikit-learn then keeps object rows as objects
        return np.asarray(self._neighbours().kneighbors(list(rows), return_distance=False))

    def indices(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), k) neighbour indices into ``fit_x`` for the sorted, unique query ``rows``."""
        rows = np.asarray(rows, dtype=np.intp)
        out = np.empty((rows.shape[0], self.k), dtype=np.intp)
        if rows.shape[0] == 0:
            return out
        if self.method == "kd_tree":
            for start in range(0, rows.shape[0], MAX_RUN_ROWS):
                part = rows[start : start + MAX_RUN_ROWS]
                out[start : start + part.shape[0]] = self._neighbours().kneighbors(
                    list(self.query_x[part]), return_distance=False
                )
            return out
        n_d, chunk = self.query_x.shape[0], self.chunk
        chunks = np.unique(rows // chunk)
        per_run = max(1, MAX_RUN_ROWS // chunk)
        # consecutive chunks form one call (up to MAX_RUN_ROWS rows), each starting on a chunk edge
        breaks = np.flatnonzero(np.diff(chunks) != 1) + 1
        for group in np.split(chunks, breaks):
            for first in range(0, group.shape[0], per_run):
                ids = group[first : first + per_run]
                start, stop = int(ids[0]) * chunk, min(n_d, (int(ids[-1]) + 1) * chunk)
                found = self._run(start, stop)
                lo = int(np.searchsorted(rows, start))
                hi = int(np.searchsorted(rows, stop))
                out[lo:hi] = found[rows[lo:hi] - start]
        return out

    def all_indices(self, block_rows: int) -> np.ndarray:
        """Neighbour indices of every query row (smclarify's whole computation), in chunk-aligned blocks."""
        n_d = self.query_x.shape[0]
        step = max(self.chunk, (block_rows // self.chunk) * self.chunk)
        return np.concatenate(
            [self._run(s, min(n_d, s + step)) for s in range(0, n_d, step)]
            or [np.empty((0, self.k), dtype=np.intp)]
        )
