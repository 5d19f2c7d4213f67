"""Time-series explanations end to end: config → dataset → forecasting endpoint → ASV → files.

The entry point for the job runner::

    run = run_time_series(cfg, data_uri=..., output_dir=..., transport=HttpTransport(url),
                          output_uri="s3://bucket/prefix")
    analysis = {"version": "1.0", "explanations": {"asymmetric_shapley_value": run.section}}

The parts are usable on their own: :func:`analyzer.datasets.time_series.load_time_series`,
:func:`asv_spec`, :class:`analyzer.model_client.forecast.ForecastEndpoint`,
:func:`analyzer.explain.asymmetric_shapley.explain_time_series` (pure) and
:func:`analyzer.explain.asv_outputs.write_asv_outputs`.

``methods.report`` is ignored for time series, as the real container does (the SDK adds it,
the logs show no report); :func:`analyzer.report.time_series.time_series_blocks` builds an
optional report section from the result.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from analyzer import storage
from analyzer.config import AnalysisConfig, AsymmetricShapleyValueBaseline
from analyzer.datasets.time_series import TimeSeriesDataset, load_time_series
from analyzer.errors import ConfigError
from analyzer.explain.asv_outputs import asv_section, write_asv_outputs
from analyzer.explain.asymmetric_shapley import AsvResult, AsvSpec, explain_time_series
from analyzer.model_client.forecast import ForecastEndpoint
from analyzer.model_client.transport import Transport

__all__ = ["TimeSeriesRun", "asv_spec", "read_asv_baseline", "run_time_series"]

log = logging.getLogger(__name__)
KEY = "methods.asymmetric_shapley_value.baseline"


def read_asv_baseline(uri: str) -> AsymmetricShapleyValueBaseline:
    """Read a baseline given as a URI: a JSON object with the keys of the inline form.

    INFERRED (the file format is not documented): the same object as the inline
    ``baseline`` — ``target_time_series``, ``related_time_series``, ``static_covariates``.
    """
    try:
        doc = json.loads(storage.read_bytes(uri).decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{KEY}: '{uri}' is not a JSON object: {exc}") from None
    try:
        return AsymmetricShapleyValueBaseline.model_validate(doc)
    except ValidationError as exc:
        lines = [f"{KEY} ('{uri}').{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def asv_spec(
    cfg: AnalysisConfig,
    *,
    uses_related: bool = True,
    uses_static: bool = True,
    estimator: str = "auto",
    seed: int = 0,
) -> AsvSpec:
    """The :class:`AsvSpec` of a time-series config (a baseline URI is read here)."""
    asv = cfg.methods.asymmetric_shapley_value
    if asv is None:
        raise ConfigError(
            "methods.asymmetric_shapley_value: required for time series explainability "
            "(time_series_data_config is set)"
        )
    baseline = asv.baseline
    if isinstance(baseline, str):
        baseline = read_asv_baseline(baseline)
    target = related = "zero"
    static = None
    if baseline is not None:
        target = baseline.target_time_series or "zero"
        related = baseline.related_time_series or "zero"
        static = baseline.static_covariates
    return AsvSpec(
        direction=asv.direction,
        granularity=asv.granularity,
        num_samples=asv.num_samples,
        target_baseline=target,
        related_baseline=related,
        static_baseline=static,
        uses_related=uses_related,
        uses_static=uses_static,
        estimator=estimator,
        seed=seed,
    )


@dataclass(frozen=True)
class TimeSeriesRun:
    """What :func:`run_time_series` produced: the analysis section, the result and the file."""

    section: dict[str, Any]
    result: AsvResult
    dataset: TimeSeriesDataset
    out_path: Path


def run_time_series(
    cfg: AnalysisConfig,
    *,
    data_uri: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    transport: Transport,
    output_uri: str | None = None,
    estimator: str = "auto",
    seed: int = 0,
    client_options: dict[str, Any] | None = None,
    check_stop: Callable[[], None] | None = None,
) -> TimeSeriesRun:
    """Explain every item of a time-series dataset and write ``out.jsonl``.

    Args:
        cfg: A validated config with ``time_series_data_config`` and
            ``methods.asymmetric_shapley_value``.
        data_uri: Dataset file, folder or ``s3://`` URI.
        output_dir: Local folder receiving ``asymmetric_shapley_value/<g>_<d>/out.jsonl``.
        transport: Where the model requests go (it is closed at the end).
        output_uri: Where the outputs are published (the ``analysis_result`` S3 URI); used in
            ``explanation_results_path``. Default: ``output_dir``.
        estimator, seed: See :class:`AsvSpec`.
        client_options: Extra :class:`~analyzer.model_client.ModelClient` arguments.
        check_stop: Called before every batch of model calls; raise from it to stop the job.

    Returns:
        The ``explanations.asymmetric_shapley_value`` section, the result and the file path.
    """
    ts = cfg.time_series_data_config
    if ts is None or cfg.predictor is None:
        raise ConfigError("time_series_data_config and predictor are required for time series explainability")
    dataset = load_time_series(ts, cfg.headers, data_uri)
    log.info("Loaded %d time series items from %s", len(dataset.items), data_uri)
    with ForecastEndpoint.from_predictor(cfg.predictor, transport, **(client_options or {})) as endpoint:
        spec = asv_spec(
            cfg,
            uses_related=endpoint.uses_related,
            uses_static=endpoint.uses_static,
            estimator=estimator,
            seed=seed,
        )
        result = explain_time_series(dataset, spec, endpoint, check_stop=check_stop)
        endpoint.client.log_summary()
    worst = max((item.efficiency_gap for item in result.items), default=0.0)
    log.info("Attributions plus offset reproduce every forecast to within %.3g", worst)
    path = write_asv_outputs(output_dir, result)
    section = asv_section(result, output_uri if output_uri is not None else os.fspath(output_dir))
    return TimeSeriesRun(section, result, dataset, path)
