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
    "SeriesItem",
    "TimeSeriesDataset",
]

DIRECTIONS = ("chronological", "anti_chronological", "bidirectional")
GRANULARITIES = ("timewise", "fine_grained")
ESTIMATORS = ("auto", "exact", "sampled")
#: Largest group whose 2^g subsets the exact estimator enumerates.
MAX_EXACT_GROUP = 16


@dataclass(frozen=True)
class SeriesItem:
    """One item's series, ready to explain.

    Attributes:
        item_id: The id as it appears in the data (string or number).
        timestamps: One original timestamp value per time step, in time order; step ``t`` of
            every series has timestamp ``timestamps[t]``.
        target: Target values (float64, NaN for null), trailing nulls removed.
        related: One array per related series, same convention (may be longer than ``target``).
        static: Static covariate values as in the data.
    """

    item_id: Any
    timestamps: tuple[Any, ...]
    target: np.ndarray
    related: tuple[np.ndarray, ...]
    static: tuple[Any, ...]

    @property
    def n_steps(self) -> int:
        """Time steps covered by the target and related series."""
        return max([len(self.target), *(len(r) for r in self.related)])


@dataclass(frozen=True)
class TimeSeriesDataset:
    """Every item of a time-series dataset plus the feature names used in the outputs."""

    items: tuple[SeriesItem, ...]
    item_id_name: str
    timestamp_name: str
    target_name: str
    related_names: tuple[str, ...]
    static_names: tuple[str, ...]


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
        # The plan (analyzer.plan.time_series_build) checked the config; these are invariants.
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"granularity must be one of {GRANULARITIES}, got {self.granularity!r}")
        if self.granularity == "fine_grained":
            if self.direction != "chronological":
                raise ValueError(f"fine_grained explanations are chronological only, got {self.direction!r}")
            if not isinstance(self.num_samples, int) or self.num_samples < 1:
                raise ValueError(f"fine_grained needs num_samples >= 1, got {self.num_samples!r}")
        elif self.num_samples:
            raise ValueError("num_samples is only used for fine_grained explanations")
        for key in ("target_baseline", "related_baseline"):
            if getattr(self, key) not in ("zero", "mean"):
                raise ValueError(f"{key} must be 'zero' or 'mean', got {getattr(self, key)!r}")
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
        """Baselines and cell layout of ``item`` under ``spec``."""
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
    """The item's static-covariate baseline (the plan and the loader made sure there is one)."""
    table = spec.static_baseline or {}
    values = table.get(str(item.item_id), table.get(item.item_id))
    if values is None:
        raise ValueError(f"no static-covariate baseline for item {item.item_id!r}")
    if len(values) != len(item.static):
        raise ValueError(
            f"the static-covariate baseline of item {item.item_id!r} has {len(values)} values for "
            f"{len(item.static)} static covariates"
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
