"""Typed model of ``analysis_config.json`` (schema version 1.0) and its loader.

The models mirror the SDK's ``ANALYSIS_CONFIG_SCHEMA_V1_0`` (spec ``clarify-contract.md``
§2): every attribute is named exactly like its JSON key, unknown keys are rejected, types
are checked strictly (an integer field rejects ``"5"`` and ``true``; a float field accepts
integers), and the strings the SDK lower-cases (``dataset_type``, ``content_type``, ...)
are lower-cased before their allowed values are checked. A key that is absent is ``None``:
defaults are never injected into the model; :mod:`analyzer.plan` resolves them (every default
lives in :mod:`analyzer.plan.defaults`).

Entry points: :func:`load_config` (a file or raw bytes), :func:`parse_config` (a decoded
JSON object), :func:`config_problems` (every problem, without raising),
:func:`partial_config` (what is valid of a config with problems) and, from
:mod:`analyzer.config_checks`, :func:`unsupported_features` / :func:`ensure_supported`.
"""

from __future__ import annotations

import copy
import json
import os
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    PlainValidator,
    PrivateAttr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from analyzer.config_checks import (
    ALL_POST_TRAINING,
    ALL_PRE_TRAINING,
    POST_TRAINING_METRICS,
    PRE_TRAINING_METRICS,
    ensure_supported,
    semantic_problems,
    split_metric_names,
    unsupported_features,
)
from analyzer.errors import ConfigError

__all__ = [
    "ACCEPT_TYPES",
    "CONTENT_TYPES",
    "DATASET_TYPES",
    "AnalysisConfig",
    "AsymmetricShapleyValueBaseline",
    "AsymmetricShapleyValueConfig",
    "BiasMethods",
    "Facet",
    "ImageConfig",
    "ImageDebugConfig",
    "Methods",
    "PdpConfig",
    "Predictor",
    "ReportConfig",
    "SegmentConfig",
    "ShapConfig",
    "TextConfig",
    "TimeSeriesDataConfig",
    "TimeSeriesPredictorConfig",
    "config_problems",
    "ensure_supported",
    "load_config",
    "parse_config",
    "partial_config",
    "unsupported_features",
]

SCHEMA_ERROR_HEADER = "Analysis configuration schema validation error."
SEMANTIC_ERROR_HEADER = "Analysis configuration validation error."
JSON_ERROR_HEADER = "Unable to load analysis configuration as JSON."

DATASET_TYPES = (
    "text/csv",
    "application/jsonlines",
    "application/json",
    "application/sagemakercapturejson",
    "application/x-parquet",
    "application/x-image",
)
CONTENT_TYPES = (
    "text/csv",
    "application/jsonlines",
    "application/json",
    "image/jpeg",
    "image/png",
    "application/x-npy",
)
ACCEPT_TYPES = ("text/csv", "application/jsonlines", "application/json")
AGG_METHODS = ("mean_abs", "median", "mean_sq")
TEXT_GRANULARITIES = ("token", "sentence", "paragraph")
IMAGE_MODEL_TYPES = ("IMAGE_CLASSIFICATION", "OBJECT_DETECTION")
TS_DATASET_FORMATS = ("columns", "item_records", "timestamp_records")
ASV_DIRECTIONS = ("chronological", "anti_chronological", "bidirectional")
ASV_GRANULARITIES = ("timewise", "fine_grained")
ASV_BASELINE_FILLS = ("zero", "mean")
TEXT_LANGUAGES = (
    "chinese", "zh", "danish", "da", "dutch", "nl", "english", "en", "french", "fr",
    "german", "de", "greek", "el", "italian", "it", "japanese", "ja", "lithuanian", "lt",
    "multi-language", "xx", "norwegian bokmål", "nb", "polish", "pl", "portuguese", "pt",
    "romanian", "ro", "russian", "ru", "spanish", "es", "afrikaans", "af", "albanian", "sq",
    "arabic", "ar", "armenian", "hy", "basque", "eu", "bengali", "bn", "bulgarian", "bg",
    "catalan", "ca", "croatian", "hr", "czech", "cs", "estonian", "et", "finnish", "fi",
    "gujarati", "gu", "hebrew", "he", "hindi", "hi", "hungarian", "hu", "icelandic", "is",
    "indonesian", "id", "irish", "ga", "kannada", "kn", "kyrgyz", "ky", "latvian", "lv",
    "ligurian", "lij", "luxembourgish", "lb", "macedonian", "mk", "malayalam", "ml",
    "marathi", "mr", "nepali", "ne", "persian", "fa", "sanskrit", "sa", "serbian", "sr",
    "setswana", "tn", "sinhala", "si", "slovak", "sk", "slovenian", "sl", "swedish", "sv",
    "tagalog", "tl", "tamil", "ta", "tatar", "tt", "telugu", "te", "thai", "th",
    "turkish", "tr", "ukrainian", "uk", "urdu", "ur", "vietnamese", "vi", "yoruba", "yo",
)  # fmt: skip

