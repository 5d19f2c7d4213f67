"""Build the :class:`~analyzer.plan.model.AnalysisPlan` from a config and the dataset header.

:func:`build_plan` raises one error listing every problem; :func:`plan_problems` returns
them (for ``clarify-runner validate``). Everything that can be checked without the data
rows and without the model is checked here, before the data is loaded and before any
endpoint starts: column roles, ``features_to_explain``, ``methods.pdp.features``, response
locators, template placeholders. Each message names the key at fault.

Adding a job kind: write its ``_<kind>_job`` function here (resolve names against
``dataset.feature_columns``, append problems, apply :mod:`analyzer.plan.defaults`), and call
it from :func:`_plan` in execution order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jmespath

from analyzer.datasets.header import DatasetHeader
from analyzer.errors import ConfigError, DatasetError, NotSupportedError
from analyzer.plan import defaults
from analyzer.plan.dataset import plan_dataset
from analyzer.plan.images import is_image_job, plan_image_job
from analyzer.plan.model import (
    AnalysisJob,
    AnalysisPlan,
    BaselineSource,
    BiasJob,
    BiasStage,
    ClientSettings,
    ClusteredBaseline,
    DatasetPlan,
    EndpointTarget,
    FacetPlan,
    InlineBaseline,
    Locator,
    ModelPlan,
    PdpJob,
    ReportPlan,
    ShapJob,
    UriBaseline,
)
from analyzer.plan.text import plan_text_job

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import AnalysisConfig, Predictor

__all__ = ["PlanOptions", "build_plan", "plan_problems"]

_CLIENT_CONTENT_TYPES = ("text/csv", "application/jsonlines", "application/json", "application/x-npy")
_TEMPLATE_REF = "${"


@dataclass(frozen=True)
class PlanOptions:
    """Settings of a run that are not in ``analysis_config.json`` (command-line flags)."""

    shap_estimator: str = defaults.DEFAULT_SHAP_ESTIMATOR
    report_tolerance: float = defaults.DEFAULT_REPORT_TOLERANCE
    #: Deadlines of model calls (``CLARIFY_RUNNER_REQUEST_TIMEOUT``, ``_MAX_RETRIES``,
    #: ``_MODEL_DEADLINE``; the job reads them from :mod:`analyzer.settings`).
    request_timeout: float = defaults.DEFAULT_REQUEST_TIMEOUT
    max_retries: int = defaults.DEFAULT_MAX_RETRIES
    model_deadline: float | None = defaults.DEFAULT_MODEL_DEADLINE


class _Problems:
    """Problems found while planning, each tagged as a dataset or a config problem."""

    def __init__(self) -> None:
        self.dataset: list[str] = []
        self.config: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.dataset or self.config)

    def all(self) -> list[str]:
        return [*self.dataset, *self.config]


def plan_problems(
    cfg: AnalysisConfig, header: DatasetHeader, data_uri: str, options: PlanOptions | None = None
) -> list[str]:
    """Every problem :func:`build_plan` would report, one message each (empty: the plan builds)."""
    plan, problems = _plan(cfg, header, data_uri, options or PlanOptions())
    return problems.all()


def build_plan(
    cfg: AnalysisConfig, header: DatasetHeader, data_uri: str, options: PlanOptions | None = None
) -> AnalysisPlan:
    """Resolve every setting of ``cfg`` against ``header``.

    Args:
        cfg: A validated config (:func:`analyzer.config.load_config`).
        header: The dataset's column names (:func:`analyzer.datasets.header.read_header`).
        data_uri: Where the dataset is (``dataset_uri`` or the job's dataset input).
        options: Command-line settings (SHAP estimator, report tolerance).

    Raises:
        DatasetError: only column problems (Clarify's texts, one per line).
        ConfigError: a config key that does not fit the data (and maybe column problems too).
    """
    plan, problems = _plan(cfg, header, data_uri, options or PlanOptions())
    if problems or plan is None:
        error = DatasetError if not problems.config else ConfigError
        raise error("\n".join(problems.all()))
    return plan


def _plan(
    cfg: AnalysisConfig, header: DatasetHeader, data_uri: str, options: PlanOptions
) -> tuple[AnalysisPlan | None, _Problems]:
    problems = _Problems()
    if cfg.time_series_data_config is not None:  # its own job kind: analyzer.plan.time_series_build
        from analyzer.plan.time_series_build import plan_time_series

        ts_plan = plan_time_series(cfg, data_uri, problems.config, report_tolerance=options.report_tolerance)
        return ts_plan, problems
    dataset, dataset_problems = plan_dataset(cfg, header, data_uri)
    problems.dataset += dataset_problems
    if dataset is None:
        return None, problems  # no feature column known: nothing else can be checked
    model = _model_plan(cfg, dataset, problems, options)
    label_headers = model.client.label_headers if model is not None else None
    jobs: list[AnalysisJob] = []
    for stage in ("post_training", "pre_training"):
        bias = _bias_job(cfg, dataset, stage)
        if bias is not None:
            jobs.append(bias)
    shap = _shap_job(cfg, dataset, options, label_headers, problems)
    if shap is not None and cfg.methods.shap is not None and cfg.methods.shap.text_config is not None:
        jobs.append(plan_text_job(cfg, shap, dataset, problems.config))
    elif shap is not None:
        jobs.append(shap)
    pdp = _pdp_job(cfg, dataset, label_headers, problems)
    if pdp is not None:
        jobs.append(pdp)
    if is_image_job(cfg):  # methods.shap on images: replaces the tabular SHAP job
        image_job = plan_image_job(cfg, model.client if model is not None else None, problems.config)
        jobs[:] = [j for j in jobs if not isinstance(j, ShapJob)] + ([image_job] if image_job else [])
    report = None
    if cfg.methods.report is not None:
        report = ReportPlan(
            name=cfg.methods.report.name or defaults.DEFAULT_REPORT_NAME,
            title=cfg.methods.report.title or defaults.DEFAULT_REPORT_TITLE,
            tolerance=options.report_tolerance,
        )
    if problems:
        return None, problems
    if not any(j.needs_model for j in jobs):
        model = None
    return AnalysisPlan(dataset=dataset, jobs=tuple(jobs), model=model, report=report), problems


# ------------------------------------------------------------------------------- jobs


def _bias_job(cfg: AnalysisConfig, dataset: DatasetPlan, stage: BiasStage) -> BiasJob | None:
    section = cfg.methods.pre_training_bias if stage == "pre_training" else cfg.methods.post_training_bias
    if section is None or dataset.label is None:
        return None
    post = stage == "post_training"
    threshold = cfg.probability_threshold
    return BiasJob(
        stage=stage,
        label=dataset.label,
        label_values_or_threshold=tuple(cfg.label_values_or_threshold or ()),
        facets=tuple(
            FacetPlan(
                column=dataset.facet_columns[f.name_or_index],
                value_or_threshold=tuple(f.value_or_threshold) if f.value_or_threshold is not None else None,
            )
            for f in cfg.facet or []
            if f.name_or_index in dataset.facet_columns  # the others are reported as column problems
        ),
        metrics=tuple(section.metric_names(stage)),
        group_variable=dataset.group_variable,
        ft_features=dataset.feature_columns,
        predicted_label=dataset.predicted_label if post else None,
        probability_threshold=(
            (defaults.DEFAULT_PROBABILITY_THRESHOLD if threshold is None else threshold) if post else None
        ),
    )


def _feature_indices(
    names: Sequence[str | int], features: Sequence[str], key: str, problems: list[str]
) -> list[int]:
    out: list[int] = []
    for name in names:
        if isinstance(name, int):
            if not 0 <= name < len(features):
                problems.append(f"{key}: feature index {name} is out of range (0..{len(features) - 1})")
                continue
            index = name
        elif name in features:
            index = list(features).index(name)
        else:
            problems.append(
                f"Feature names not found. {key}: {name!r} is not one of the features {list(features)}"
            )
            continue
        if index in out:
            problems.append(f"{key}: feature {features[index]!r} is listed twice")
            continue
        out.append(index)
    return out


def _baseline(cfg: AnalysisConfig) -> BaselineSource:
    shap = cfg.methods.shap
    assert shap is not None
    if isinstance(shap.baseline, str):
        return UriBaseline(shap.baseline)
    if shap.baseline is not None:
        return InlineBaseline(shap.baseline)
    return ClusteredBaseline(shap.num_clusters)


def _shap_job(
    cfg: AnalysisConfig,
    dataset: DatasetPlan,
    options: PlanOptions,
    label_headers: tuple[str | int, ...] | None,
    problems: _Problems,
) -> ShapJob | None:
    shap = cfg.methods.shap
    if shap is None:
        return None
    if options.shap_estimator not in defaults.SHAP_ESTIMATORS:
        problems.config.append(
            "--shap-estimator / CLARIFY_RUNNER_SHAP_ESTIMATOR: unknown SHAP estimator "
            f"{options.shap_estimator!r}; "
            f"use one of {', '.join(defaults.SHAP_ESTIMATORS)}"
        )
    explained = None
    if shap.features_to_explain is not None:
        explained = tuple(
            _feature_indices(
                shap.features_to_explain,
                dataset.feature_columns,
                "methods.shap.features_to_explain",
                problems.config,
            )
        )
    return ShapJob(
        features=dataset.feature_columns,
        explained=explained,
        baseline=_baseline(cfg),
        num_samples=shap.num_samples,
        seed=shap.seed,
        use_logit=defaults.DEFAULT_USE_LOGIT if shap.use_logit is None else shap.use_logit,
        agg_method=shap.agg_method or defaults.DEFAULT_AGG_METHOD,
        save_local_shap_values=(
            defaults.DEFAULT_SAVE_LOCAL_SHAP_VALUES
            if shap.save_local_shap_values is None
            else shap.save_local_shap_values
        ),
        estimator=options.shap_estimator,
        label_headers=label_headers,
    )


def _pdp_job(
    cfg: AnalysisConfig,
    dataset: DatasetPlan,
    label_headers: tuple[str | int, ...] | None,
    problems: _Problems,
) -> PdpJob | None:
    pdp = cfg.methods.pdp
    if pdp is None:
        return None
    features = None
    if pdp.features:
        key = "methods.pdp.features"
        indices = _feature_indices(pdp.features, dataset.feature_columns, key, problems.config)
        features = tuple(dataset.feature_columns[i] for i in indices)
    return PdpJob(
        features=features,
        top_k_features=defaults.DEFAULT_TOP_K_FEATURES if pdp.top_k_features is None else pdp.top_k_features,
        grid_resolution=(
            defaults.DEFAULT_GRID_RESOLUTION if pdp.grid_resolution is None else pdp.grid_resolution
        ),
        label_headers=label_headers,
    )


# ------------------------------------------------------------------------------- model


def _locator(value: str | int | None, accept_type: str, key: str, problems: list[str]) -> Locator | None:
    """A response locator checked for ``accept_type``: an int index for CSV, else JMESPath or index."""
    if value is None:
        return None
    if isinstance(value, int):
        if value < 0:
            problems.append(f"{key}: must be a non-negative column index, got {value}")
        return value
    text = value.strip()
    if accept_type == "text/csv":
        if text.isdigit():
            return int(text)
        problems.append(f"{key}: {value!r} must be a column index for accept_type text/csv")
        return None
    try:
        jmespath.compile(text)
    except jmespath.exceptions.JMESPathError as exc:
        problems.append(f"{key}: {value!r} is not a valid JMESPath expression: {exc}")
        return None
    return text


def _template_refs(template: str) -> list[str]:
    """The ``"${name}"`` feature references of a record template."""
    refs: list[str] = []
    pos = template.find(_TEMPLATE_REF)
    while pos >= 0:
        end = template.find("}", pos)
        if end < 0:
            break
        refs.append(template[pos + 2 : end])
        pos = template.find(_TEMPLATE_REF, end)
    return refs


def _model_plan(
    cfg: AnalysisConfig, dataset: DatasetPlan, problems: _Problems, options: PlanOptions
) -> ModelPlan | None:
    p = cfg.predictor
    if p is None:
        return None
    out = problems.config
    content_type = defaults.request_content_type(p.content_type, cfg.dataset_type)
    accept_type = defaults.response_accept_type(p.accept_type, content_type)
    if content_type is None or accept_type is None:
        return None  # reported by the config checks (content_type required for this dataset_type)
    needs_model = cfg.needs_predictor()
    if needs_model and content_type not in _CLIENT_CONTENT_TYPES and not is_image_job(cfg):
        raise NotSupportedError(
            f"predictor.content_type {content_type!r} is not supported for tabular data; "
            f"use one of {', '.join(_CLIENT_CONTENT_TYPES)}"
        )
    template = p.content_template
    if isinstance(template, dict):
        if needs_model:
            raise NotSupportedError("predictor.content_template as a mapping is not supported")
        template = None
    if content_type == "application/json" and p.record_template is not None:
        for name in _template_refs(p.record_template):
            if name not in dataset.feature_columns:
                out.append(
                    f"predictor.record_template refers to feature {name!r}, which is not one of the "
                    f"feature names {list(dataset.feature_columns)}"
                )
    label = _locator(p.label, accept_type, "predictor.label", out)
    probability = _locator(p.probability, accept_type, "predictor.probability", out)
    client = ClientSettings(
        content_type=content_type,
        accept_type=accept_type,
        content_template=template,
        record_template=p.record_template,
        label=label,
        probability=probability,
        label_headers=tuple(p.label_headers) if p.label_headers is not None else None,
        custom_attributes=p.custom_attributes,
        target_model=p.target_model,
        request_timeout=options.request_timeout,
        max_retries=options.max_retries,
        deadline=options.model_deadline,
    )
    return ModelPlan(target=_target(p), client=client)


def _target(p: Predictor) -> EndpointTarget:
    return EndpointTarget(
        endpoint_name=p.endpoint_name,
        model_name=p.model_name,
        endpoint_name_prefix=p.endpoint_name_prefix,
        instance_type=p.instance_type,
        initial_instance_count=1 if p.initial_instance_count is None else p.initial_instance_count,
        accelerator_type=p.accelerator_type,
    )
