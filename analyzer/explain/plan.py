"""Coalition plans: which coalitions each record evaluates and with which kernel weight.

:func:`clarify_plan` reproduces ``shap.KernelExplainer.explain`` (shap 0.51.0,
``l1_reg=False``) step for step: the ``nsamples`` rule, the deterministic enumeration of the
small subset sizes (lexicographic combinations, each followed by its complement), the random
paired draws with duplicate merging, and the final rescaling of the random weights.
:func:`leverage_plan` is the optional, *not Clarify-identical* estimator (paired,
leverage-score sampling: every subset size equally likely). Pure computation.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import binom

from analyzer.explain.sampling import random_coalitions

#: shap's cap on the number of coalitions when there are more than 30 players.
MAX_SAMPLES_LARGE_M = 2**30


@dataclass(frozen=True)
class CoalitionPlan:
    """The coalitions of one record, laid out exactly like shap's arrays.

    ``masks`` has ``nsamples`` rows (float64 0/1, one column per varying player); only the
    first ``n_added`` rows are evaluated, the rest stay zero with zero weight, as in shap.
    """

    masks: np.ndarray
    weights: np.ndarray
    n_added: int


def default_num_samples(num_features: int) -> int:
    """Clarify's and shap's default number of coalitions: ``min(2M + 2048, 2^M - 2)``."""
    return resolve_num_samples(num_features, None)


def resolve_num_samples(num_players: int, num_samples: int | None) -> int:
    """shap's ``nsamples`` rule: ``2M + 2048`` when unset, capped at ``2^M - 2`` (M <= 30)."""
    nsamples = 2 * num_players + 2**11 if num_samples is None else int(num_samples)
    if num_players <= 30:
        nsamples = min(nsamples, 2**num_players - 2)
    return nsamples


def _weight_vector(num_players: int) -> tuple[np.ndarray, int, int]:
    num_subset_sizes = int(np.ceil((num_players - 1) / 2.0))
    num_paired_subset_sizes = int(np.floor((num_players - 1) / 2.0))
    weight_vector = np.array(
        [(num_players - 1.0) / (i * (num_players - i)) for i in range(1, num_subset_sizes + 1)]
    )
    weight_vector[:num_paired_subset_sizes] *= 2
    weight_vector /= np.sum(weight_vector)
    return weight_vector, num_subset_sizes, num_paired_subset_sizes


@dataclass(frozen=True)
class _Enumeration:
    masks: np.ndarray  # (n_fixed, M) bool
    weights: np.ndarray  # (n_fixed,)
    num_full_subsets: int
    weight_vector: np.ndarray
    num_subset_sizes: int
    num_paired_subset_sizes: int


@lru_cache(maxsize=256)
def _enumeration(num_players: int, nsamples: int) -> _Enumeration:
    """The deterministic part of shap's plan; it depends only on M and nsamples."""
    weight_vector, num_subset_sizes, num_paired = _weight_vector(num_players)
    num_full_subsets = 0
    num_samples_left = nsamples
    remaining_weight_vector = copy.copy(weight_vector)
    masks: list[np.ndarray] = []
    weights: list[float] = []
    for subset_size in range(1, num_subset_sizes + 1):
        nsubsets = binom(num_players, subset_size)
        if subset_size <= num_paired:
            nsubsets *= 2
        if num_samples_left * remaining_weight_vector[subset_size - 1] / nsubsets < 1.0 - 1e-8:
            break
        num_full_subsets += 1
        num_samples_left -= nsubsets
        if remaining_weight_vector[subset_size - 1] < 1.0:
            remaining_weight_vector /= 1 - remaining_weight_vector[subset_size - 1]
        w = weight_vector[subset_size - 1] / binom(num_players, subset_size)
        if subset_size <= num_paired:
            w /= 2.0
        combos = np.array(list(itertools.combinations(range(num_players), subset_size)), dtype=np.int64)
        block = np.zeros((len(combos), num_players), dtype=bool)
        block[np.arange(len(combos))[:, None], combos] = True
        if subset_size <= num_paired:
            block = np.stack([block, ~block], axis=1).reshape(-1, num_players)
        masks.append(block)
        weights.extend([w] * len(block))
    stacked = np.concatenate(masks) if masks else np.zeros((0, num_players), dtype=bool)
    return _Enumeration(
        stacked,
        np.array(weights, dtype=np.float64),
        num_full_subsets,
        weight_vector,
        num_subset_sizes,
        num_paired,
    )


