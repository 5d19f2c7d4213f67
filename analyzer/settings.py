"""Every environment variable that ``analyzer`` and ``container`` read, in one place.

:data:`VARIABLES` lists them (name, default, meaning; the README's table is checked against
it) and :func:`runner_settings` reads them into a typed, frozen :class:`RunnerSettings`.
The environment is read at each call, so a test's ``monkeypatch.setenv`` is seen at once.
The model server's own variables live in :mod:`local_endpoint.settings`.

Variables that boto3 reads by itself (``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_SAGEMAKER``,
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``, credentials) are not read here; they are listed in
the README table too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from analyzer.errors import ConfigError

__all__ = [
    "MONITOR_VARIABLES",
    "VARIABLES",
    "EnvVar",
    "MonitorSettings",
    "RunnerSettings",
    "monitor_settings",
    "runner_settings",
]


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: its name, default (as text, ``None``: unset) and meaning."""

    name: str
    default: str | None
    meaning: str


OPT_ML = EnvVar(
    "CLARIFY_RUNNER_OPT_ML",
    "/opt/ml",
    "Root of the SageMaker processing tree (tests point it elsewhere).")
CONFIG = EnvVar(
    "CLARIFY_RUNNER_CONFIG",
    None,
    "Processing job: analysis config file, folder or `s3://` URI (default: the "
    "`analysis_config` input).")
DATA = EnvVar(
    "CLARIFY_RUNNER_DATA",
    None,
    "Processing job: dataset file, folder or `s3://` URI (default: the `dataset` input).")
OUTPUT = EnvVar(
    "CLARIFY_RUNNER_OUTPUT",
    None,
    "Processing job: output folder or `s3://` prefix (default: `/opt/ml/processing/output`).")
BACKEND = EnvVar(
    "CLARIFY_RUNNER_ENDPOINT_BACKEND",
    "auto",
    "Shadow-endpoint backend: `auto`, `docker`, `subprocess` or `sagemaker`.")
MODELS_FILE = EnvVar(
    "CLARIFY_RUNNER_MODELS_FILE",
    None,
    "Offline models file `{model_name: {image, model_data_url, environment}}` for "
    "`predictor.model_name`: a path, an `s3://` URI or the JSON text itself.")
SHAP_ESTIMATOR = EnvVar(
    "CLARIFY_RUNNER_SHAP_ESTIMATOR",
    "clarify",
    "Processing job: Kernel SHAP estimator, `clarify` (identical to Clarify) or `leverage`.")
LOG_LEVEL = EnvVar(
    "CLARIFY_RUNNER_LOG_LEVEL",
    "INFO",
    "Processing job: log level (DEBUG, INFO, WARNING, ERROR).")
SERVE_USER = EnvVar(
    "CLARIFY_RUNNER_SERVE_USER",
    None,
    "Image `serve` role: when running as root, switch to this user before loading the model.")
ENDPOINT_TIMEOUT = EnvVar(
    "CLARIFY_RUNNER_ENDPOINT_TIMEOUT",
    "600",
    "Seconds to wait for a shadow endpoint to answer `/ping` (or reach InService).")
IN_CONTAINER = EnvVar(
    "CLARIFY_RUNNER_IN_CONTAINER",
    None,
    "Set (any value) when the job runs inside a container without `/.dockerenv` (Docker backend"
    " networking).")
SERVE_IMAGE = EnvVar(
    "CLARIFY_RUNNER_SERVE_IMAGE",
    None,
    "Docker backend: image that serves a model whose own image cannot be pulled.")
SAGEMAKER_POLL = EnvVar(
    "CLARIFY_RUNNER_SAGEMAKER_POLL_SECONDS",
    "15",
    "SageMaker backend: seconds between DescribeEndpoint polls.")
REQUEST_TIMEOUT = EnvVar(
    "CLARIFY_RUNNER_REQUEST_TIMEOUT",
    "60",
    "Seconds one model request may take (SageMaker's InvokeEndpoint limit). An endpoint that "
    "answers nothing fails the job within about twice this.")
