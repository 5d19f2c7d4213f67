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
def _permutation(key: np.ndarray, pos: np.ndarray, perm: np.ndarray) -> None:
    """``RandomState.permutation(len(perm))`` written into ``perm``.

    numpy's legacy shuffle: for i = n-1..1 swap i with ``random_interval(i)``, which draws
    32-bit MT19937 outputs masked to the next power of two minus one until one is <= i. The
    generator's position is kept in a local variable (written back at the end): through the
    array it was reloaded on every draw, three times slower.
    """
    n = perm.shape[0]
    p = pos[0]
    for i in range(n):
        perm[i] = i
    for i in range(n - 1, 0, -1):
        mask = np.uint32(i)
        mask |= mask >> np.uint32(1)
        mask |= mask >> np.uint32(2)
        mask |= mask >> np.uint32(4)
        mask |= mask >> np.uint32(8)
        mask |= mask >> np.uint32(16)
        limit = np.uint32(i)
        while True:
            if p >= _N:
                _mt_regenerate(key)
                p = 0
            y = key[p]
            p += 1
            y ^= y >> np.uint32(11)
            y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
            y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
            y ^= y >> np.uint32(18)
            value = y & mask
            if value <= limit:
                break
        j = np.int64(value)
        t = perm[i]
        perm[i] = perm[j]
        perm[j] = t
    pos[0] = p


@numba.njit(cache=True, nogil=True)
def _hash_words(words: np.ndarray) -> np.uint64:
    h = np.uint64(0x243F6A8885A308D3)
    for i in range(words.shape[0]):
        h = (h ^ words[i]) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    return h


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

    ``out_masks`` (samples_left, words) receives each coalition as a bit set spread over
    uint64 words (player j is bit j % 64 of word j // 64), so any number of players works;
    ``out_weights`` the raw counts (before shap's final rescaling). Repeated draws are found
    with an open-addressing hash table over the drawn masks (complements are not looked up,
    as in shap).
    """
    n_words = out_masks.shape[1]
    perm = np.empty(num_players, dtype=np.int64)
    size = 1
    while size < 4 * (samples_left + 1):
        size *= 2
    slot_sample = np.full(size, -1, dtype=np.int64)  # slot -> index of the drawn mask, -1 = empty
    full = np.full(n_words, np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
    tail = num_players - 64 * (n_words - 1)
    if tail < 64:
        full[n_words - 1] = (np.uint64(1) << np.uint64(tail)) - np.uint64(1)
    m = np.zeros(n_words, dtype=np.uint64)
    added = 0
    ind_pos = 0
    n_ind = ind_set.shape[0]
    while samples_left > 0 and ind_pos < n_ind:
        subset_size = ind_set[ind_pos] + num_full_subsets + 1
        ind_pos += 1
        _permutation(key, pos, perm)
        m[:] = 0
        for t in range(subset_size):
            p = perm[t]
            m[p >> 6] |= np.uint64(1) << np.uint64(p & 63)
        h = np.int64(_hash_words(m) & np.uint64(size - 1))
        while slot_sample[h] != -1:
            s = slot_sample[h]
            same = True
            for w in range(n_words):
                if out_masks[s, w] != m[w]:
                    same = False
                    break
            if same:
                break
            h = (h + 1) & (size - 1)
        new_sample = slot_sample[h] == -1
        if new_sample:
            slot_sample[h] = added
            samples_left -= 1
            out_masks[added, :] = m
            out_weights[added] = 1.0
            added += 1
        else:
            out_weights[slot_sample[h]] += 1.0
        if samples_left > 0 and subset_size <= num_paired_subset_sizes:
            if new_sample:
                samples_left -= 1
                for w in range(n_words):
                    out_masks[added, w] = full[w] ^ m[w]
                out_weights[added] = 1.0
                added += 1
            else:
                out_weights[slot_sample[h] + 1] += 1.0
    return added


def words_to_bools(words: np.ndarray, num_players: int) -> np.ndarray:
    """Bool (n, num_players) from bit sets held as uint64 words (bit j % 64 of word j // 64)."""
    raw = np.ascontiguousarray(words, dtype="<u8").view(np.uint8).reshape(words.shape[0], -1)
    return np.unpackbits(raw, axis=1, count=num_players, bitorder="little").view(bool)


def random_coalitions(
    rng: np.random.RandomState,
    num_players: int,
    samples_left: int,
    num_full_subsets: int,
    num_paired_subset_sizes: int,
    remaining_weight_vector: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the random coalitions of one record exactly as shap 0.51.0 does, for any number of players.

    Returns ``(masks, counts)``: masks as a bool array (n_added, num_players), counts as the
    raw float weights before rescaling. Consumes ``rng`` exactly like shap consumes the
    global numpy RNG.
    """
    ind_set = rng.choice(len(remaining_weight_vector), 4 * samples_left, p=remaining_weight_vector)
    name, key, pos, has_gauss, gauss = rng.get_state()
    key = np.array(key, dtype=np.uint32)
    pos_arr = np.array([pos], dtype=np.int64)
    out_masks = np.zeros((samples_left, (num_players + 63) // 64), dtype=np.uint64)
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
    return words_to_bools(out_masks[:added], num_players), out_weights[:added]
