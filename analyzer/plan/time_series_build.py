"""Plan a time-series job: ``time_series_data_config`` + ``methods.asymmetric_shapley_value``.

:func:`plan_time_series` turns a validated config (the SDK's cross-field rules already hold:
:mod:`analyzer.config_checks`) into an :class:`~analyzer.plan.model.AnalysisPlan` with one
:class:`~analyzer.plan.time_series.TimeSeriesJob`, checking everything else that needs no
data row and no model: every locator compiles (JMESPath or index), the names, the
``forecast`` JMESPath, the request templates (``record_template`` with the time-series
tokens, ``content_template`` with ``$record``/``$records``), the baseline (a URI is read
and checked here) and that static covariates sent to the model have a baseline. Each
message names the key at fault; ``clarify-runner validate`` reports them all, and
``clarify-runner run`` stops on them before the data is loaded and before any endpoint starts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import jmespath
from pydantic import ValidationError

from analyzer.datasets.ts_locate import header_names
from analyzer.errors import UserError
from analyzer.plan import defaults
from analyzer.plan.model import AnalysisPlan, ClientSettings, DatasetPlan, ModelPlan, ReportPlan
from analyzer.plan.time_series import DEFAULT_ASV_ESTIMATOR, TimeSeriesDataPlan, TimeSeriesJob

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import AnalysisConfig, AsymmetricShapleyValueBaseline, TimeSeriesDataConfig

__all__ = ["TS_TOKENS", "plan_time_series"]

KEY = "methods.asymmetric_shapley_value"
DATA_KEY = "time_series_data_config"
#: The placeholders of a time-series ``record_template`` (CC §4.2).
TS_TOKENS = ("$start_time", "$target_time_series", "$related_time_series", "$static_covariates")
_JSON_TYPES = ("application/json", "application/jsonlines")


def _check_locators(ts: TimeSeriesDataConfig, out: list[str]) -> None:
    from analyzer.datasets.ts_locate import compile_locator

    specs: list[tuple[str | int, str]] = [
        (ts.item_id, f"{DATA_KEY}.item_id"),
        (ts.timestamp, f"{DATA_KEY}.timestamp"),
        (ts.target_time_series, f"{DATA_KEY}.target_time_series"),
    ]
    related: Sequence[str | int] = ts.related_time_series or ()
    static: Sequence[str | int] = ts.static_covariates or ()
    specs += [(v, f"{DATA_KEY}.related_time_series[{i}]") for i, v in enumerate(related)]
    specs += [(v, f"{DATA_KEY}.static_covariates[{i}]") for i, v in enumerate(static)]
    for value, key in specs:
        if value == "":
            continue  # the SDK's "Please provide ..." (config checks)
        try:
            compile_locator(value, key)
        except UserError as exc:
            out.append(str(exc))


def _read_baseline_uri(uri: str, out: list[str]) -> AsymmetricShapleyValueBaseline | None:
    """A baseline given as a URI: a JSON object with the keys of the inline form.

    INFERRED (the file format is not documented): the same object as the inline ``baseline``.
    """
    from analyzer import storage
    from analyzer.config import AsymmetricShapleyValueBaseline

    key = f"{KEY}.baseline"
    try:
        doc = json.loads(storage.read_bytes(uri).decode("utf-8-sig"))
    except UserError as exc:
        out.append(f"{key}: cannot read '{uri}': {exc}")
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        out.append(f"{key}: '{uri}' is not a JSON object: {exc}")
        return None
    try:
        return AsymmetricShapleyValueBaseline.model_validate(doc)
    except ValidationError as exc:
        out += [f"{key} ('{uri}').{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return None


def _check_templates(content_type: str, content: str | None, record: str | None, out: list[str]) -> None:
    if not record:
        out.append(
            "predictor.record_template: required for time series explainability; use the tokens "
            f'{", ".join(TS_TOKENS)} (e.g. \'{{"start": $start_time, "target": $target_time_series}}\')'
        )
    elif not any(t in record for t in TS_TOKENS):
        out.append(
            f"predictor.record_template {record!r} holds none of the time-series tokens "
            f"{', '.join(TS_TOKENS)}"
        )
    if content_type == "application/json" and (not content or "$record" not in content):
        out.append(
            f"predictor.content_template: Invalid content_template {content!r}. "
            "Please include either placeholder $records or $record."
        )


def _check_forecast(forecast: str, out: list[str]) -> None:
    key = "predictor.time_series_predictor_config.forecast"
    if not forecast.strip():
        out.append(
            f"{key}: Please provide a string JMESPath expression for ``forecast`` to extract the "
            "forecast result."
        )
        return
    try:
        jmespath.compile(forecast)
    except jmespath.exceptions.JMESPathError as exc:
        out.append(f"{key}: {forecast!r} is not a valid JMESPath expression: {exc}")


def plan_time_series(
    cfg: AnalysisConfig,
    data_uri: str,
    out: list[str],
    *,
    estimator: str = DEFAULT_ASV_ESTIMATOR,
    report_tolerance: float = defaults.DEFAULT_REPORT_TOLERANCE,
) -> AnalysisPlan | None:
    """The plan of a time-series config, or ``None`` with the problems appended to ``out``.

    Args:
        cfg: A validated config with ``time_series_data_config``.
        data_uri: Where the dataset is (``dataset_uri`` or the job's dataset input).
        out: Receives one message per problem (each names its key).
        estimator: fine_grained estimator (``auto``, ``exact`` or ``sampled``).
        report_tolerance: For ``methods.report`` (the report gets a time-series section; Clarify
            itself writes no report for time series).
    """
    ts = cfg.time_series_data_config
    asv = cfg.methods.asymmetric_shapley_value
    p = cfg.predictor
    assert ts is not None
    if asv is None or p is None or p.time_series_predictor_config is None:
        return None  # reported by the config checks (required for time series explainability)
    start = len(out)
    _check_locators(ts, out)
    names = header_names(ts, cfg.headers)

    content_type = defaults.request_content_type(p.content_type, cfg.dataset_type) or "application/json"
    accept_type = defaults.response_accept_type(p.accept_type, content_type) or content_type
    template = p.content_template
    if isinstance(template, dict):
        out.append("predictor.content_template: a mapping is not supported for time series; give a string")
        template = None
    record = p.record_template
    if content_type in _JSON_TYPES:
        _check_templates(content_type, template, record, out)
    forecast = p.time_series_predictor_config.forecast
    _check_forecast(forecast, out)

    baseline = asv.baseline
    if isinstance(baseline, str):
        baseline = _read_baseline_uri(baseline, out)
    target_fill = related_fill = "zero"
    static: Mapping[str, tuple[object, ...]] | None = None
    if baseline is not None:
        target_fill = baseline.target_time_series or "zero"
        related_fill = baseline.related_time_series or "zero"
        if baseline.static_covariates is not None:
            static = {str(k): tuple(v) for k, v in baseline.static_covariates.items()}
    uses_related = record is not None and "$related_time_series" in record
    uses_static = record is not None and "$static_covariates" in record
    n_static = len(ts.static_covariates or [])
    static_players = asv.granularity == "fine_grained" and uses_static and n_static > 0
    if static_players and static is None:
        out.append(
            f"{KEY}.baseline.static_covariates: required for static_covariates: predictor.record_template "
            "sends $static_covariates, so give one baseline value per static covariate for every item id "
            f'(e.g. {{"<item id>": {[0] * n_static}}})'
        )
    if static is not None and isinstance(asv.baseline, str):
        for item_id, values in static.items():  # the inline form is checked by the config checks
            if n_static and len(values) != n_static:
                out.append(
                    f"{KEY}.baseline.static_covariates: Length of baseline entry for {item_id} does not "
                    f"match number of static covariate columns ({len(values)} != {n_static})"
                )
    if estimator not in ("auto", "exact", "sampled"):
        out.append(f"fine_grained estimator {estimator!r} is unknown; use auto, exact or sampled")
    if len(out) > start:
        return None

    data = TimeSeriesDataPlan(
        item_id=ts.item_id,
        timestamp=ts.timestamp,
        target_time_series=ts.target_time_series,
        related_time_series=tuple(ts.related_time_series) if ts.related_time_series is not None else None,  # type: ignore[arg-type]
        static_covariates=tuple(ts.static_covariates) if ts.static_covariates is not None else None,  # type: ignore[arg-type]
        dataset_format=ts.dataset_format,
        names=names,
        static_baseline_ids=frozenset(static) if static_players and static is not None else None,
    )
    dataset = DatasetPlan(
        uri=data_uri,
        dataset_type=cfg.dataset_type,
        headers=tuple(cfg.headers) if cfg.headers is not None else None,
        features=None,
        label_expression=None,
        predicted_label_expression=None,
        hint_names=(),
        columns=names,
        feature_columns=names[2:],
        time_series=data,
    )
    job = TimeSeriesJob(
        direction=asv.direction,
        granularity=asv.granularity,
        num_samples=asv.num_samples,
        target_baseline=target_fill,
        related_baseline=related_fill,
        static_baseline=static,
        forecast=forecast,
        uses_related=uses_related,
        uses_static=uses_static,
        estimator=estimator,
    )
    client = ClientSettings(
        content_type=content_type,
        accept_type=accept_type,
        content_template=template,
        record_template=record,
        custom_attributes=p.custom_attributes,
        target_model=p.target_model,
        use_fast_path=False,
    )
    report = None
    if cfg.methods.report is not None:
        report = ReportPlan(
            name=cfg.methods.report.name or defaults.DEFAULT_REPORT_NAME,
            title=cfg.methods.report.title or defaults.DEFAULT_REPORT_TITLE,
            tolerance=report_tolerance,
        )
    from analyzer.plan.build import _target

    return AnalysisPlan(
        dataset=dataset, jobs=(job,), model=ModelPlan(target=_target(p), client=client), report=report
    )
