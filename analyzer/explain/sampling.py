"""Replay of the random coalition draws of ``shap.KernelExplainer`` (shap 0.51.0).

shap draws its coalitions from numpy's *legacy* global ``RandomState``: one
``choice(len(q), 4 * samples_left, p=q)`` call per explained record, then one
``permutation(M)`` per draw. This module reproduces the permutation loop in compiled code
(numba) by running MT19937 on the ``RandomState``'s own state and writing the state back,
so the stream continues exactly where numpy would be. Everything here is pure computation.
"""

from __future__ import annotations

import numba
import numpy as np

_N = 624
_M = 397
_MATRIX_A = np.uint32(0x9908B0DF)
_UPPER = np.uint32(0x80000000)
_LOWER = np.uint32(0x7FFFFFFF)

#: Largest number of players for which the compiled loop is used (masks are int64 bit sets).
MAX_COMPILED_PLAYERS = 62


@numba.njit(cache=True, nogil=True)
def _mt_regenerate(key: np.ndarray) -> None:
    for kk in range(_N - _M):
        y = (key[kk] & _UPPER) | (key[kk + 1] & _LOWER)
        key[kk] = key[kk + _M] ^ (y >> np.uint32(1)) ^ (_MATRIX_A if (y & np.uint32(1)) else np.uint32(0))
    for kk in range(_N - _M, _N - 1):
        y = (key[kk] & _UPPER) | (key[kk + 1] & _LOWER)
        key[kk] = (
            key[kk + (_M - _N)] ^ (y >> np.uint32(1)) ^ (_MATRIX_A if (y & np.uint32(1)) else np.uint32(0))
        )
    y = (key[_N - 1] & _UPPER) | (key[0] & _LOWER)
    key[_N - 1] = key[_M - 1] ^ (y >> np.uint32(1)) ^ (_MATRIX_A if (y & np.uint32(1)) else np.uint32(0))


@numba.njit(cache=True, nogil=True)
def _mt_next32(key: np.ndarray, pos: np.ndarray) -> np.uint32:
    if pos[0] >= _N:
        _mt_regenerate(key)
        pos[0] = 0
    y = key[pos[0]]
    pos[0] += 1
    y ^= y >> np.uint32(11)
    y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
    y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
    y ^= y >> np.uint32(18)
    return y


@numba.njit(cache=True, nogil=True)
def _random_interval(key: np.ndarray, pos: np.ndarray, mx: int) -> int:
    """numpy's legacy ``random_interval`` for ``mx < 2**32``: masked rejection sampling."""
    if mx == 0:
        return np.int64(0)
    mask = np.uint32(mx)
    mask |= mask >> np.uint32(1)
    mask |= mask >> np.uint32(2)
    mask |= mask >> np.uint32(4)
    mask |= mask >> np.uint32(8)
    mask |= mask >> np.uint32(16)
    limit = np.uint32(mx)
    while True:
        value = _mt_next32(key, pos) & mask
        if value <= limit:
            return np.int64(value)


@numba.njit(cache=True, nogil=True)
def _permutation(key: np.ndarray, pos: np.ndarray, perm: np.ndarray) -> None:
    """``RandomState.permutation(len(perm))`` written into ``perm``."""
    n = perm.shape[0]
    for i in range(n):
        perm[i] = i
    for i in range(n - 1, 0, -1):
        j = _random_interval(key, pos, i)
        t = perm[i]
        perm[i] = perm[j]
        perm[j] = t