MAX_RETRIES = EnvVar(
    "CLARIFY_RUNNER_MAX_RETRIES",
    "5",
    "Retries of one model request after a dropped connection, HTTP 429 or 5xx (backoff 0.2 s,"
    " doubling, at most 10 s).")
MODEL_DEADLINE = EnvVar(
    "CLARIFY_RUNNER_MODEL_DEADLINE",
    "86400",
    "Seconds all model calls of a job may take together (SageMaker's default processing-job "
    "limit); the job fails with exit 3 when they take longer.")
EXPLAINER_CONFIG = EnvVar(
    "CLARIFY_RUNNER_EXPLAINER_CONFIG",
    None,
    "Image `serve` role: a `ClarifyExplainerConfig` JSON file (or the JSON itself); when set, `serve`"
    " answers with online explanations (`clarify-runner serve --explainer-config`).")
EXPLAINER_MODEL_URL = EnvVar(
    "CLARIFY_RUNNER_EXPLAINER_MODEL_URL",
    None,
    "Online explainer: the model container URL to front, instead of serving `/opt/ml/model` in-process.")
S3_ENDPOINT = EnvVar(
    "AWS_ENDPOINT_URL_S3",
    None,
    "S3 endpoint URL for datasets, configs and outputs (an S3 emulator); falls back to "
    "`AWS_ENDPOINT_URL`.")
SPACY_PIPELINES = EnvVar(
    "CLARIFY_RUNNER_SPACY_PIPELINES",
    None,
    "Text explanations: the spaCy pipeline per language, `code=package-or-folder` comma-separated "
    "(`en=en_core_web_md,de=/models/de`); `blank` forces the blank pipeline.")
AWS_REGION = EnvVar(
    "AWS_REGION",
    None,
    "AWS region that SageMaker sets in processing containers; used for SageMaker API calls "
    "when boto3 finds none (`AWS_DEFAULT_REGION`), before the region of the job's ARN.")
AWS_ENDPOINT = EnvVar(
    "AWS_ENDPOINT_URL",
    None,
    "Endpoint URL for every AWS service (boto3's own variable; used for S3 when "
    "`AWS_ENDPOINT_URL_S3` is unset).")

#: Every variable read by ``analyzer`` and ``container``, in README order.
VARIABLES: tuple[EnvVar, ...] = (
    OPT_ML, CONFIG, DATA, OUTPUT, BACKEND, MODELS_FILE, SHAP_ESTIMATOR, LOG_LEVEL, SERVE_USER,
    ENDPOINT_TIMEOUT, IN_CONTAINER, SERVE_IMAGE, SAGEMAKER_POLL, REQUEST_TIMEOUT, MAX_RETRIES,
    MODEL_DEADLINE, EXPLAINER_CONFIG, EXPLAINER_MODEL_URL, S3_ENDPOINT, AWS_ENDPOINT,
    SPACY_PIPELINES, AWS_REGION,
)  # fmt: skip


@dataclass(frozen=True)
class RunnerSettings:
    """The typed values of :data:`VARIABLES` (``None``: unset and without default)."""

    opt_ml: Path
    config: str | None
    data: str | None
    output: str | None
    endpoint_backend: str
    models_file: str | None
    shap_estimator: str
    log_level: str
    serve_user: str | None
    endpoint_timeout: float
    in_container: bool
    serve_image: str | None
    sagemaker_poll_seconds: float
    request_timeout: float
    max_retries: int
    model_deadline: float
    explainer_config: str | None
    explainer_model_url: str | None
    s3_endpoint_url: str | None
    #: ``CLARIFY_RUNNER_SPACY_PIPELINES`` as written (checked and parsed by :mod:`analyzer.plan.text`)
    spacy_pipelines: str | None = None
    aws_region: str | None = None


def _text(env: Mapping[str, str], var: EnvVar) -> str | None:
    value = env.get(var.name)
    return value if value else var.default


def _required(env: Mapping[str, str], var: EnvVar) -> str:
    value = _text(env, var)
    assert value is not None, f"{var.name} has no default"
    return value