def clarify_plan(num_players: int, num_samples: int | None, rng: np.random.RandomState) -> CoalitionPlan:
    """shap 0.51.0's coalition plan for one record with ``num_players >= 2`` varying players.

    Consumes ``rng`` exactly as shap consumes numpy's global RNG for that record.
    """
    nsamples = resolve_num_samples(num_players, num_samples)
    enum = _enumeration(num_players, nsamples)
    masks = np.zeros((nsamples, num_players))
    weights = np.zeros(nsamples)
    n_fixed = len(enum.weights)
    masks[:n_fixed] = enum.masks
    weights[:n_fixed] = enum.weights
    n_added = n_fixed
    samples_left = nsamples - n_fixed
    if enum.num_full_subsets != enum.num_subset_sizes:
        remaining = copy.copy(enum.weight_vector)
        remaining[: enum.num_paired_subset_sizes] /= 2
        remaining = remaining[enum.num_full_subsets :]
        remaining /= np.sum(remaining)
        rmasks, rcounts = random_coalitions(
            rng, num_players, samples_left, enum.num_full_subsets, enum.num_paired_subset_sizes, remaining
        )
        n_added = n_fixed + len(rcounts)
        masks[n_fixed:n_added] = rmasks
        weights[n_fixed:n_added] = rcounts
        weight_left = np.sum(enum.weight_vector[enum.num_full_subsets :])
        weights[n_fixed:] *= weight_left / weights[n_fixed:].sum()
    return CoalitionPlan(masks, weights, n_added)


def shapley_kernel(num_players: int, sizes: np.ndarray) -> np.ndarray:
    """Shapley kernel weight of one coalition of each size: ``(M-1) / (C(M,s) s (M-s))``."""
    sizes = np.asarray(sizes, dtype=np.float64)
    return (num_players - 1.0) / (binom(num_players, sizes) * sizes * (num_players - sizes))


def leverage_plan(num_players: int, num_samples: int | None, rng: np.random.RandomState) -> CoalitionPlan:
    """Paired leverage-score sampling (Musco & Witter 2025, simplified). NOT Clarify-identical.

    Subset sizes are drawn uniformly from 1..M-1 (leverage scores are proportional to
    ``1/C(M,s)`` per subset), each drawn subset is evaluated together with its complement,
    and repeated draws are merged. Each coalition is weighted by its Shapley-kernel weight
    divided by its sampling probability (times its count), which makes the weighted
    regression an unbiased estimate of the exact one. When ``2^M - 2`` coalitions fit in
    the budget, every coalition is enumerated with its exact kernel weight (the same
    numbers as the Clarify estimator's full enumeration).
    """
    nsamples = resolve_num_samples(num_players, num_samples)
    if num_players <= 30 and nsamples >= 2**num_players - 2:
        return clarify_plan(num_players, nsamples, rng)
    pair_of: dict[bytes, int] = {}
    masks: list[np.ndarray] = []
    pair_counts: list[float] = []
    draws = 0
    while 2 * len(pair_counts) + 1 < nsamples and draws < 8 * nsamples:
        draws += 1
        size = int(rng.randint(1, num_players))
        mask = np.zeros(num_players, dtype=bool)
        mask[rng.permutation(num_players)[:size]] = True
        key = mask.tobytes()
        if key in pair_of:
            pair_counts[pair_of[key]] += 1.0
            continue
        pair_of[key] = pair_of[(~mask).tobytes()] = len(pair_counts)
        masks.extend([mask, ~mask])
        pair_counts.append(1.0)
    counts = np.repeat(np.array(pair_counts), 2)
    mask_arr = np.array(masks, dtype=np.float64)
    sizes = mask_arr.sum(axis=1)
    # probability of drawing a given coalition of size s (either directly or as a complement)
    prob = (1.0 / (num_players - 1)) * (1.0 / binom(num_players, sizes)) * 2.0
    weights = np.array(counts) * shapley_kernel(num_players, sizes) / prob
    weights /= weights.sum()
    return CoalitionPlan(mask_arr, weights, len(masks))