# ---------------------------------------------------------------------------------------
# Leaf types: strict checks with our own messages (pydantic's lax coercion is not wanted).
# ---------------------------------------------------------------------------------------


def describe_value(value: Any) -> str:
    """Describe a JSON value for an error message: ``string 'abc'``, ``boolean true``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _fail(expected: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError(
        "config_type", "{msg}", {"msg": f"expected {expected}, got {describe_value(value)}"}
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _v_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _fail("a string", value)


def _v_int(value: Any) -> int:
    if _is_int(value):
        return value
    raise _fail("an integer", value)


def _v_number(value: Any) -> int | float:
    if _is_int(value) or isinstance(value, float):
        return value  # kept as given, so the config round-trips
    raise _fail("a number", value)


def _v_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _fail("a boolean (true or false)", value)


def _v_float(value: Any) -> float:
    if _is_int(value) or isinstance(value, float):
        return float(value)
    raise _fail("a number", value)


def _v_str_or_int(value: Any) -> str | int:
    if isinstance(value, str) or _is_int(value):
        return value
    raise _fail("a string or an integer", value)


def _v_scalar(value: Any) -> str | int | float | bool:
    """A facet/label value: a string, a number, or a boolean for a boolean column
    (``value_or_threshold: [false]`` selects its ``False`` rows; booleans stay booleans).

    More lenient than the SDK: its schema says ``Or(int, float, str)`` and the ``schema``
    library it installs refuses ``bool`` for ``int``, so the SDK itself never writes a boolean
    here; a hand-written or boto3 config may."""
    if isinstance(value, (str, float, bool)) or _is_int(value):
        return value
    raise _fail("a string, a number or a boolean", value)


def _choice(
    allowed: tuple[str, ...], *, transform: Callable[[str], str] = str.lower, sdk: str = ""
) -> PlainValidator:
    """A string validated against ``allowed`` after ``transform`` (lower-casing, as the SDK does).

    ``sdk``: the SDK's own message for this key, appended to the error.
    """
    if len(allowed) > 12:
        listing = ", ".join(repr(a) for a in allowed[:8]) + ", ... (see the documentation)"
    else:
        listing = ", ".join(repr(a) for a in allowed)

    def check(value: Any) -> str:
        if isinstance(value, str) and transform(value) in allowed:
            return transform(value)
        expected = f"one of {listing}"
        if sdk:
            raise PydanticCustomError(
                "config_type", "{msg}", {"msg": f"expected {expected}, got {describe_value(value)}. {sdk}"}
            )
        raise _fail(expected, value)

    return PlainValidator(check)


def _v_bias_methods(value: Any) -> str | list[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise _fail('"all" or a list of metric names (strings)', value)


def _v_ts_locator(value: Any) -> str | int:
    if isinstance(value, str) or _is_int(value):
        return value
    raise _fail("a string (JMESPath) or an integer (column index)", value)


def _v_ts_locators(value: Any) -> list[str] | list[int]:
    if isinstance(value, list) and (all(isinstance(v, str) for v in value) or all(_is_int(v) for v in value)):
        return value
    raise _fail("a list of strings (JMESPath) or a list of integers (column indices)", value)


def _v_content_template(value: Any) -> str | dict[str, str]:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return value
    raise _fail("a string or an object of strings", value)


def _v_shap_baseline(value: Any) -> str | list[Any] | dict[str, Any]:
    """SDK schema: an S3 URI, a list of rows (CSV rows or JSON objects), or any JSON object."""
    if isinstance(value, (str, dict)):
        return value
    if isinstance(value, list):
        for row in value:
            if isinstance(row, dict):
                continue
            if isinstance(row, list) and all(
                v is None or isinstance(v, (str, float)) or _is_int(v) for v in row
            ):
                continue
            raise _fail(
                "a URI string, a list of rows (each a list of numbers/strings/null, or an object), or an "
                "object",
                value,
            )
        return value
    raise _fail("a URI string, a list of rows or an object", value)


Str = Annotated[str, PlainValidator(_v_str)]
Int = Annotated[int, PlainValidator(_v_int)]
Bool = Annotated[bool, PlainValidator(_v_bool)]
Float = Annotated[float, PlainValidator(_v_float)]
Number = Annotated[int | float, PlainValidator(_v_number)]
StrOrInt = Annotated[str | int, PlainValidator(_v_str_or_int)]
Scalar = Annotated[str | int | float | bool, PlainValidator(_v_scalar)]

# ---------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------


class _ConfigModel(BaseModel):
    """Base of every config model: unknown keys forbidden, explicit ``null`` rejected."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), validate_default=False)

    _input_keys: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("*", mode="before")
    @classmethod
    def _reject_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(
                "config_null", "{msg}", {"msg": "expected a value, got null (omit the key instead)"}
            )
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _remember_key_order(cls, data: Any, handler: Any) -> Any:
        instance = handler(data)
        if isinstance(data, dict):
            instance._input_keys = tuple(k for k in data if isinstance(k, str))
        return instance

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON data, absent keys left out, keys in the input's order."""
        order = [k for k in self._input_keys if k in type(self).model_fields]
        order += [k for k in type(self).model_fields if k not in order]
        out: dict[str, Any] = {}
        for key in order:
            value = getattr(self, key)
            if value is not None:
                out[key] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, _ConfigModel):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return copy.deepcopy(value)


