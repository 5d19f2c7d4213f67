"""Planning the coalitions of one item: which orderings the direction allows, and how the
forecasts of the coalitions combine into attributions (exact sub-games or sampled orders).

See :mod:`analyzer.explain.asymmetric_shapley` for the method. Pure computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from analyzer.explain.asv_game import MAX_EXACT_GROUP, AsvSpec, ItemGame

__all__ = ["CoalitionPlan", "plan_item"]


@dataclass
class CoalitionPlan:
    """Coalitions (player masks) of one item and the linear map from their values to φ.

    ``φ[player[k]] += weight[k] · (v(rows[plus[k]]) − v(rows[minus[k]]))``.
    """

    n_players: int
    rows: list[np.ndarray] = field(default_factory=list)
    n_rows: int = 0
    player: list[np.ndarray] = field(default_factory=list)
    plus: list[np.ndarray] = field(default_factory=list)
    minus: list[np.ndarray] = field(default_factory=list)
    weight: list[np.ndarray] = field(default_factory=list)
    exact_groups: int = 0
    sampled_groups: int = 0

    def add_rows(self, block: np.ndarray) -> int:
        start = self.n_rows
        self.rows.append(block)
        self.n_rows += len(block)
        return start

    def contribute(
        self, player: np.ndarray, plus: np.ndarray, minus: np.ndarray, weight: np.ndarray | float
    ) -> None:
        self.player.append(np.asarray(player, dtype=np.intp).ravel())
        self.plus.append(np.asarray(plus, dtype=np.intp).ravel())
        self.minus.append(np.asarray(minus, dtype=np.intp).ravel())
        self.weight.append(np.broadcast_to(np.asarray(weight, dtype=np.float64), np.shape(plus)).ravel())


def _groups(game: ItemGame, spec: AsvSpec) -> tuple[list[tuple[float, list[np.ndarray]]], np.ndarray]:
    """Ordered player groups per allowed ordering family (with weights) and cell → player map."""
    n_steps = game.item.n_steps
    if spec.granularity == "timewise":
        steps = [np.array([t]) for t in range(n_steps)]
        families = {
            "chronological": [(1.0, steps)],
            "anti_chronological": [(1.0, steps[::-1])],
            "bidirectional": [(0.5, steps), (0.5, steps[::-1])],
        }[spec.direction]
        return families, game.cell_step
    cells = np.arange(game.n_cells)
    groups = []
    static = cells[game.cell_step < 0]
    if len(static):
        groups.append(static)
    order = np.argsort(game.cell_step[game.cell_step >= 0], kind="stable")
    timed = cells[game.cell_step >= 0][order]
    bounds = np.flatnonzero(np.diff(game.cell_step[timed])) + 1
    groups += [g for g in np.split(timed, bounds) if len(g)]
    return [(1.0, groups)], cells


def _subset_bits(g: int) -> np.ndarray:
    """``(2^g, g)`` bool: row ``s`` holds the bits of ``s``."""
    return (np.arange(2**g)[:, None] >> np.arange(g)[None, :]) & 1 == 1


def _plan_exact_group(plan: CoalitionPlan, prefix: np.ndarray, group: np.ndarray, w: float) -> None:
    g = len(group)
    if g > MAX_EXACT_GROUP:
        raise ValueError(
            f"a group of {g} players is too large to enumerate exactly (at most {MAX_EXACT_GROUP}); "
            "use the sampled estimator"
        )
    bits = _subset_bits(g)
    block = np.repeat(prefix[None, :], len(bits), axis=0)
    block[:, group] = bits
    start = plan.add_rows(block)
    sizes = bits.sum(axis=1)
    fact = np.array([math.factorial(k) for k in range(g + 1)], dtype=np.float64)
    for i in range(g):
        without = np.flatnonzero(~bits[:, i])
        a = sizes[without]
        weights = w * fact[a] * fact[g - a - 1] / fact[g]
        plan.contribute(np.full(len(without), group[i]), start + without + (1 << i), start + without, weights)
    plan.exact_groups += 1


def _plan_sampled_group(
    plan: CoalitionPlan,
    prefix: np.ndarray,
    group: np.ndarray,
    w: float,
    num_samples: int,
    rng: np.random.Generator,
) -> None:
    g = len(group)
    perms = np.argsort(rng.random((num_samples, g)), axis=1)  # uniform random orders of the group
    ranks = np.argsort(perms, axis=1)  # ranks[s, j] = position of group[j] in order s
    steps = np.arange(g + 1)
    inside = (ranks[:, None, :] < steps[None, :, None]).reshape(-1, g)  # row s·(g+1)+k: first k of order s
    _, first, inverse = np.unique(np.packbits(inside, axis=1), axis=0, return_index=True, return_inverse=True)
    block = np.repeat(prefix[None, :], len(first), axis=0)  # one row per distinct subset visited
    block[:, group] = inside[first]
    start = plan.add_rows(block)
    row = start + inverse.reshape(num_samples, g + 1)
    plan.contribute(group[perms], row[:, 1:], row[:, :-1], w / num_samples)
    plan.sampled_groups += 1


def _use_exact(g: int, spec: AsvSpec) -> bool:
    if g <= 1 or spec.estimator == "exact":
        return True
    if spec.estimator == "sampled":
        return False
    assert spec.num_samples is not None
    return 2**g - 1 <= spec.num_samples * (g - 1) + 1 and g <= MAX_EXACT_GROUP


def plan_item(game: ItemGame, spec: AsvSpec, rng: np.random.Generator) -> tuple[CoalitionPlan, np.ndarray]:
    """The coalitions of one item and how their forecasts combine into attributions.

    Returns the plan (over players) and the cell → player map.
    """
    families, cell_player = _groups(game, spec)
    n_players = len(families[0][1]) if spec.granularity == "timewise" else game.n_cells
    plan = CoalitionPlan(n_players)
    for weight, groups in families:
        prefix = np.zeros(n_players, dtype=bool)
        for group in groups:
            if _use_exact(len(group), spec):
                _plan_exact_group(plan, prefix, group, weight)
            else:
                assert spec.num_samples is not None
                _plan_sampled_group(plan, prefix, group, weight, spec.num_samples, rng)
            prefix = prefix.copy()
            prefix[group] = True
    plan.add_rows(np.zeros((1, n_players), dtype=bool))  # v(∅): the offset
    plan.add_rows(np.ones((1, n_players), dtype=bool))  # v(all): the forecast
    return plan, cell_player
