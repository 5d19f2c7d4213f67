"""``ClarifyExplainerConfig``: the API's field names, limits and error messages.

The file given to ``clarify-runner serve --explainer-config`` holds what
``CreateEndpointConfig(ExplainerConfig={"ClarifyExplainerConfig": {...}})`` takes: either
``{"ClarifyExplainerConfig": {...}}`` or the inner object alone. It is checked as the API
checks it, with the API's messages:

* what boto3 checks before sending (unknown keys, wrong types, missing required keys, values
  under a minimum): ``Parameter validation failed:`` then one line per problem;
* what the service checks (maximum lengths and values, enums, patterns):
  ``N validation error(s) detected: Value '...' at 'explainerConfig.clarifyExplainerConfig...'
  failed to satisfy constraint: ...``;
* the rules between fields (``ShapBaseline`` xor ``ShapBaselineUri``, ``FeatureTypes`` with a
  ``text``, a valid ``EnableExplanations`` JMESPath expression).

:func:`load_explainer_config` raises :class:`analyzer.errors.ConfigError` with that message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import jmespath
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from analyzer.errors import ConfigError

#: ``TextConfig.Language`` values (API enum ``ClarifyTextLanguage``).
LANGUAGES = (
    "af sq ar hy eu bn bg ca zh hr cs da nl en et fi fr de el gu he hi hu is id ga it kn ky lv lt lb mk "
    "ml mr ne nb fa pl pt ro ru sa sr tn si sk sl es sv tl ta tt te tr uk ur yo lij xx"
).split()
GRANULARITIES = ("token", "sentence", "paragraph")
FEATURE_TYPES = ("numerical", "categorical", "text")
MIME_TYPE_PATTERN = r"^[-\w]+\/.+$"
#: Default ``InferenceConfig.MaxPayloadInMB`` (the SDK always sends 6).
DEFAULT_MAX_PAYLOAD_MB = 6

FeatureType = Literal["numerical", "categorical", "text"]
Str64 = Annotated[StrictStr, Field(min_length=1, max_length=64)]
LanguageCode = Literal[tuple(LANGUAGES)]  # type: ignore[valid-type]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClarifyTextConfig(_Model):
    """``ShapConfig.TextConfig``: how text features are split into units."""

    Language: LanguageCode  # type: ignore[valid-type]
    Granularity: Literal["token", "sentence", "paragraph"]


class ClarifyShapBaselineConfig(_Model):
    """``ShapConfig.ShapBaselineConfig``: the baseline records, inline or at a URI."""

    MimeType: Annotated[StrictStr, Field(max_length=255, pattern=MIME_TYPE_PATTERN)] = "text/csv"
    ShapBaseline: Annotated[StrictStr, Field(min_length=1, max_length=4096)] | None = None
    ShapBaselineUri: Annotated[StrictStr, Field(max_length=1024)] | None = None


class ClarifyShapConfig(_Model):
    """``ClarifyExplainerConfig.ShapConfig``."""

    ShapBaselineConfig: ClarifyShapBaselineConfig
    NumberOfSamples: Annotated[StrictInt, Field(ge=1)] | None = None
    UseLogit: StrictBool = False
    Seed: StrictInt | None = None
    TextConfig: ClarifyTextConfig | None = None


class ClarifyInferenceConfig(_Model):
    """``ClarifyExplainerConfig.InferenceConfig``: how to read the model's input and output."""

    FeaturesAttribute: Str64 | None = None
    ContentTemplate: Str64 | None = None
    MaxRecordCount: Annotated[StrictInt, Field(ge=1)] | None = None
    MaxPayloadInMB: Annotated[StrictInt, Field(ge=1, le=25)] = DEFAULT_MAX_PAYLOAD_MB
    ProbabilityIndex: Annotated[StrictInt, Field(ge=0)] | None = None
    LabelIndex: Annotated[StrictInt, Field(ge=0)] | None = None
    ProbabilityAttribute: Str64 | None = None
    LabelAttribute: Str64 | None = None
    LabelHeaders: Annotated[list[Str64], Field(min_length=1, max_length=16)] | None = None
    FeatureHeaders: Annotated[list[Str64], Field(min_length=1, max_length=256)] | None = None
    FeatureTypes: Annotated[list[FeatureType], Field(min_length=1, max_length=256)] | None = None


class ClarifyExplainerConfig(_Model):
    """``ExplainerConfig.ClarifyExplainerConfig``."""

    EnableExplanations: Str64 | None = None
    InferenceConfig: ClarifyInferenceConfig = Field(default_factory=lambda: ClarifyInferenceConfig())
    ShapConfig: ClarifyShapConfig