class Facet(_ConfigModel):
    """One entry of ``facet`` (spec §2.1): a sensitive column and its sensitive values."""

    name_or_index: StrOrInt
    value_or_threshold: list[Scalar] | None = None


class SegmentConfig(_ConfigModel):
    """One entry of ``segment_config`` (spec §2.1, SDK ``SegmentationConfig``)."""

    name_or_index: StrOrInt
    segments: list[list[StrOrInt]]
    config_name: Str | None = None
    display_aliases: list[Str] | None = None


class TimeSeriesDataConfig(_ConfigModel):
    """``time_series_data_config`` (spec §2.2): where the series live in the JSON dataset."""

    target_time_series: Annotated[str | int, PlainValidator(_v_ts_locator)]
    item_id: Annotated[str | int, PlainValidator(_v_ts_locator)]
    timestamp: Annotated[str | int, PlainValidator(_v_ts_locator)]
    related_time_series: Annotated[list[str] | list[int], PlainValidator(_v_ts_locators)] | None = None
    static_covariates: Annotated[list[str] | list[int], PlainValidator(_v_ts_locators)] | None = None
    dataset_format: Annotated[str, _choice(TS_DATASET_FORMATS)] | None = None


class BiasMethods(_ConfigModel):
    """``methods.pre_training_bias`` / ``methods.post_training_bias`` (spec §2.3)."""

    methods: Annotated[str | list[str], PlainValidator(_v_bias_methods)]

    def metric_names(self, stage: Literal["pre_training", "post_training"]) -> list[str]:
        """Canonical (upper-case) metric names to compute; ``"all"`` expands as the real container does.

        ``"all"`` gives the metrics seen in real outputs (post-training ``"all"`` has no SD and
        GE, spec §2.3). Names are matched case-insensitively; unknown names are dropped here
        (they are reported by :func:`config_problems`).
        """
        known = PRE_TRAINING_METRICS if stage == "pre_training" else POST_TRAINING_METRICS
        requested = split_metric_names(self.methods)
        if any(name.lower() == "all" for name in requested):
            return list(ALL_PRE_TRAINING if stage == "pre_training" else ALL_POST_TRAINING)
        names: list[str] = []
        for name in requested:
            upper = name.upper()
            if upper in known and upper not in names:
                names.append(upper)
        return sorted(names)


