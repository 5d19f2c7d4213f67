"""The time-series parts of the analysis plan: how to read the series and what to explain.

Pure data, like :mod:`analyzer.plan.model` (which puts :class:`TimeSeriesJob` in the
:data:`~analyzer.plan.model.AnalysisJob` union and :class:`TimeSeriesDataPlan` in
:class:`~analyzer.plan.model.DatasetPlan`). They are built by
:func:`analyzer.plan.time_series_build.plan_time_series` from ``time_series_data_config``,
``methods.asymmetric_shapley_value`` and ``predictor.time_series_predictor_config``; every
config key is checked there, before the data is loaded and before any endpoint starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_ASV_ESTIMATOR", "DEFAULT_ASV_SEED", "ASV_SECTION", "TimeSeriesDataPlan", "TimeSeriesJob"]

#: Key of the time-series section in ``analysis.json``'s ``explanations``.
ASV_SECTION = "asymmetric_shapley_value"
#: fine_grained groups: exact when it needs no more model calls than sampling (see
#: :mod:`analyzer.explain.asymmetric_shapley`); Clarify has no such setting.
DEFAULT_ASV_ESTIMATOR = "auto"
#: Seed of the sampled fine_grained estimator (Clarify's config has no seed for it).
DEFAULT_ASV_SEED = 0


@dataclass(frozen=True)
class TimeSeriesDataPlan:
    """``time_series_data_config`` checked: the locators, the layout and the feature names.

    The locator attributes keep the config's names (JMESPath strings or column indices), so
    the reader takes this plan or the config section alike. ``names`` are item id, timestamp,
    target, related... and static... names in that order (``headers``, else from the
    locators). ``static_baseline_ids`` are the item ids that have a static-covariate
    baseline when the static covariates are players (``None``: they are not), so the loader
    reports an item without one before any endpoint starts.
    """

    item_id: str | int
    timestamp: str | int
    target_time_series: str | int
    related_time_series: tuple[str, ...] | tuple[int, ...] | None
    static_covariates: tuple[str, ...] | tuple[int, ...] | None
    dataset_format: str | None
    names: tuple[str, ...]
    static_baseline_ids: frozenset[str] | None = None


@dataclass(frozen=True)
class TimeSeriesJob:
    """``methods.asymmetric_shapley_value``: asymmetric Shapley values of every item's forecast.

    Baselines are resolved (a baseline URI is read while planning): ``target_baseline`` and
    ``related_baseline`` are ``"zero"`` or ``"mean"``, ``static_baseline`` maps an item id (as
    a string) to one value per static covariate. ``uses_related`` / ``uses_static`` say whether
    ``predictor.record_template`` sends the related series / static covariates (parts that
    are not sent are not players). ``forecast`` is the JMESPath of
    ``time_series_predictor_config``.
    """

    direction: str
    granularity: str
    num_samples: int | None
    target_baseline: str
    related_baseline: str
    static_baseline: Mapping[str, tuple[object, ...]] | None
    forecast: str
    uses_related: bool
    uses_static: bool
    estimator: str = DEFAULT_ASV_ESTIMATOR
    seed: int = DEFAULT_ASV_SEED

    @property
    def needs_model(self) -> bool:
        """Explanations of forecasts always call the model."""
        return True

    @property
    def results_dir(self) -> str:
        """``asymmetric_shapley_value/<granularity>_<direction>`` (Clarify's output folder)."""
        return f"{ASV_SECTION}/{self.granularity}_{self.direction}"