class ExplainerSettings:
    """A validated config plus what is derived from it once: the compiled expression."""

    def __init__(self, config: ClarifyExplainerConfig) -> None:
        self.config = config
        self.enable_expression: Any = compile_enable_explanations(config.EnableExplanations or "`true`")

    @property
    def inference(self) -> ClarifyInferenceConfig:
        """The ``InferenceConfig`` (defaults when absent)."""
        return self.config.InferenceConfig

    @property
    def shap(self) -> ClarifyShapConfig:
        """The ``ShapConfig``."""
        return self.config.ShapConfig


def compile_enable_explanations(expression: str, where: str = "EnableExplanations") -> Any:
    """Compile an ``EnableExplanations`` JMESPath expression; ``ValueError`` names what is wrong."""
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        detail = " ".join(str(exc).split())
        raise ValueError(f"{where} {expression!r} is not a valid JMESPath expression: {detail}") from None


# --- messages ------------------------------------------------------------------------------
_ROOT = ("ExplainerConfig", "ClarifyExplainerConfig")
_PY_TYPES = {
    "int": "<class 'int'>",
    "str": "<class 'str'>",
    "bool": "<class 'bool'>",
    "list": "<class 'list'>, <class 'tuple'>",
    "dict": "<class 'dict'>",
}


def _dotted(loc: tuple[str | int, ...]) -> str:
    """``ExplainerConfig.ClarifyExplainerConfig.InferenceConfig.FeatureHeaders[3]`` (boto3 style)."""
    out = ".".join(_ROOT)
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _member(loc: tuple[str | int, ...]) -> str:
    """``explainerConfig.clarifyExplainerConfig.inferenceConfig.featureHeaders`` (service style)."""
    parts = [p[0].lower() + p[1:] for p in (*_ROOT, *(p for p in loc if isinstance(p, str)))]
    return ".".join(parts)


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _type_name(value: Any) -> str:
    return f"<class '{type(value).__name__}'>"


def _fields_of(loc: tuple[str | int, ...]) -> list[str]:
    model: type[BaseModel] = ClarifyExplainerConfig
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        nested = [
            a for a in (getattr(annotation, "__args__", None) or (annotation,))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not nested:
            break
        model = nested[0]
    return list(model.model_fields)


def _messages(exc: ValidationError, raw: Any) -> tuple[list[str], list[str]]:
    """(boto3 messages, service messages) for pydantic's errors."""
    client: list[str] = []
    server: list[str] = []
    seen: set[tuple[Any, ...]] = set()
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))  # drop union tags
        kind = err["type"]
        value = err.get("input")
        ctx = err.get("ctx", {})
        key = (loc, kind if not kind.endswith("_type") else "type")
        if key in seen:
            continue
        seen.add(key)
        if kind == "missing":
            client.append(f'Missing required parameter in {_dotted(loc[:-1])}: "{loc[-1]}"')
        elif kind == "extra_forbidden":
            allowed = ", ".join(_fields_of(loc[:-1]))
            client.append(f'Unknown parameter in {_dotted(loc[:-1])}: "{loc[-1]}", must be one of: {allowed}')
        elif kind.endswith("_type") or kind in ("model_attributes_type", "literal_error") and not isinstance(
            value, str
        ):
            wanted = kind.split("_")[0]
            if kind == "model_attributes_type" or kind == "model_type":
                wanted = "dict"
            elif kind == "literal_error":
                wanted = "str"
            client.append(
                f"Invalid type for parameter {_dotted(loc)}, value: {value!r}, type: {_type_name(value)}, "
                f"valid types: {_PY_TYPES.get(wanted, wanted)}"
            )
        elif kind == "greater_than_equal":
            client.append(
                f"Invalid range for parameter {_dotted(loc)}, value: {value}, valid min value: {ctx['ge']}"
            )
        elif kind in ("string_too_short", "too_short"):
            client.append(
                f"Invalid length for parameter {_dotted(loc)}, value: {len(value)}, "
                f"valid min length: {ctx['min_length']}"
            )
        elif kind == "less_than_equal":
            server.append(
                f"Value '{value}' at '{_member(loc)}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {ctx['le']}"
            )
        elif kind in ("string_too_long", "too_long"):
            server.append(
                f"Value '{_value_text(value)}' at '{_member(loc)}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {ctx['max_length']}"
            )
        elif kind == "literal_error":
            expected = ", ".join(str(x).strip("'") for x in ctx["expected"].replace(" or ", ", ").split(", "))
            server.append(
                f"Value '{value}' at '{_member(loc)}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{expected}]"
            )
        elif kind == "string_pattern_mismatch":
            server.append(
                f"Value '{value}' at '{_member(loc)}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {ctx['pattern']}"
            )
        else:  # pragma: no cover - every constraint above is one pydantic reports
            client.append(f"{_dotted(loc)}: {err['msg']}")
    return client, server