@numba.njit(cache=True, nogil=True)
def _random_coalitions(
    key: np.ndarray,
    pos: np.ndarray,
    ind_set: np.ndarray,
    num_players: int,
    samples_left: int,
    num_full_subsets: int,
    num_paired_subset_sizes: int,
    out_masks: np.ndarray,
    out_weights: np.ndarray,
) -> int:
    """shap's random sampling loop (``KernelExplainer.explain``), returning how many were added.

    ``out_masks`` receives int64 bit sets (bit j = player j is present), ``out_weights`` the
    raw counts (before shap's final rescaling).
    """
    perm = np.empty(num_players, dtype=np.int64)
    # open-addressing hash set of the drawn masks (masks are > 0): slot -> (mask, sample index)
    size = 1
    while size < 4 * (samples_left + 1):
        size *= 2
    slot_keys = np.full(size, -1, dtype=np.int64)
    slot_vals = np.zeros(size, dtype=np.int64)
    full = (np.int64(1) << np.int64(num_players)) - np.int64(1)
    added = 0
    ind_pos = 0
    n_ind = ind_set.shape[0]
    while samples_left > 0 and ind_pos < n_ind:
        subset_size = ind_set[ind_pos] + num_full_subsets + 1
        ind_pos += 1
        _permutation(key, pos, perm)
        m = np.int64(0)
        for t in range(subset_size):
            m |= np.int64(1) << perm[t]
        h = (m * np.int64(-7046029254386353131)) & (size - 1)
        while slot_keys[h] != -1 and slot_keys[h] != m:
            h = (h + 1) & (size - 1)
        new_sample = slot_keys[h] == -1
        if new_sample:
            slot_keys[h] = m
            slot_vals[h] = added
            samples_left -= 1
            out_masks[added] = m
            out_weights[added] = 1.0
            added += 1
        else:
            out_weights[slot_vals[h]] += 1.0
        if samples_left > 0 and subset_size <= num_paired_subset_sizes:
            if new_sample:
                samples_left -= 1
                out_masks[added] = full ^ m
                out_weights[added] = 1.0
                added += 1
            else:
                out_weights[slot_vals[h] + 1] += 1.0
    return added


def random_coalitions(
    rng: np.random.RandomState,
    num_players: int,
    samples_left: int,
    num_full_subsets: int,
    num_paired_subset_sizes: int,
    remaining_weight_vector: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the random coalitions of one record exactly as shap 0.51.0 does.

    Returns ``(masks, counts)``: masks as a bool array (n_added, num_players), counts as the
    raw float weights before rescaling. Consumes ``rng`` exactly like shap consumes the
    global numpy RNG.
    """
    ind_set = rng.choice(len(remaining_weight_vector), 4 * samples_left, p=remaining_weight_vector)
    if num_players <= MAX_COMPILED_PLAYERS:
        name, key, pos, has_gauss, gauss = rng.get_state()
        key = np.array(key, dtype=np.uint32)
        pos_arr = np.array([pos], dtype=np.int64)
        out_masks = np.zeros(samples_left, dtype=np.int64)
        out_weights = np.zeros(samples_left, dtype=np.float64)
        added = _random_coalitions(
            key,
            pos_arr,
            ind_set.astype(np.int64),
            num_players,
            samples_left,
            num_full_subsets,
            num_paired_subset_sizes,
            out_masks,
            out_weights,
        )
        rng.set_state((name, key, int(pos_arr[0]), has_gauss, gauss))
        bits = (out_masks[:added, None] >> np.arange(num_players, dtype=np.int64)[None, :]) & 1
        return bits.astype(bool), out_weights[:added]
    return _random_coalitions_python(
        rng, ind_set, num_players, samples_left, num_full_subsets, num_paired_subset_sizes
    )


def _random_coalitions_python(
    rng: np.random.RandomState,
    ind_set: np.ndarray,
    num_players: int,
    samples_left: int,
    num_full_subsets: int,
    num_paired_subset_sizes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Interpreted version of :func:`_random_coalitions` for more than 62 players."""
    masks: list[np.ndarray] = []
    weights: list[float] = []
    used: dict[bytes, int] = {}
    ind_pos = 0
    while samples_left > 0 and ind_pos < len(ind_set):
        subset_size = int(ind_set[ind_pos]) + num_full_subsets + 1
        ind_pos += 1
        mask = np.zeros(num_players, dtype=bool)
        mask[rng.permutation(num_players)[:subset_size]] = True
        key = mask.tobytes()
        new_sample = key not in used
        if new_sample:
            used[key] = len(masks)
            samples_left -= 1
            masks.append(mask)
            weights.append(1.0)
        else:
            weights[used[key]] += 1.0
        if samples_left > 0 and subset_size <= num_paired_subset_sizes:
            if new_sample:
                samples_left -= 1
                masks.append(~mask)
                weights.append(1.0)
            else:
                weights[used[key] + 1] += 1.0
    if not masks:
        return np.zeros((0, num_players), dtype=bool), np.zeros(0)
    return np.array(masks), np.array(weights, dtype=np.float64)
