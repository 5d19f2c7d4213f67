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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from analyzer.errors import ModelError
from analyzer.explain.asv_game import (
    DIRECTIONS,
    ESTIMATORS,
    GRANULARITIES,
    AsvSpec,
    CoalitionBatch,
    ForecastFn,
    ForecastInput,
    ItemGame,
    TimeSeriesDataset,
)
from analyzer.explain.asv_plan import CoalitionPlan, plan_item

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

#: ``feature_name`` of timewise entries (one per time step, all series together). The real
#: format is UNVERIFIED (no public sample); this name is a choice.
TIMEWISE_FEATURE_NAME = "time_step"


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
    plan: CoalitionPlan
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
    check_stop: Callable[[], None] | None = None,
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
        check_stop: Called before every forecast call; raise from it to stop (e.g. on SIGTERM).

    Returns:
        One :class:`ItemAttribution` per item, in dataset order.

    Raises:
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
        if check_stop is not None:
            check_stop()
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