def _cross_field_problems(config: ClarifyExplainerConfig) -> list[str]:
    problems: list[str] = []
    base = config.ShapConfig.ShapBaselineConfig
    if (base.ShapBaseline is None) == (base.ShapBaselineUri is None):
        problems.append(
            "ShapBaseline and ShapBaselineUri are mutually exclusive parameters. One or the either is "
            "required to configure a SHAP baseline."
        )
    if base.MimeType.split(";")[0].strip().lower() not in ("text/csv", "application/jsonlines"):
        problems.append(
            f"ShapBaselineConfig.MimeType {base.MimeType!r} is not supported; use text/csv or "
            "application/jsonlines"
        )
    inf = config.InferenceConfig
    if inf.FeatureTypes is not None and "text" not in inf.FeatureTypes:
        problems.append("FeatureTypes must have at least one 'text' string (for example, ['text']).")
    if inf.FeatureTypes is not None and "text" in inf.FeatureTypes and config.ShapConfig.TextConfig is None:
        problems.append("ShapConfig.TextConfig is required when FeatureTypes has a 'text' feature.")
    if (
        inf.FeatureHeaders is not None
        and inf.FeatureTypes is not None
        and len(inf.FeatureHeaders) != len(inf.FeatureTypes)
    ):
        problems.append(
            f"FeatureHeaders has {len(inf.FeatureHeaders)} entries but FeatureTypes has "
            f"{len(inf.FeatureTypes)}; give one type per feature."
        )
    for index, attribute in (("ProbabilityIndex", "ProbabilityAttribute"), ("LabelIndex", "LabelAttribute")):
        if getattr(inf, index) is not None and getattr(inf, attribute) is not None:
            problems.append(
                f"{index} and {attribute} are mutually exclusive: {index} reads CSV model output, "
                f"{attribute} JSON Lines model output."
            )
    for name in ("FeaturesAttribute", "ProbabilityAttribute", "LabelAttribute"):
        value = getattr(inf, name)
        if value is not None:
            try:
                jmespath.compile(value)
            except jmespath.exceptions.JMESPathError as exc:
                detail = " ".join(str(exc).split())
                problems.append(
                    f"InferenceConfig.{name} {value!r} is not a valid JMESPath expression: {detail}"
                )
    if inf.ContentTemplate is not None and "$features" not in inf.ContentTemplate:
        problems.append(f"InferenceConfig.ContentTemplate {inf.ContentTemplate!r} must contain $features.")
    if config.EnableExplanations is not None:
        try:
            compile_enable_explanations(config.EnableExplanations)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def parse_explainer_config(raw: Any) -> ExplainerSettings:
    """Validate a decoded ``ClarifyExplainerConfig`` (or ``{"ClarifyExplainerConfig": {...}}``).

    Raises:
        ConfigError: the API's message for every problem found.
    """
    if isinstance(raw, dict) and set(raw) == {"ClarifyExplainerConfig"}:
        raw = raw["ClarifyExplainerConfig"]
    if not isinstance(raw, dict):
        raise ConfigError(
            "Parameter validation failed:\nInvalid type for parameter "
            f"ExplainerConfig.ClarifyExplainerConfig, value: {raw!r}, type: {_type_name(raw)}, "
            "valid types: <class 'dict'>"
        )
    try:
        config = ClarifyExplainerConfig.model_validate(raw)
    except ValidationError as exc:
        client, server = _messages(exc, raw)
        if client:
            raise ConfigError("Parameter validation failed:\n" + "\n".join(client)) from None
        count = len(server)
        raise ConfigError(
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(server)
        ) from None
    problems = _cross_field_problems(config)
    if problems:
        raise ConfigError("Invalid ClarifyExplainerConfig: " + " ".join(problems))
    return ExplainerSettings(config)


def load_explainer_config(source: str | Path) -> ExplainerSettings:
    """Read and validate the config from a file path, or from JSON text (starting with ``{``).

    Raises:
        ConfigError: unreadable file, not JSON, or an invalid config (the API's message).
    """
    text = str(source)
    if not text.lstrip().startswith("{"):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Cannot read the explainer config {source}: {exc.strerror}") from None
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"The explainer config {source} is not valid JSON: {exc}") from None
    return parse_explainer_config(raw)