class TextConfig(_ConfigModel):
    """``methods.shap.text_config`` (spec §2.4): NLP explainability."""

    granularity: Annotated[str, _choice(TEXT_GRANULARITIES)]
    language: Annotated[str, _choice(TEXT_LANGUAGES)]
    max_top_tokens: Int | None = None


class ImageDebugConfig(_ConfigModel):
    """``methods.shap.image_config.debug`` (SDK schema only)."""

    image_names: list[Str] | None = None
    class_ids: list[Int] | None = None
    sample_from: Int | None = None
    sample_to: Int | None = None


class ImageConfig(_ConfigModel):
    """``methods.shap.image_config`` (spec §2.4): computer-vision explainability.

    ``model_type`` is matched case-insensitively and stored upper-case
    (``IMAGE_CLASSIFICATION`` / ``OBJECT_DETECTION``).
    """

    model_type: Annotated[str, _choice(IMAGE_MODEL_TYPES, transform=str.upper)] | None = None
    num_segments: Int | None = None
    segment_compactness: Number | None = None  # schema int, SDK float: both accepted
    feature_extraction_method: Str | None = None
    max_objects: Int | None = None
    iou_threshold: Float | None = None
    context: Float | None = None
    debug: ImageDebugConfig | None = None


class ShapConfig(_ConfigModel):
    """``methods.shap`` (spec §2.4): Kernel SHAP."""

    baseline: Annotated[str | list[Any] | dict[str, Any], PlainValidator(_v_shap_baseline)] | None = None
    num_clusters: Int | None = None
    num_samples: Int | None = None
    agg_method: Annotated[str, _choice(AGG_METHODS)] | None = None
    use_logit: Bool | None = None
    save_local_shap_values: Bool | None = None
    seed: Int | None = None
    features_to_explain: list[StrOrInt] | None = None
    text_config: TextConfig | None = None
    image_config: ImageConfig | None = None


class PdpConfig(_ConfigModel):
    """``methods.pdp`` (spec §2.5): partial dependence plots.

    The SDK schema requires ``grid_resolution``; it is optional here (default 15).
    """

    features: list[StrOrInt] | None = None
    top_k_features: Int | None = None
    grid_resolution: Int | None = None


class AsymmetricShapleyValueBaseline(_ConfigModel):
    """Object form of ``methods.asymmetric_shapley_value.baseline`` (spec §2.6)."""

    target_time_series: Annotated[str, _choice(ASV_BASELINE_FILLS)] | None = None
    related_time_series: Annotated[str, _choice(ASV_BASELINE_FILLS)] | None = None
    static_covariates: dict[str, list[Scalar]] | None = None


def _asv_baseline_tag(value: Any) -> str:
    if isinstance(value, str):
        return "~uri"
    if isinstance(value, (dict, AsymmetricShapleyValueBaseline)):
        return "~object"
    return "~invalid"


def _v_bad_asv_baseline(value: Any) -> Any:
    raise _fail("a URI string or an object", value)


AsvBaseline = Annotated[
    Annotated[Str, Tag("~uri")]
    | Annotated[AsymmetricShapleyValueBaseline, Tag("~object")]
    | Annotated[Any, PlainValidator(_v_bad_asv_baseline), Tag("~invalid")],
    Discriminator(_asv_baseline_tag),
]