def _number(env: Mapping[str, str], var: EnvVar) -> float:
    text = _required(env, var)
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(
            f"Environment variable {var.name} must be a number of seconds, got {text!r}"
        ) from None
    if value <= 0:
        raise ConfigError(f"Environment variable {var.name} must be positive, got {text!r}")
    return value


def _count(env: Mapping[str, str], var: EnvVar) -> int:
    text = _required(env, var)
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(
            f"Environment variable {var.name} must be a whole number, got {text!r}"
        ) from None
    if value < 0:
        raise ConfigError(f"Environment variable {var.name} must be 0 or more, got {text!r}")
    return value


def runner_settings(environ: Mapping[str, str] | None = None) -> RunnerSettings:
    """Read :data:`VARIABLES` from ``environ`` (default: ``os.environ``)."""
    env = os.environ if environ is None else environ
    return RunnerSettings(
        opt_ml=Path(_required(env, OPT_ML)),
        config=_text(env, CONFIG),
        data=_text(env, DATA),
        output=_text(env, OUTPUT),
        endpoint_backend=_required(env, BACKEND),
        models_file=_text(env, MODELS_FILE),
        shap_estimator=_required(env, SHAP_ESTIMATOR),
        log_level=_required(env, LOG_LEVEL),
        serve_user=_text(env, SERVE_USER),
        endpoint_timeout=_number(env, ENDPOINT_TIMEOUT),
        in_container=bool(env.get(IN_CONTAINER.name)),
        serve_image=_text(env, SERVE_IMAGE),
        sagemaker_poll_seconds=_number(env, SAGEMAKER_POLL),
        request_timeout=_number(env, REQUEST_TIMEOUT),
        max_retries=_count(env, MAX_RETRIES),
        model_deadline=_number(env, MODEL_DEADLINE),
        explainer_config=_text(env, EXPLAINER_CONFIG),
        explainer_model_url=_text(env, EXPLAINER_MODEL_URL),
        s3_endpoint_url=_text(env, S3_ENDPOINT) or _text(env, AWS_ENDPOINT),
        spacy_pipelines=_text(env, SPACY_PIPELINES),
        aws_region=_text(env, AWS_REGION),
    )


# --- Model Monitor container contract -------------------------------------------------------
# A monitoring execution (ModelBiasMonitor / ModelExplainabilityMonitor schedule) sets these
# lower-case variables (DOC model-monitor-byoc-contract-inputs and the SDK's analyzer names).
# How the service passes the Clarify-specific attributes is not public, so every documented
# name is read; names marked INFERRED in the README are this project's choice.

