"""The game behind asymmetric Shapley values of forecasts: settings, baselines, coalition inputs.

:class:`AsvSpec` holds the resolved ``methods.asymmetric_shapley_value`` settings,
:class:`ItemGame` one item's cells and their baseline values, :class:`CoalitionBatch` the
coalitions one forecast call evaluates. The algorithm is in
:mod:`analyzer.explain.asymmetric_shapley`. Pure computation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analyzer.datasets.time_series import SeriesItem
from analyzer.errors import ConfigError

__all__ = [
    "DIRECTIONS",
    "ESTIMATORS",
    "GRANULARITIES",
    "MAX_EXACT_GROUP",
    "AsvSpec",
    "CoalitionBatch",
    "ForecastFn",
    "ForecastInput",
    "ItemGame",
]

DIRECTIONS = ("chronological", "anti_chronological", "bidirectional")
GRANULARITIES = ("timewise", "fine_grained")
ESTIMATORS = ("auto", "exact", "sampled")
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
