"""Time-series explanations end to end: plan → series → forecasting endpoint → ASV → files.

``clarify-runner run`` executes a :class:`~analyzer.plan.time_series.TimeSeriesJob` through
:func:`analyzer.runner.execute_plan`, which calls :func:`explain_series`. For use as a
library, :func:`run_time_series` does the same from a config and a transport::

    run = run_time_series(cfg, data_uri=..., output_dir=..., transport=HttpTransport(url),
                          output_uri="s3://bucket/prefix")
    analysis = {"version": "1.0", "explanations": {"asymmetric_shapley_value": run.section}}

The parts: :func:`analyzer.plan.time_series_build.plan_time_series` (every config check),
:func:`analyzer.datasets.time_series.load_planned_series`,
:class:`analyzer.model_client.forecast.ForecastEndpoint`,
:func:`analyzer.explain.asymmetric_shapley.explain_time_series` (pure) and
:func:`analyzer.output_time_series.write_asv_outputs`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.config import AnalysisConfig
from analyzer.errors import ConfigError
from analyzer.explain.asv_game import TimeSeriesDataset
from analyzer.explain.asv_outputs import asv_section
from analyzer.explain.asymmetric_shapley import AsvResult, AsvSpec, explain_time_series
from analyzer.model_client.forecast import ForecastEndpoint
from analyzer.model_client.transport import Transport
from analyzer.output_time_series import write_asv_outputs
from analyzer.plan.model import AnalysisPlan
from analyzer.plan.time_series import DEFAULT_ASV_ESTIMATOR, DEFAULT_ASV_SEED, TimeSeriesJob

__all__ = ["TimeSeriesRun", "asv_spec", "explain_series", "plan_for", "run_time_series"]

log = logging.getLogger(__name__)


def asv_spec(job: TimeSeriesJob) -> AsvSpec:
    """The engine's :class:`AsvSpec` of a planned job."""
    return AsvSpec(
        direction=job.direction,
        granularity=job.granularity,
        num_samples=job.num_samples,
        target_baseline=job.target_baseline,
        related_baseline=job.related_baseline,
        static_baseline=job.static_baseline,
        uses_related=job.uses_related,
        uses_static=job.uses_static,
        estimator=job.estimator,
        seed=job.seed,
    )


@dataclass(frozen=True)
class TimeSeriesRun:
    """What :func:`explain_series` produced: the analysis section, the result and the file."""

    section: dict[str, Any]
    result: AsvResult
    dataset: TimeSeriesDataset
    out_path: Path


def explain_series(
    job: TimeSeriesJob,
    dataset: TimeSeriesDataset,
    endpoint: ForecastEndpoint,
    *,
    output_dir: str | os.PathLike[str],
    output_uri: str | os.PathLike[str] | None = None,
    output_location: str | None = None,
    check_stop: Callable[[], None] | None = None,
) -> TimeSeriesRun:
    """Explain every item of ``dataset`` with the model behind ``endpoint``; write ``out.jsonl``.

    Args:
        job: The planned job (direction, granularity, baselines, forecast locator).
        dataset: The items (:func:`analyzer.datasets.time_series.load_planned_series`).
        endpoint: The forecasting model (not closed here).
        output_dir: Local folder receiving ``asymmetric_shapley_value/<g>_<d>/out.jsonl``.
        output_uri: Where the outputs are published (the ``analysis_result`` S3 URI, or the
            final local folder); used in ``explanation_results_path``. Default: ``output_dir``.
        output_location: Where the outputs end up (a folder or an ``s3://`` prefix), for the
            ``Wrote <n> lines to <path>`` log line when ``output_dir`` is a staging folder.
            Default: ``output_dir``.
        check_stop: Called before every batch of model calls; raise from it to stop the job.

    Returns:
        The ``explanations.asymmetric_shapley_value`` section, the result and the file path.
    """
    log.info("Explaining %d time series items (%s, %s)", len(dataset.items), job.granularity, job.direction)
    result = explain_time_series(dataset, asv_spec(job), endpoint, check_stop=check_stop)
    worst = max((item.efficiency_gap for item in result.items), default=0.0)
    log.info("Attributions plus offset reproduce every forecast to within %.3g", worst)
    path = write_asv_outputs(output_dir, result, shown_location=output_location)
    section = asv_section(result, output_uri if output_uri is not None else os.fspath(output_dir))
    return TimeSeriesRun(section, result, dataset, path)


def plan_for(
    cfg: AnalysisConfig, data_uri: str | os.PathLike[str], *, estimator: str = DEFAULT_ASV_ESTIMATOR
) -> AnalysisPlan:
    """The plan of a time-series config; raises :class:`ConfigError` listing every problem."""
    from analyzer.plan.time_series_build import plan_time_series

    if cfg.time_series_data_config is None:
        raise ConfigError("time_series_data_config: required for time series explainability")
    problems: list[str] = []
    plan = plan_time_series(cfg, os.fspath(data_uri), problems, estimator=estimator)
    if plan is None:
        raise ConfigError(
            "\n".join(problems)
            or "methods.asymmetric_shapley_value, predictor and predictor.time_series_predictor_config "
            "are required for time series explainability"
        )
    return plan


def run_time_series(
    cfg: AnalysisConfig,
    *,
    data_uri: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    transport: Transport,
    output_uri: str | None = None,
    estimator: str = DEFAULT_ASV_ESTIMATOR,
    seed: int = DEFAULT_ASV_SEED,
    client_options: dict[str, Any] | None = None,
    check_stop: Callable[[], None] | None = None,
) -> TimeSeriesRun:
    """Plan, load and explain a time-series config against ``transport``; write ``out.jsonl``.

    Args:
        cfg: A validated config (:func:`analyzer.config.load_config`) with
            ``time_series_data_config`` and ``methods.asymmetric_shapley_value``.
        data_uri: Dataset file, folder or ``s3://`` URI.
        output_dir, output_uri, check_stop: See :func:`explain_series`.
        transport: Where the model requests go (it is closed at the end).
        estimator, seed: The fine_grained estimator and its seed (see :class:`AsvSpec`).
        client_options: Extra :class:`~analyzer.model_client.ModelClient` arguments.

    Raises:
        ConfigError: a config problem (every one, as ``clarify-runner validate`` lists them).
    """
    from analyzer.datasets.time_series import load_planned_series

    plan = plan_for(cfg, data_uri, estimator=estimator)
    job = plan.job(TimeSeriesJob)
    assert job is not None and plan.model is not None
    job = dataclasses.replace(job, seed=seed)
    series = load_planned_series(plan.dataset).series
    assert series is not None
    with ForecastEndpoint.for_plan(
        transport, plan.model.client, job.forecast, **(client_options or {})
    ) as ep:
        run = explain_series(
            job, series, ep, output_dir=output_dir, output_uri=output_uri, check_stop=check_stop
        )
        ep.client.log_summary()
    return run