MONITOR_VARIABLES: tuple[EnvVar, ...] = (
    EnvVar("dataset_source", None,
           "Monitoring: local folder of the captured data (`<endpoint>/<variant>/yyyy/mm/dd/hh`); "
           "set means the job is a monitoring execution."),
    EnvVar("dataset_format", None,
           "Monitoring: `{\"sagemakerCaptureJson\": {...}}` (captured data; other formats are rejected)."),
    EnvVar("ground_truth_source", None,
           "Monitoring (INFERRED name): local folder or `s3://` prefix of the ground truth "
           "(default: `/opt/ml/processing/groundtruth`)."),
    EnvVar("output_path", None, "Monitoring: output folder (default: `/opt/ml/processing/output`)."),
    EnvVar("baseline_constraints", None,
           "Monitoring: the baseline constraints, i.e. the baselining job's `analysis.json` "
           "(file or folder)."),
    EnvVar("baseline_statistics", None, "Monitoring: read and ignored (Clarify monitors have none)."),
    EnvVar("publish_cloudwatch_metrics", "Disabled",
           "Monitoring: `Enabled` writes CloudWatch metric records to "
           "`/opt/ml/output/metrics/cloudwatch`."),
    EnvVar("sagemaker_endpoint_name", None,
           "Monitoring: the monitored endpoint (CloudWatch dimension; the predictor when the "
           "config has none)."),
    EnvVar("sagemaker_monitoring_schedule_name", None, "Monitoring: the schedule (CloudWatch dimension)."),
    EnvVar("start_time", None, "Monitoring: window start (ISO 8601); unset: no lower bound."),
    EnvVar("end_time", None, "Monitoring: window end (ISO 8601); unset: no upper bound."),
    EnvVar("start_time_offset", None, "Monitoring (INFERRED name): window start offset, e.g. `-PT1H`."),
    EnvVar("end_time_offset", None, "Monitoring (INFERRED name): window end offset, e.g. `-PT1H`."),
    EnvVar("analysis_type", None,
           "Monitoring: `MODEL_BIAS` or `MODEL_EXPLAINABILITY` (default: from the config: `methods.shap` "
           "means explainability)."),
    EnvVar("problem_type", None, "Monitoring: read and logged (the bias metrics do not depend on it)."),
    EnvVar("features_attribute", None,
           "Monitoring: JMESPath of the features in JSON/JSON Lines captured input (INFERRED env name)."),
    EnvVar("inference_attribute", None,
           "Monitoring: predicted label in the captured output (CSV column index or JMESPath)."),
    EnvVar("probability_attribute", None,
           "Monitoring: score in the captured output (CSV column index or JMESPath)."),
    EnvVar("probability_threshold_attribute", None,
           "Monitoring: score threshold for `probability_attribute` (Model Monitor default 0.5)."),
    EnvVar("ground_truth_attribute", None, "Monitoring: JMESPath of the label in JSON ground truth."),
    EnvVar("exclude_features_attribute", None,
           "Monitoring: comma-separated feature names left out of the analysis."),
)  # fmt: skip


@dataclass(frozen=True)
class MonitorSettings:
    """The Model Monitor contract variables (``None``: unset)."""

    dataset_source: str | None
    dataset_format: str | None
    ground_truth_source: str | None
    output_path: str | None
    baseline_constraints: str | None
    baseline_statistics: str | None
    publish_cloudwatch_metrics: bool
    endpoint_name: str | None
    schedule_name: str | None
    start_time: str | None
    end_time: str | None
    start_time_offset: str | None
    end_time_offset: str | None
    analysis_type: str | None
    problem_type: str | None
    features_attribute: str | None
    inference_attribute: str | None
    probability_attribute: str | None
    probability_threshold_attribute: float | None
    ground_truth_attribute: str | None
    exclude_features_attribute: str | None


def monitor_settings(environ: Mapping[str, str] | None = None) -> MonitorSettings:
    """Read :data:`MONITOR_VARIABLES` from ``environ`` (default: ``os.environ``)."""
    env = os.environ if environ is None else environ
    by_name = {v.name: v for v in MONITOR_VARIABLES}

    def text(name: str) -> str | None:
        return _text(env, by_name[name])

    threshold_text = text("probability_threshold_attribute")
    try:
        threshold = float(threshold_text) if threshold_text else None
    except ValueError:
        raise ConfigError(
            f"Environment variable probability_threshold_attribute must be a number, got {threshold_text!r}"
        ) from None
    return MonitorSettings(
        dataset_source=text("dataset_source"),
        dataset_format=text("dataset_format"),
        ground_truth_source=text("ground_truth_source"),
        output_path=text("output_path"),
        baseline_constraints=text("baseline_constraints"),
        baseline_statistics=text("baseline_statistics"),
        publish_cloudwatch_metrics=(text("publish_cloudwatch_metrics") or "").lower() == "enabled",
        endpoint_name=text("sagemaker_endpoint_name"),
        schedule_name=text("sagemaker_monitoring_schedule_name"),
        start_time=text("start_time"),
        end_time=text("end_time"),
        start_time_offset=text("start_time_offset"),
        end_time_offset=text("end_time_offset"),
        analysis_type=text("analysis_type"),
        problem_type=text("problem_type"),
        features_attribute=text("features_attribute"),
        inference_attribute=text("inference_attribute"),
        probability_attribute=text("probability_attribute"),
        probability_threshold_attribute=threshold,
        ground_truth_attribute=text("ground_truth_attribute"),
        exclude_features_attribute=text("exclude_features_attribute"),
    )
