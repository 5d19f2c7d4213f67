"""Cross-field checks of an ``analysis_config.json`` that passed the schema, and support checks.

Spec: ``clarify-contract.md`` §2 (what each key needs), §5 (the SDK's checks and their
texts) and §6. Messages start with the key path at fault and reuse the SDK's wording
where it has one. The config object is an :class:`analyzer.config.AnalysisConfig`; this
module only reads its attributes (no runtime import of :mod:`analyzer.config`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analyzer.bias import registry as _registry
from analyzer.errors import NotSupportedError
from analyzer.plan.defaults import request_content_type, response_accept_type

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import AnalysisConfig, Predictor

__all__ = [
    "ALL_POST_TRAINING",
    "ALL_PRE_TRAINING",
    "POST_TRAINING_METRICS",
    "PRE_TRAINING_METRICS",
    "Problem",
    "ensure_supported",
    "semantic_problems",
    "split_metric_names",
    "unsupported_features",
]

# The names come from the bias engine's registry, sorted as Clarify lists them.
PRE_TRAINING_METRICS = tuple(sorted(_registry.PRE_TRAINING_METRICS))
POST_TRAINING_METRICS = tuple(sorted(_registry.POST_TRAINING_METRICS))
#: What ``"all"`` computes: the metrics found in real container outputs (spec §2.3: no SD, GE).
ALL_PRE_TRAINING = tuple(sorted(_registry.CLARIFY_ALL["pre_training"]))
ALL_POST_TRAINING = tuple(sorted(_registry.CLARIFY_ALL["post_training"]))

ENDPOINT_NAME_PREFIX_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
ENDPOINT_NAME_PREFIX_MAX = 23
CUSTOM_ATTRIBUTES_MAX = 1024
_TABULAR_JSON = ("application/jsonlines", "application/json")
_NOT_SUPPORTED = "is not supported yet by clarify-runner"


@dataclass(frozen=True)
class Problem:
    """One cross-field problem: the key paths it depends on and the message shown to the user."""

    keys: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return self.message


def split_metric_names(methods: str | list[str]) -> list[str]:
    """The metric names of a ``methods`` value: a list, or a string (``"all"``, ``"CI"``, ``"CI,DPL"``)."""
    if isinstance(methods, str):
        return [part.strip() for part in methods.split(",") if part.strip()]
    return [name.strip() for name in methods]


def semantic_problems(cfg: AnalysisConfig) -> list[Problem]:
    """Every cross-field problem of a schema-valid config (empty list when there is none)."""
    problems: list[Problem] = []
    for check in (
        _check_version,
        _check_methods_present,
        _check_bias,
        _check_probability_threshold,
        _check_metric_names,
        _check_predictor_needed,
        _check_dataset_type_keys,
        _check_headers,
        _check_predictor,
        _check_shap,
        _check_pdp,
        _check_time_series,
        _check_segments,
    ):
        problems += check(cfg)
    return problems


# --------------------------------------------------------------------------------- checks


def _check_version(cfg: AnalysisConfig) -> list[Problem]:
    if cfg.version is not None and cfg.version != "1.0":
        return [
            Problem(
                ("version",),
                f'version: unsupported version {cfg.version!r}; the only supported version is "1.0"',
            )
        ]
    return []


def _check_methods_present(cfg: AnalysisConfig) -> list[Problem]:
    if cfg.methods.requested():
        return []
    names = ("pre_training_bias", "post_training_bias", "shap", "pdp", "asymmetric_shapley_value")
    return [
        Problem(
            tuple(f"methods.{n}" for n in names),
            "methods: analysis_config must have at least one working method: one of "
            + ", ".join(names)
            + " (report alone is not an analysis)",
        )
    ]


def _bias_stages(cfg: AnalysisConfig) -> list[str]:
    return [
        f"methods.{s}"
        for s in ("pre_training_bias", "post_training_bias")
        if getattr(cfg.methods, s) is not None
    ]


def _check_bias(cfg: AnalysisConfig) -> list[Problem]:
    stages = _bias_stages(cfg)
    if not stages or cfg.time_series_data_config is not None:
        return []
    by = " and ".join(stages)
    out: list[Problem] = []
    if cfg.label is None:
        out.append(Problem(("label", *stages), f"label: required by {by} (the ground-truth label column)"))
    if not cfg.label_values_or_threshold:
        out.append(
            Problem(
                ("label_values_or_threshold", *stages),
                f"label_values_or_threshold: required by {by}: "
                "Positive label values or thresholds are empty for Label column",
            )
        )
    if not cfg.facet:
        out.append(Problem(("facet", *stages), f"facet: required by {by}: Please provide at least one facet"))
    return out


def _check_probability_threshold(cfg: AnalysisConfig) -> list[Problem]:
    t = cfg.probability_threshold
    if t is None or 0.0 <= t <= 1.0:
        return []
    return [
        Problem(
            ("probability_threshold",),
            f"probability_threshold: must be between 0 and 1 (a score above it is the positive label), "
            f"got {t!r}",
        )
    ]


def _check_metric_names(cfg: AnalysisConfig) -> list[Problem]:
    out: list[Problem] = []
    for stage, known in (
        ("pre_training_bias", PRE_TRAINING_METRICS),
        ("post_training_bias", POST_TRAINING_METRICS),
    ):
        bias = getattr(cfg.methods, stage)
        if bias is None:
            continue
        key = f"methods.{stage}.methods"
        names = split_metric_names(bias.methods)
        if not names:
            out.append(Problem((key,), f'{key}: name at least one metric, or "all"'))
        allowed = "all, " + ", ".join(known)
        for name in names:
            if name.lower() != "all" and name.upper() not in known:
                kind = stage.replace("_bias", "").replace("_", "-")
                out.append(
                    Problem((key,), f"{key}: unknown {kind} bias metric {name!r} (allowed: {allowed})")
                )
    return out


def _check_predictor_needed(cfg: AnalysisConfig) -> list[Problem]:
    if cfg.predictor is not None:
        return []
    needed = cfg.needs_predictor()
    if not needed:
        return []
    message = f"predictor: required by {', '.join(needed)} (the model must be called)"
    keys: tuple[str, ...] = ("predictor", *needed)
    if "methods.post_training_bias" in needed:
        message += (
            "; for methods.post_training_bias, predicted_label or predicted_label_dataset_uri"
            " can be given instead"
        )
        keys += ("predicted_label", "predicted_label_dataset_uri")
    return [Problem(keys, message)]


def _not_for_type(keys: str, dataset_type: str) -> str:
    return (
        f"The parameter{'s' if ' and ' in keys else ''} {keys} {'are' if ' and ' in keys else 'is'} not "
        "supported "
        f"for dataset_type '{dataset_type}'. Please check the API documentation for the supported dataset "
        "types."
    )


def _check_dataset_type_keys(cfg: AnalysisConfig) -> list[Problem]:
    out: list[Problem] = []
    dt = cfg.dataset_type
    is_ts = cfg.time_series_data_config is not None
    if dt in _TABULAR_JSON and not is_ts and cfg.features is None:
        out.append(
            Problem(
                ("features", "dataset_type"), f"features: features JMESPath is required for {dt} dataset_type"
            )
        )
    if dt != "text/csv":
        for uri, headers in (
            ("facet_dataset_uri", "facet_headers"),
            ("predicted_label_dataset_uri", "predicted_label_headers"),
        ):
            present = [k for k in (uri, headers) if getattr(cfg, k) is not None]
            if present:
                text = _not_for_type(f"'{uri}' and '{headers}'", dt)
                out.append(Problem((*present, "dataset_type"), f"{present[0]}: {text}"))
    if dt == "application/x-image":
        for key in ("predicted_label", "excluded_columns"):
            if getattr(cfg, key) is not None:
                out.append(Problem((key, "dataset_type"), f"{key}: {_not_for_type(repr(key), dt)}"))
    return out


def _check_headers(cfg: AnalysisConfig) -> list[Problem]:
    out: list[Problem] = []
    for key in ("headers", "predicted_label_headers", "facet_headers"):
        values = getattr(cfg, key)
        if not values:
            continue
        seen: set[str] = set()
        for name in values:
            if name in seen:
                out.append(Problem((key,), f"{key}: duplicate column name {name!r}"))
            seen.add(name)
    return out


def _template_text(template: str | dict[str, str]) -> str:
    return template if isinstance(template, str) else " ".join(template.values())


def _check_predictor(cfg: AnalysisConfig) -> list[Problem]:
    p = cfg.predictor
    if p is None:
        return []
    out = _check_predictor_target(p)
    out += _check_predictor_templates(cfg, p)
    if p.custom_attributes is not None:
        attrs = p.custom_attributes
        if len(attrs) > CUSTOM_ATTRIBUTES_MAX or any(not (0x20 <= ord(c) <= 0x7E) for c in attrs):
            out.append(
                Problem(
                    ("predictor.custom_attributes",),
                    f"predictor.custom_attributes: must be at most {CUSTOM_ATTRIBUTES_MAX} visible "
                    "US-ASCII characters",
                )
            )
    if cfg.dataset_type == "application/x-image" and not p.label_headers:
        out.append(
            Problem(
                ("predictor.label_headers", "dataset_type"),
                "predictor.label_headers: required for dataset_type application/x-image (the class names)",
            )
        )
    content_type = request_content_type(p.content_type, cfg.dataset_type)
    if cfg.dataset_type != "application/x-image" and content_type and content_type.startswith("image/"):
        out.append(
            Problem(
                ("predictor.content_type", "dataset_type"),
                f"predictor.content_type: {content_type} requests carry images; they need dataset_type "
                "application/x-image",
            )
        )
    return out


def _check_predictor_target(p: Predictor) -> list[Problem]:
    out: list[Problem] = []
    if p.endpoint_name is None and p.model_name is None:
        out.append(
            Problem(
                ("predictor.endpoint_name", "predictor.model_name"),
                "predictor: one of endpoint_name (an existing endpoint) or model_name "
                "(with instance_type and initial_instance_count, for a shadow endpoint) is required",
            )
        )
    if p.model_name is not None and p.endpoint_name is None:
        for key in ("instance_type", "initial_instance_count"):
            if getattr(p, key) is None:
                out.append(
                    Problem(
                        (f"predictor.{key}",),
                        f"predictor.{key}: required with predictor.model_name (shadow endpoint)",
                    )
                )
    if p.initial_instance_count is not None and p.initial_instance_count < 1:
        out.append(
            Problem(
                ("predictor.initial_instance_count",),
                f"predictor.initial_instance_count: must be at least 1, got {p.initial_instance_count}",
            )
        )
    prefix = p.endpoint_name_prefix
    if prefix is not None:
        key = "predictor.endpoint_name_prefix"
        if p.endpoint_name is not None:
            out.append(
                Problem(
                    (key, "predictor.endpoint_name"),
                    f"{key}: cannot be combined with predictor.endpoint_name (it names the shadow endpoint "
                    "created from model_name)",
                )
            )
        if not ENDPOINT_NAME_PREFIX_RE.match(prefix):
            out.append(
                Problem(
                    (key,),
                    f"{key}: Invalid endpoint_name_prefix {prefix!r}. Please follow pattern "
                    "^[a-zA-Z0-9](-*[a-zA-Z0-9]).",
                )
            )
        if len(prefix) > ENDPOINT_NAME_PREFIX_MAX:
            out.append(
                Problem(
                    (key,), f"{key}: must be at most {ENDPOINT_NAME_PREFIX_MAX} characters, got {len(prefix)}"
                )
            )
    return out


def _check_predictor_templates(cfg: AnalysisConfig, p: Predictor) -> list[Problem]:
    out: list[Problem] = []
    keys = (
        "dataset_type",
        "predictor.content_type",
        "predictor.content_template",
        "predictor.record_template",
    )
    content_type = request_content_type(p.content_type, cfg.dataset_type)
    if content_type is None:
        return [
            Problem(
                ("predictor.content_type", "dataset_type"),
                f"predictor.content_type: required when dataset_type is {cfg.dataset_type}",
            )
        ]
    where = "set in predictor.content_type" if p.content_type is not None else "taken from dataset_type"
    template = p.content_template
    if content_type == "application/jsonlines" and cfg.time_series_data_config is None:
        if template is None:
            out.append(
                Problem(
                    keys,
                    "predictor.content_template: content_template field is required for content_type "
                    f"application/jsonlines (content_type {where})",
                )
            )
        elif "$features" not in _template_text(template):
            out.append(
                Problem(
                    keys,
                    f"predictor.content_template: Invalid content_template {template!r}. Please include a "
                    "placeholder $features.",
                )
            )
    if content_type == "application/json":
        if template is None or p.record_template is None:
            missing = [k for k in ("content_template", "record_template") if getattr(p, k) is None]
            out.append(
                Problem(
                    keys,
                    f"predictor.{missing[0]}: content_template and record_template are required for "
                    "content_type "
                    f"application/json (content_type {where}); missing: {', '.join(missing)}",
                )
            )
        if template is not None and "$record" not in _template_text(template):
            out.append(
                Problem(
                    keys,
                    f"predictor.content_template: Invalid content_template {template!r}. "
                    "Please include either placeholder $records or $record.",
                )
            )
    return out


def _label_like(cfg: AnalysisConfig) -> list[tuple[str, Any]]:
    return [(k, getattr(cfg, k)) for k in ("label", "predicted_label") if getattr(cfg, k) is not None]


def _check_shap(cfg: AnalysisConfig) -> list[Problem]:
    shap = cfg.methods.shap
    if shap is None:
        return []
    out: list[Problem] = []
    if shap.baseline is not None and shap.num_clusters is not None:
        out.append(
            Problem(
                ("methods.shap.baseline", "methods.shap.num_clusters"),
                "methods.shap: Baseline and num_clusters cannot be provided together. Please specify one "
                "of the two.",
            )
        )
    for key in ("num_clusters", "num_samples"):
        value = getattr(shap, key)
        if value is not None and value < 1:
            out.append(
                Problem(
                    (f"methods.shap.{key}",), f"methods.shap.{key}: must be a positive integer, got {value}"
                )
            )
    if isinstance(shap.baseline, list) and not shap.baseline:
        out.append(
            Problem(
                ("methods.shap.baseline",), "methods.shap.baseline: an inline baseline needs at least one row"
            )
        )
    if shap.text_config is not None and shap.image_config is not None:
        out.append(
            Problem(
                ("methods.shap.text_config", "methods.shap.image_config"),
                "methods.shap: text_config and image_config cannot both be given",
            )
        )
    fte = shap.features_to_explain
    if fte is not None:
        key = "methods.shap.features_to_explain"
        if (
            shap.text_config is not None
            or shap.image_config is not None
            or cfg.dataset_type == "application/x-image"
        ):
            out.append(
                Problem(
                    (key, "methods.shap.text_config", "methods.shap.image_config", "dataset_type"),
                    f"{key}: `features_to_explain` is not supported for datasets containing text features "
                    "or images.",
                )
            )
        for name, value in _label_like(cfg):
            if any(type(f) is type(value) and f == value for f in fte):
                out.append(Problem((key, name), f"{key}: must not include the {name} {value!r}"))
    return out


def _check_pdp(cfg: AnalysisConfig) -> list[Problem]:
    pdp = cfg.methods.pdp
    if pdp is None:
        return []
    out: list[Problem] = []
    if not pdp.features and cfg.methods.shap is None:
        out.append(
            Problem(
                ("methods.pdp.features", "methods.shap"),
                "methods.pdp.features: PDP features must be provided when ShapConfig is not provided "
                "(methods.shap is absent)",
            )
        )
    for key in ("grid_resolution", "top_k_features"):
        value = getattr(pdp, key)
        if value is not None and value < 1:
            out.append(
                Problem(
                    (f"methods.pdp.{key}",), f"methods.pdp.{key}: must be a positive integer, got {value}"
                )
            )
    return out


def _check_time_series(cfg: AnalysisConfig) -> list[Problem]:
    ts = cfg.time_series_data_config
    asv = cfg.methods.asymmetric_shapley_value
    out: list[Problem] = []
    if ts is None:
        if asv is not None:
            out.append(
                Problem(
                    ("methods.asymmetric_shapley_value", "time_series_data_config"),
                    "methods.asymmetric_shapley_value: Please do not provide Asymmetric Shapley Value "
                    "configs for "
                    "non-TimeSeries uses. (time_series_data_config is missing)",
                )
            )
        if cfg.predictor is not None and cfg.predictor.time_series_predictor_config is not None:
            key = "predictor.time_series_predictor_config"
            for stage in _bias_stages(cfg):
                out.append(Problem((stage, key), f"{stage}: Bias metrics are unsupported for time series."))
            if asv is None and (cfg.methods.shap is not None or cfg.methods.pdp is not None):
                out.append(
                    Problem(
                        (key, "time_series_data_config"),
                        f"{key}: Please provide an AsymmetricShapleyValueConfig for time series "
                        "explainability cases. For non time series cases, please do not provide a "
                        "TimeSeriesModelConfig.",
                    )
                )
        return out
    if cfg.dataset_type != "application/json":
        out.append(
            Problem(
                ("time_series_data_config", "dataset_type"),
                "time_series_data_config: Currently time series explainability only supports JSON format "
                "data. "
                f"(dataset_type is {cfg.dataset_type})",
            )
        )
    if asv is None:
        out.append(
            Problem(
                ("methods.asymmetric_shapley_value",),
                "methods.asymmetric_shapley_value: required for time series explainability "
                "(time_series_data_config is set)",
            )
        )
    for stage in _bias_stages(cfg):
        out.append(Problem((stage,), f"{stage}: Bias metrics are unsupported for time series."))
    for name in ("shap", "pdp"):
        if getattr(cfg.methods, name) is not None:
            out.append(
                Problem(
                    (f"methods.{name}",),
                    f"methods.{name}: not available for time series; use methods.asymmetric_shapley_value",
                )
            )
    if cfg.excluded_columns is not None:
        out.append(Problem(("excluded_columns",), "excluded_columns: not supported for time series"))
    out += _check_ts_locators(cfg)
    out += _check_ts_predictor(cfg)
    out += _check_asv(cfg)
    return out


def _check_ts_locators(cfg: AnalysisConfig) -> list[Problem]:
    ts = cfg.time_series_data_config
    assert ts is not None
    base = "time_series_data_config"
    by_string = isinstance(ts.target_time_series, str)
    kind = "strings (JMESPath)" if by_string else "integers (column indices)"
    out: list[Problem] = []
    sdk_empty = {
        "target_time_series": "Please provide a target time series.",
        "item_id": "Please provide an item id.",
        "timestamp": "Please provide a timestamp.",
        "related_time_series": "Please do not provide empty strings in ``related_time_series``.",
        "static_covariates": "Please do not provide empty strings in ``static_covariates``.",
    }
    for key, message in sdk_empty.items():
        value = getattr(ts, key)
        if any(v == "" for v in (value if isinstance(value, list) else [value])):
            out.append(Problem((f"{base}.{key}",), f"{base}.{key}: {message}"))
    n_names = 3 + len(ts.related_time_series or []) + len(ts.static_covariates or [])
    if cfg.headers is not None and len(cfg.headers) != n_names:
        out.append(
            Problem(
                ("headers", base),
                f"headers: time series needs {n_names} names in the order item_id, timestamp, "
                f"target_time_series, related_time_series..., static_covariates... (got {len(cfg.headers)})",
            )
        )
    for key in ("item_id", "timestamp", "related_time_series", "static_covariates"):
        value = getattr(ts, key)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) != by_string for v in items):
            out.append(
                Problem(
                    (f"{base}.{key}", f"{base}.target_time_series"),
                    f"{base}.{key}: must be {kind} like target_time_series",
                )
            )
    if by_string and ts.dataset_format is None:
        out.append(
            Problem(
                (f"{base}.dataset_format",),
                f"{base}.dataset_format: required when the fields are JMESPath strings "
                "(columns, item_records or timestamp_records)",
            )
        )
    if not by_string and ts.dataset_format is not None:
        out.append(
            Problem(
                (f"{base}.dataset_format", f"{base}.target_time_series"),
                f"{base}.dataset_format: must not be given when the fields are column indices",
            )
        )
    return out


def _check_ts_predictor(cfg: AnalysisConfig) -> list[Problem]:
    p = cfg.predictor
    if p is None:
        return []
    out: list[Problem] = []
    if p.time_series_predictor_config is None:
        out.append(
            Problem(
                ("predictor.time_series_predictor_config",),
                "predictor.time_series_predictor_config: required for time series explainability: Please "
                "provide "
                "a string JMESPath expression for ``forecast`` to extract the forecast result.",
            )
        )
    content_type = request_content_type(p.content_type, cfg.dataset_type)
    if content_type not in _TABULAR_JSON:
        out.append(
            Problem(
                ("predictor.content_type",),
                "predictor.content_type: ``content_type`` must be JSON or JSONLines for time series "
                "explainability.",
            )
        )
    if response_accept_type(p.accept_type, content_type) not in _TABULAR_JSON:
        out.append(
            Problem(
                ("predictor.accept_type",),
                "predictor.accept_type: ``accept_type`` must be JSON or JSONLines for time series "
                "explainability.",
            )
        )
    for key in ("label", "probability"):
        if getattr(p, key) is not None:
            out.append(Problem((f"predictor.{key}",), f"predictor.{key}: not supported for time series"))
    return out


def _check_asv(cfg: AnalysisConfig) -> list[Problem]:
    asv = cfg.methods.asymmetric_shapley_value
    ts = cfg.time_series_data_config
    if asv is None or ts is None:
        return []
    key = "methods.asymmetric_shapley_value"
    out: list[Problem] = []
    if asv.granularity == "fine_grained":
        if asv.direction != "chronological":
            out.append(
                Problem(
                    (f"{key}.direction", f"{key}.granularity"),
                    f"{key}: {asv.direction} and {asv.granularity} granularity are not supported together.",
                )
            )
        if asv.num_samples is None:
            out.append(
                Problem(
                    (f"{key}.num_samples",),
                    f"{key}.num_samples: required for fine_grained granularity: Please provide an integer "
                    "for ``num_samples``.",
                )
            )
    elif asv.num_samples is not None:
        out.append(
            Problem(
                (f"{key}.num_samples", f"{key}.granularity"),
                f"{key}.num_samples: ``num_samples`` is only used for fine-grained explanations.",
            )
        )
    if asv.num_samples is not None and asv.num_samples < 1:
        out.append(
            Problem(
                (f"{key}.num_samples",),
                f"{key}.num_samples: must be a positive integer, got {asv.num_samples}",
            )
        )
    baseline = asv.baseline
    covariates = getattr(baseline, "static_covariates", None)
    if covariates:
        n = len(ts.static_covariates or [])
        bkey = f"{key}.baseline.static_covariates"
        if n == 0:
            out.append(
                Problem(
                    (bkey, "time_series_data_config.static_covariates"),
                    f"{bkey}: given, but time_series_data_config has no static_covariates",
                )
            )
        for item_id, values in covariates.items():
            if n and len(values) != n:
                out.append(
                    Problem(
                        (bkey, "time_series_data_config.static_covariates"),
                        f"{bkey}: Length of baseline entry for {item_id} does not match number of static "
                        "covariate "
                        f"columns ({len(values)} != {n})",
                    )
                )
    return out


def _check_segments(cfg: AnalysisConfig) -> list[Problem]:
    out: list[Problem] = []
    for i, seg in enumerate(cfg.segment_config or []):
        key = f"segment_config[{i}]"
        if not seg.segments:
            out.append(
                Problem((key,), f"{key}.segments: `segments` must be a list of lists of values or intervals.")
            )
        n = len(seg.segments)
        if seg.display_aliases is not None and len(seg.display_aliases) not in (n, n + 1):
            out.append(
                Problem(
                    (key,),
                    f"{key}.display_aliases: Number of `display_aliases` must equal the number of segments "
                    "specified "
                    f"or with one additional default segment display alias ({len(seg.display_aliases)} "
                    f"given, {n} segments)",
                )
            )
    return out


# ------------------------------------------------------------------------------- support


def unsupported_features(cfg: AnalysisConfig) -> list[str]:
    """Valid Clarify features that clarify-runner does not implement yet, one message each."""
    out: list[str] = []
    if cfg.dataset_type == "application/sagemakercapturejson":
        out.append(f"dataset_type application/sagemakercapturejson (data-capture JSON) {_NOT_SUPPORTED}")
    if cfg.segment_config is not None:
        out.append(f"segment_config (per-segment bias metrics) {_NOT_SUPPORTED}")
    return out


def ensure_supported(cfg: AnalysisConfig) -> None:
    """Raise :class:`NotSupportedError` (one line per feature) if the config uses an unsupported feature."""
    problems = unsupported_features(cfg)
    if problems:
        raise NotSupportedError("\n".join(problems))