class AsymmetricShapleyValueConfig(_ConfigModel):
    """``methods.asymmetric_shapley_value`` (spec §2.6): time-series explanations."""

    direction: Annotated[
        str,
        _choice(
            ASV_DIRECTIONS,
            sdk=f"Please provide a valid explanation direction from: {', '.join(ASV_DIRECTIONS)}",
        ),
    ]
    granularity: Annotated[
        str,
        _choice(
            ASV_GRANULARITIES, sdk=f"Please provide a valid granularity from: {', '.join(ASV_GRANULARITIES)}"
        ),
    ]
    num_samples: Int | None = None
    baseline: AsvBaseline | None = None


class ReportConfig(_ConfigModel):
    """``methods.report`` (spec §2.7). ``name`` is required by the SDK schema; optional here."""

    name: Str | None = None
    title: Str | None = None


class Methods(_ConfigModel):
    """``methods`` (spec §2.3-§2.7): which analyses to run."""

    pre_training_bias: BiasMethods | None = None
    post_training_bias: BiasMethods | None = None
    shap: ShapConfig | None = None
    pdp: PdpConfig | None = None
    asymmetric_shapley_value: AsymmetricShapleyValueConfig | None = None
    report: ReportConfig | None = None

    def requested(self) -> list[str]:
        """Names of the analysis methods present (``report`` is not an analysis)."""
        names = ("pre_training_bias", "post_training_bias", "shap", "pdp", "asymmetric_shapley_value")
        return [n for n in names if getattr(self, n) is not None]


class TimeSeriesPredictorConfig(_ConfigModel):
    """``predictor.time_series_predictor_config`` (spec §2.8)."""

    forecast: Str


class Predictor(_ConfigModel):
    """``predictor`` (spec §2.8): the model to call and how to talk to it."""

    endpoint_name: Str | None = None
    endpoint_name_prefix: Str | None = None
    model_name: Str | None = None
    target_model: Str | None = None
    instance_type: Str | None = None
    initial_instance_count: Int | None = None
    accelerator_type: Str | None = None
    content_type: Annotated[str, _choice(CONTENT_TYPES)] | None = None
    accept_type: Annotated[str, _choice(ACCEPT_TYPES)] | None = None
    label: StrOrInt | None = None
    probability: StrOrInt | None = None
    label_headers: list[StrOrInt] | None = None
    content_template: Annotated[str | dict[str, str], PlainValidator(_v_content_template)] | None = None
    record_template: Str | None = None
    custom_attributes: Str | None = None
    time_series_predictor_config: TimeSeriesPredictorConfig | None = None


class AnalysisConfig(_ConfigModel):
    """The whole ``analysis_config.json`` (spec §2.1)."""

    version: Str | None = None
    dataset_type: Annotated[str, _choice(DATASET_TYPES)]
    dataset_uri: Str | None = None
    headers: list[Str] | None = None
    label: StrOrInt | None = None
    predicted_label: StrOrInt | None = None
    features: Str | None = None
    predicted_label_dataset_uri: Str | None = None
    predicted_label_headers: list[Str] | None = None
    joinsource_name_or_index: StrOrInt | None = None
    excluded_columns: list[StrOrInt] | None = None
    probability_threshold: Float | None = None
    label_values_or_threshold: list[Scalar] | None = None
    facet: list[Facet] | None = None
    group_variable: StrOrInt | None = None
    facet_dataset_uri: Str | None = None
    facet_headers: list[Str] | None = None
    segment_config: list[SegmentConfig] | None = None
    time_series_data_config: TimeSeriesDataConfig | None = None
    methods: Methods
    predictor: Predictor | None = None

    @property
    def is_time_series(self) -> bool:
        """Whether this is a time-series explainability job."""
        return self.time_series_data_config is not None

    def needs_predictor(self) -> list[str]:
        """The methods that need model predictions (so a ``predictor``), as ``methods.<name>``."""
        m = self.methods
        needed = [
            f"methods.{n}" for n in ("shap", "pdp", "asymmetric_shapley_value") if getattr(m, n) is not None
        ]
        if (
            m.post_training_bias is not None
            and self.predicted_label is None
            and self.predicted_label_dataset_uri is None
        ):
            needed.insert(0, "methods.post_training_bias")
        return needed


