"""Writing synthetic rows into a preallocated block (pure computation, no I/O).

A synthetic row is a baseline row with some columns taken from the record. For numeric
features the rows are written in one pass by compiled loops (numba, cached on disk), straight
into the block's array: ``np.where`` and ``np.copyto`` make a temporary and read the data
several times, about four times slower for a 100-feature record. Object arrays (string
features) take the numpy path.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _fill_grid(out: np.ndarray, colmask: np.ndarray, x: np.ndarray, baseline: np.ndarray) -> None:
    n_coal, n_base, n_cols = out.shape
    for k in range(n_coal):
        for b in range(n_base):
            for c in range(n_cols):
                out[k, b, c] = x[c] if colmask[k, c] else baseline[b, c]


@numba.njit(cache=True, nogil=True)
def _fill_keys(
    out: np.ndarray, x: np.ndarray, baseline: np.ndarray, rows_b: np.ndarray, keys: np.ndarray
) -> None:
    n_cols = out.shape[1]
    for i in range(out.shape[0]):
        b = rows_b[i]
        for c in range(n_cols):
            if (keys[i, c >> 6] >> np.uint64(c & 63)) & np.uint64(1):
                out[i, c] = x[c]
            else:
                out[i, c] = baseline[b, c]


def _compiled(out: np.ndarray, x: np.ndarray, baseline: np.ndarray) -> bool:
    return out.dtype == np.float64 and x.dtype == np.float64 and baseline.dtype == np.float64


def fill_grid(out: np.ndarray, colmask: np.ndarray, x: np.ndarray, baseline: np.ndarray) -> None:
    """``out[k, b] = baseline[b]`` with the columns of ``colmask[k]`` taken from ``x``; out is (K, N, P)."""
    if _compiled(out, x, baseline):
        _fill_grid(
            out,
            np.ascontiguousarray(colmask, dtype=np.bool_),
            np.ascontiguousarray(x),
            np.ascontiguousarray(baseline),
        )
        return
    out[...] = np.where(colmask[:, None, :], x[None, None, :], baseline[None])


def fill_keys(
    out: np.ndarray, x: np.ndarray, baseline: np.ndarray, rows_b: np.ndarray, keys: np.ndarray
) -> None:
    """``out[i] = baseline[rows_b[i]]`` with the columns set in ``keys[i]`` (uint64 words) from ``x``."""
    if _compiled(out, x, baseline):
        _fill_keys(
            out,
            np.ascontiguousarray(x),
            np.ascontiguousarray(baseline),
            np.ascontiguousarray(rows_b, dtype=np.int64),
            np.ascontiguousarray(keys, dtype=np.uint64),
        )
        return
    raw = np.ascontiguousarray(keys, dtype="<u8").view(np.uint8).reshape(keys.shape[0], -1)
    bits = np.unpackbits(raw, axis=1, count=out.shape[1], bitorder="little").view(bool)
    out[...] = baseline[rows_b]
    np.copyto(out, x[None, :], where=bits)
