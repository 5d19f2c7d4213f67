"""Asymmetric Shapley values of forecasts (``methods.asymmetric_shapley_value``). Pure computation.

Asymmetric Shapley values (Frye, Rowat, Feige, NeurIPS 2020, arXiv 1910.06358; cited by the
SDK) average a player's marginal contribution over the *orderings* a causal structure
allows, instead of over all orderings. Clarify uses them for forecasts: "Clarify averages
differences in predictions led by obfuscating (that is, setting to a baseline value) parts
of the inputs iteratively" [DOC-NOW ``clarify-feature-attribute-shap-asymm``].

Value function: ``v(S)`` = the forecast (a horizon-length vector) for the item's input in
which every cell of a player outside ``S`` is set to its baseline. Cells that are not
players keep their actual values. ``offset = v(∅)``, ``forecast = v(all)``, and for every
item and horizon step ``Σ scores + offset = forecast`` (efficiency; it holds by
construction: every ordering's marginal contributions telescope).

Players and orderings — what the spec marks INFERRED, and what is chosen here:

* ``timewise``: a player is a time step (the target value and every related value at that
  step, together). Static covariates are not players and keep their actual values ("do not
  explain individually static covariates", CC §2.6). ``chronological``: the one ordering
  step 0, 1, ..., so ``φ_t = v(≤t) − v(≤t−1)``; ``anti_chronological``: the reverse,
  ``φ_t = v(≥t) − v(≥t+1)``; ``bidirectional``: both orderings with probability ½, i.e. the
  mean of the two (UNVERIFIED). All three are exact (one or two orderings, no sampling).
* ``fine_grained`` (``chronological`` only, SDK rule): a player is one cell — the target at
  step t, a related series at step t, or one static covariate. The allowed orderings put the
  static covariates first (they are known before any time step; INFERRED), then the cells
  of step 0, of step 1, ...; the order *inside* each group is free (uniform). This matches
  the docs' rule of thumb ``num_samples ≈ (1 + max(#related, #static))²`` (groups of size
  ``1 + #related`` and ``#static``).
* Inside a group of g players the average over its g! orders is the ordinary Shapley value
  of the group's sub-game (earlier groups present, later ones absent). ``estimator``:
  ``"sampled"`` draws ``num_samples`` random orders per group (Clarify's Monte Carlo;
  seeded per item with ``(seed, item position)``); ``"exact"`` enumerates the group's 2^g
  subsets; ``"auto"`` (default) is exact when that needs no more model calls than sampling
  could (``2^g − 1 ≤ num_samples·(g−1) + 1`` distinct coalitions per group), else sampled.
  Exact values are the expectation of the sampled ones, so "auto" only removes noise.
* Baselines: ``zero`` → 0.0; ``mean`` → the mean of that item's series (nulls ignored);
  static covariates → ``baseline.static_covariates[item_id]`` (required when they are
  players; the SDK calls the baseline "required for static_covariates").

Model calls are planned per item as distinct coalitions (shared prefixes are evaluated
once) and sent through one :data:`ForecastFn` call per chunk of items, which the model
client splits into requests.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analyzer.datasets.time_series import SeriesItem, TimeSeriesDataset
from analyzer.errors import ConfigError, ModelError

__all__ = [
    "DIRECTIONS",
    "ESTIMATORS",
    "GRANULARITIES",
    "TIMEWISE_FEATURE_NAME",
    "AsvResult",
    "AsvSpec",
    "AttributionEntry",
    "CoalitionBatch",
    "ForecastFn",
    "ForecastInput",
    "ItemAttribution",
    "ItemGame",
    "explain_time_series",
]

log = logging.getLogger(__name__)

DIRECTIONS = ("chronological", "anti_chronological", "bidirectional")
GRANULARITIES = ("timewise", "fine_grained")
ESTIMATORS = ("auto", "exact", "sampled")
#: ``feature_name`` of timewise entries (one per time step, all series together). The real
#: format is UNVERIFIED (no public sample); this name is a choice.
TIMEWISE_FEATURE_NAME = "time_step"
#: Largest group whose 2^g subsets the exact estimator enumerates.
MAX_EXACT_GROUP = 16
KEY = "methods.asymmetric_shapley_value"


@dataclass(frozen=True)
class AsvSpec:
    """What to compute: the resolved ``methods.asymmetric_shapley_value`` settings.

    Attributes:
        direction, granularity, num_samples: As in the config (``num_samples`` only for
            ``fine_grained``).
        target_baseline, related_baseline: ``"zero"`` or ``"mean"``.
        static_baseline: Item id (as a string) → one value per static covariate.
        uses_related, uses_static: Whether the model request carries the related series /
            static covariates (``$related_time_series`` / ``$static_covariates`` in the
            record template); parts that are not sent are not players.
        estimator: ``auto``, ``exact`` or ``sampled`` (fine_grained groups, see module doc).
        seed: Seed of the sampled estimator.
    """

    direction: str
    granularity: str
    num_samples: int | None = None
    target_baseline: str = "zero"
    related_baseline: str = "zero"
    static_baseline: Mapping[str, Sequence[Any]] | None = None
    uses_related: bool = True
    uses_static: bool = True
    estimator: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ConfigError(
                f"{KEY}.direction: Please provide a valid explanation direction from: {', '.join(DIRECTIONS)}"
            )
        if self.granularity not in GRANULARITIES:
            raise ConfigError(
                f"{KEY}.granularity: Please provide a valid granularity from: {', '.join(GRANULARITIES)}"
            )
        if self.granularity == "fine_grained":
            if self.direction != "chronological":
                raise ConfigError(
                    f"{KEY}: {self.direction} and {self.granularity} granularity are not supported together."
                )
            if not isinstance(self.num_samples, int) or self.num_samples < 1:
                raise ConfigError(f"{KEY}.num_samples: Please provide an integer for ``num_samples``.")
        elif self.num_samples:
            raise ConfigError(
                f"{KEY}.num_samples: ``num_samples`` is only used for fine-grained explanations."
            )
        for key in ("target_baseline", "related_baseline"):
            if getattr(self, key) not in ("zero", "mean"):
                raise ConfigError(
                    f"{KEY}.baseline: {key} must be 'zero' or 'mean', got {getattr(self, key)!r}"
                )
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}")


@dataclass(frozen=True)
class ForecastInput:
    """One model input: the start timestamp and the (possibly masked) series and covariates."""

    start: Any
    target: np.ndarray
    related: tuple[np.ndarray, ...]
    static: tuple[Any, ...]


def _fill(kind: str, series: np.ndarray) -> np.ndarray:
    if kind == "zero" or len(series) == 0 or np.all(np.isnan(series)):
        return np.zeros(len(series))
    return np.full(len(series), float(np.nanmean(series)))


@dataclass(frozen=True)
class ItemGame:
    """An item prepared for coalitions: which cells are players and their baseline values.

    Cells are laid out as target steps, then each related series' steps (when they are
    players), then the static covariates (when they are players). ``cell_step[c]`` is the
    time step of cell ``c`` (-1 for a static covariate).
    """

    item: SeriesItem
    target_base: np.ndarray
    related_base: tuple[np.ndarray, ...] | None
    static_base: tuple[Any, ...] | None
    cell_step: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, item: SeriesItem, spec: AsvSpec) -> ItemGame:
        """Baselines and cell layout of ``item`` under ``spec`` (raises ConfigError for a missing
        static baseline)."""
        related_base = None
        if spec.uses_related and item.related:
            related_base = tuple(_fill(spec.related_baseline, r) for r in item.related)
        static_base = None
        if spec.granularity == "fine_grained" and spec.uses_static and item.static:
            static_base = _static_baseline(item, spec)
        steps = [np.arange(len(item.target))]
        steps += [np.arange(len(r)) for r in (item.related if related_base is not None else ())]
        steps += [np.full(len(static_base or ()), -1)]
        return cls(
            item, _fill(spec.target_baseline, item.target), related_base, static_base, np.concatenate(steps)
        )

    @property
    def n_cells(self) -> int:
        """Number of cells that can be masked."""
        return len(self.cell_step)

    def materialize(self, mask: np.ndarray) -> ForecastInput:
        """The model input with the cells where ``mask`` is False set to their baseline."""
        item = self.item
        pos = len(item.target)
        target = np.where(mask[:pos], item.target, self.target_base)
        related = item.related
        if self.related_base is not None:
            out = []
            for actual, base in zip(item.related, self.related_base):
                out.append(np.where(mask[pos : pos + len(actual)], actual, base))
                pos += len(actual)
            related = tuple(out)
        static = item.static
        if self.static_base is not None:
            static = tuple(a if m else b for a, b, m in zip(item.static, self.static_base, mask[pos:]))
        return ForecastInput(item.timestamps[0], target, related, static)


def _static_baseline(item: SeriesItem, spec: AsvSpec) -> tuple[Any, ...]:
    table = spec.static_baseline or {}
    values = table.get(str(item.item_id), table.get(item.item_id))
    key = f"{KEY}.baseline.static_covariates"
    if values is None:
        raise ConfigError(
            f"{key}: no baseline for item {item.item_id!r}; the request carries static covariates, so give "
            f"one baseline value per static covariate for every item id (e.g. {{{str(item.item_id)!r}: "
            f"{[0] * len(item.static)}}})"
        )
    if len(values) != len(item.static):
        raise ConfigError(
            f"{key}: Length of baseline entry for {item.item_id} does not match number of static covariate "
            f"columns. Please ensure every covariate has a baseline value for every item id."
        )
    return tuple(values)


@dataclass(frozen=True)
class CoalitionBatch:
    """Coalitions to forecast: row ``i`` is item ``games[item_index[i]]`` with cells ``masks[i]``.

    ``masks`` is ``(n, max cells)``; columns past an item's own cell count are unused.
    """

    games: Sequence[ItemGame]
    item_index: np.ndarray
    masks: np.ndarray

    def __len__(self) -> int:
        return len(self.item_index)

    def inputs(self, row: int) -> ForecastInput:
        """The model input of row ``row``."""
        game = self.games[int(self.item_index[row])]
        return game.materialize(self.masks[row, : game.n_cells])


#: Forecasts for a batch of coalitions: ``(len(batch), horizon)`` floats, row order kept.
ForecastFn = Callable[[CoalitionBatch], np.ndarray]


@dataclass(frozen=True)
class AttributionEntry:
    """One explained player: ``timestamp`` is ``None`` for a static covariate."""

    feature_name: str
    timestamp: Any
    scores: np.ndarray


@dataclass(frozen=True)
class ItemAttribution:
    """The explanation of one item: entries (target, related, static order), offset, forecast."""

    item_id: Any
    entries: tuple[AttributionEntry, ...]
    offset: np.ndarray
    forecast: np.ndarray

    @property
    def efficiency_gap(self) -> float:
        """``max |Σ scores + offset − forecast|`` over the horizon (0 up to rounding)."""
        total = self.offset + sum((e.scores for e in self.entries), np.zeros_like(self.offset))
        return float(np.max(np.abs(total - self.forecast))) if len(self.forecast) else 0.0


@dataclass(frozen=True)
class AsvResult:
    """Explanations of every item, in dataset order, plus what was computed."""

    direction: str
    granularity: str
    items: tuple[ItemAttribution, ...]
    model_calls: int
    exact_groups: int = 0
    sampled_groups: int = 0


# ------------------------------------------------------------------------------ planning


@dataclass
class _Plan:
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

    def contribute(self, player: np.ndarray, plus: np.ndarray, minus: np.ndarray, weight: np.ndarray) -> None:
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


def _plan_exact_group(plan: _Plan, prefix: np.ndarray, group: np.ndarray, w: float) -> None:
    g = len(group)
    if g > MAX_EXACT_GROUP:
        raise ConfigError(
            f"{KEY}: a group of {g} players is too large to enumerate exactly (at most {MAX_EXACT_GROUP}); "
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
    plan: _Plan, prefix: np.ndarray, group: np.ndarray, w: float, num_samples: int, rng: np.random.Generator
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


def plan_item(game: ItemGame, spec: AsvSpec, rng: np.random.Generator) -> tuple[_Plan, np.ndarray]:
    """The coalitions of one item and how their forecasts combine into attributions.

    Returns the plan (over players) and the cell → player map.
    """
    families, cell_player = _groups(game, spec)
    n_players = len(families[0][1]) if spec.granularity == "timewise" else game.n_cells
    plan = _Plan(n_players)
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


# ----------------------------------------------------------------------------- execution


def _entries(
    game: ItemGame, phi: np.ndarray, spec: AsvSpec, dataset: TimeSeriesDataset
) -> list[AttributionEntry]:
    item = game.item
    if spec.granularity == "timewise":
        return [AttributionEntry(TIMEWISE_FEATURE_NAME, item.timestamps[t], phi[t]) for t in range(len(phi))]
    out = [AttributionEntry(dataset.target_name, item.timestamps[t], phi[t]) for t in range(len(item.target))]
    pos = len(item.target)
    if game.related_base is not None:
        for name, series in zip(dataset.related_names, item.related):
            out += [AttributionEntry(name, item.timestamps[t], phi[pos + t]) for t in range(len(series))]
            pos += len(series)
    if game.static_base is not None:
        out += [AttributionEntry(name, None, phi[pos + s]) for s, name in enumerate(dataset.static_names)]
    return out


@dataclass
class _Pending:
    game: ItemGame
    plan: _Plan
    unique: np.ndarray  # distinct cell masks of this item
    inverse: np.ndarray  # plan row → distinct row


def _prepare(game: ItemGame, spec: AsvSpec, position: int) -> _Pending:
    rng = np.random.default_rng([spec.seed, position])
    plan, cell_player = plan_item(game, spec, rng)
    rows = np.concatenate(plan.rows, axis=0)
    cells = rows[:, cell_player]
    packed = np.packbits(cells, axis=1)
    _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    return _Pending(game, plan, cells[first], inverse.reshape(-1))


def _finish(p: _Pending, values: np.ndarray, spec: AsvSpec, dataset: TimeSeriesDataset) -> ItemAttribution:
    plan = p.plan
    v = values[p.inverse]
    player = np.concatenate(plan.player)
    diff = v[np.concatenate(plan.plus)] - v[np.concatenate(plan.minus)]
    phi = np.zeros((plan.n_players, values.shape[1]))
    np.add.at(phi, player, np.concatenate(plan.weight)[:, None] * diff)
    offset, forecast = v[plan.n_rows - 2], v[plan.n_rows - 1]
    entries = _entries(p.game, phi, spec, dataset)
    return ItemAttribution(p.game.item.item_id, tuple(entries), offset, forecast)


def _forecast(forecast: ForecastFn, pending: list[_Pending], horizon: int | None) -> list[np.ndarray]:
    width = max(p.game.n_cells for p in pending)
    counts = [len(p.unique) for p in pending]
    masks = np.zeros((sum(counts), width), dtype=bool)
    pos = 0
    for p, n in zip(pending, counts):
        masks[pos : pos + n, : p.game.n_cells] = p.unique
        pos += n
    index = np.repeat(np.arange(len(pending)), counts)
    batch = CoalitionBatch([p.game for p in pending], index, masks)
    values = np.asarray(forecast(batch), dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != len(batch):
        raise ModelError(
            f"The forecast for {len(batch)} model inputs has shape {values.shape}; expected one forecast "
            "(a list of numbers) per input"
        )
    if horizon is not None and values.shape[1] != horizon:
        raise ModelError(
            f"The model returned forecasts of {values.shape[1]} steps after {horizon} steps earlier"
        )
    if not np.all(np.isfinite(values)):
        raise ModelError("The model returned a forecast that is not a finite number (NaN or infinity)")
    return np.split(values, np.cumsum(counts)[:-1])


def explain_time_series(
    dataset: TimeSeriesDataset,
    spec: AsvSpec,
    forecast: ForecastFn,
    *,
    max_inputs_per_call: int = 50_000,
    max_mask_cells: int = 1 << 27,
) -> AsvResult:
    """Asymmetric Shapley values of every item's forecast.

    Args:
        dataset: The items (see :func:`analyzer.datasets.time_series.load_time_series`).
        spec: Direction, granularity, baselines, estimator and seed.
        forecast: Forecasts for a :class:`CoalitionBatch` (the model client's
            :func:`analyzer.model_client.forecast.client_forecast_fn`, or any function).
        max_inputs_per_call: Items are grouped so that one ``forecast`` call gets at most about
            this many inputs (bounds memory; the model client splits calls into requests).
        max_mask_cells: ... and at most about this many mask cells (inputs × cells of the
            longest item), so long series make smaller calls.

    Returns:
        One :class:`ItemAttribution` per item, in dataset order.

    Raises:
        ConfigError: a static-covariate baseline is missing or has the wrong length.
        ModelError: the forecasts have inconsistent shapes or are not finite.
    """
    results: list[ItemAttribution] = []
    pending: list[_Pending] = []
    queued = calls = exact = sampled = width = 0
    horizon: int | None = None

    def flush() -> None:
        nonlocal queued, calls, horizon
        if not pending:
            return
        for p, values in zip(pending, _forecast(forecast, pending, horizon)):
            horizon = values.shape[1]
            results.append(_finish(p, values, spec, dataset))
        calls += queued
        log.info("Explained %d of %d items (%d model inputs so far)", len(results), len(dataset.items), calls)
        pending.clear()
        queued = 0

    for position, item in enumerate(dataset.items):
        p = _prepare(ItemGame.build(item, spec), spec, position)
        exact += p.plan.exact_groups
        sampled += p.plan.sampled_groups
        n = queued + len(p.unique)
        if pending and (n > max_inputs_per_call or n * max(width, p.game.n_cells) > max_mask_cells):
            flush()
        width = max(width if pending else 0, p.game.n_cells)
        pending.append(p)
        queued += len(p.unique)
    flush()
    return AsvResult(spec.direction, spec.granularity, tuple(results), calls, exact, sampled)