# ---------------------------------------------------------------------------------------
# Schema error formatting
# ---------------------------------------------------------------------------------------

_PYDANTIC_EXPECTED = {
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
    "list_type": "a list",
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean (true or false)",
    "float_type": "a number",
}


def format_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("facet", 0, "name_or_index")`` → ``facet[0].name_or_index``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _clean_loc(loc: tuple[Any, ...] | list[Any]) -> tuple[Any, ...]:
    return tuple(p for p in loc if not (isinstance(p, str) and p.startswith("~")))


def _unwrap(tp: Any) -> list[Any]:
    """Candidate structural types of an annotation (Annotated and unions unwrapped)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out += _unwrap(arg)
        return out
    return [tp]


def _model_at(tp: Any, loc: tuple[Any, ...]) -> type[_ConfigModel] | None:
    """The config model class found at ``loc`` inside type ``tp`` (for "allowed keys" messages)."""
    for cand in _unwrap(tp):
        if isinstance(cand, type) and issubclass(cand, _ConfigModel):
            if not loc:
                return cand
            head = loc[0]
            if isinstance(head, str) and head in cand.model_fields:
                found = _model_at(cand.model_fields[head].annotation, loc[1:])
                if found is not None:
                    return found
            continue
        origin = typing.get_origin(cand)
        if loc and origin is list and isinstance(loc[0], int):
            found = _model_at(typing.get_args(cand)[0], loc[1:])
            if found is not None:
                return found
        if loc and origin is dict and isinstance(loc[0], str):
            found = _model_at(typing.get_args(cand)[1], loc[1:])
            if found is not None:
                return found
    return None


def _error_message(error: Any) -> str:
    """One readable line for one pydantic error: ``<key path>: <what was expected>``."""
    loc = _clean_loc(tuple(error["loc"]))
    kind = error["type"]
    path = format_path(loc)
    if kind == "missing":
        return f"{path}: field required"
    if kind == "extra_forbidden":
        model = _model_at(AnalysisConfig, loc[:-1])
        allowed = ", ".join(sorted(model.model_fields)) if model is not None else "?"
        return f"{path}: unknown key (allowed: {allowed})"
    if kind in _PYDANTIC_EXPECTED:
        return f"{path}: expected {_PYDANTIC_EXPECTED[kind]}, got {describe_value(error.get('input'))}"
    return f"{path}: {error['msg']}"


def _removal_path(error: Any) -> tuple[Any, ...]:
    """The part of the input to drop so that validation can go on without this error."""
    loc = _clean_loc(tuple(error["loc"]))
    if error["type"] == "missing":
        loc = loc[:-1]  # the object that lacks a required key
    for i, part in enumerate(loc):
        if isinstance(part, int):  # a bad list item: drop the whole list
            return loc[:i]
    return loc


def _delete(data: Any, loc: tuple[Any, ...]) -> bool:
    node = data
    for part in loc[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    if isinstance(node, dict) and loc[-1] in node:
        del node[loc[-1]]
        return True
    return False


def _schema_pass(data: Any) -> tuple[AnalysisConfig | None, list[str], list[str]]:
    """Validate; on errors, drop offending parts and retry so the rest can still be checked.

    Returns the model built from what is left (``None`` if nothing usable remains), the
    schema problem lines, and the dotted key paths that were dropped.
    """
    if not isinstance(data, dict):
        return None, [f"(top level): expected a JSON object, got {describe_value(data)}"], []
    work = copy.deepcopy(data)
    problems: list[str] = []
    removed: list[str] = []
    for _ in range(20):
        try:
            return AnalysisConfig.model_validate(work), problems, removed
        except ValidationError as exc:
            progress = False
            for error in exc.errors():
                artifact = error["type"] == "missing" and format_path(_clean_loc(error["loc"])) in removed
                line = _error_message(error)
                if not artifact and line not in problems:  # else: we dropped that key after a bad value
                    problems.append(line)
                path = _removal_path(error)
                if path and _delete(work, path):
                    removed.append(format_path(path))
                    progress = True
            if not progress:
                return None, problems, removed
    return None, problems, removed  # pragma: no cover - the loop always ends earlier


def _suppressed(keys: tuple[str, ...], removed: list[str]) -> bool:
    """Whether a semantic problem depends on a key that was dropped after a schema error."""
    for key in keys:
        for gone in removed:
            if key == gone or key.startswith(gone + ".") or key.startswith(gone + "["):
                return True
    return False


def _all_problems(data: Any) -> tuple[list[str], list[str]]:
    cfg, schema, removed = _schema_pass(data)
    semantic: list[str] = []
    if cfg is not None:
        semantic = [p.message for p in semantic_problems(cfg) if not _suppressed(p.keys, removed)]
    return schema, semantic


def config_problems(data: Any) -> list[str]:
    """Every problem of a decoded ``analysis_config.json``, schema first, then cross-field; never raises.

    Each entry is one line starting with the key path at fault. An empty list means the
    config is valid (it may still use features that are not supported, see
    :func:`unsupported_features`).
    """
    schema, semantic = _all_problems(data)
    return schema + semantic


def partial_config(data: Any) -> AnalysisConfig | None:
    """The config built from what is valid in ``data`` (the parts with schema errors dropped).

    ``None`` when nothing usable is left (e.g. ``dataset_type`` or ``methods`` is bad). Used by
    ``clarify-runner validate`` to check the data even when the config has problems.
    """
    cfg, _, _ = _schema_pass(data)
    return cfg


def parse_config(data: Any) -> AnalysisConfig:
    """Validate a decoded ``analysis_config.json`` object and build the :class:`AnalysisConfig`.

    Raises:
        ConfigError: "Analysis configuration schema validation error." followed by one line
            per problem, or "Analysis configuration validation error." when only cross-field
            checks fail.
    """
    schema, semantic = _all_problems(data)
    if schema:
        raise ConfigError("\n".join([SCHEMA_ERROR_HEADER, *schema, *semantic]))
    if semantic:
        raise ConfigError("\n".join([SEMANTIC_ERROR_HEADER, *semantic]))
    return AnalysisConfig.model_validate(data)


def _position(raw: bytes, index: int) -> tuple[int, int]:
    before = raw[:index]
    line = before.count(b"\n") + 1
    column = index - (before.rfind(b"\n") + 1) + 1
    return line, column


def decode_config_json(raw: bytes) -> Any:
    """Decode the bytes of ``analysis_config.json`` (UTF-8, optional BOM) into JSON data.

    Raises:
        ConfigError: "Unable to load analysis configuration as JSON. <reason> (line L, column C)".
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _position(raw, exc.start)
        bad = raw[exc.start : exc.start + 1].hex()
        raise ConfigError(
            f"{JSON_ERROR_HEADER} The file is not valid UTF-8: invalid byte 0x{bad} (line {line}, column "
            f"{column})"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{JSON_ERROR_HEADER} {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ConfigError(
            f"{JSON_ERROR_HEADER} The document is nested too deeply (line 1, column 1)"
        ) from None


def load_config(source: str | os.PathLike[str] | bytes) -> AnalysisConfig:
    """Read, decode and validate ``analysis_config.json``.

    Args:
        source: a file path (``str`` or path-like) or the raw bytes of the file.

    Raises:
        ConfigError: the file cannot be read, is not JSON, or is not a valid config.
    """
    if isinstance(source, (bytes, bytearray)):
        raw = bytes(source)
    else:
        try:
            with open(source, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise ConfigError(
                f"Unable to read analysis configuration file {os.fspath(source)}: {exc.strerror}"
            ) from None
    return parse_config(decode_config_json(raw))
