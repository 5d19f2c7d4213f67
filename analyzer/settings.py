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

__all__ = ["VARIABLES", "EnvVar", "RunnerSettings", "runner_settings"]


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
    "`predictor.model_name`.")
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
AWS_ENDPOINT = EnvVar(
    "AWS_ENDPOINT_URL",
    None,
    "Endpoint URL for every AWS service (boto3's own variable; used for S3 when "
    "`AWS_ENDPOINT_URL_S3` is unset).")

#: Every variable read by ``analyzer`` and ``container``, in README order.
VARIABLES: tuple[EnvVar, ...] = (
    OPT_ML, CONFIG, DATA, OUTPUT, BACKEND, MODELS_FILE, SHAP_ESTIMATOR, LOG_LEVEL, SERVE_USER,
    ENDPOINT_TIMEOUT, IN_CONTAINER, SERVE_IMAGE, SAGEMAKER_POLL, REQUEST_TIMEOUT, MAX_RETRIES,
    MODEL_DEADLINE, S3_ENDPOINT, AWS_ENDPOINT, SPACY_PIPELINES,
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
    s3_endpoint_url: str | None
    #: ``CLARIFY_RUNNER_SPACY_PIPELINES`` as written (checked and parsed by :mod:`analyzer.plan.text`)
    spacy_pipelines: str | None = None


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
        s3_endpoint_url=_text(env, S3_ENDPOINT) or _text(env, AWS_ENDPOINT),
        spacy_pipelines=_text(env, SPACY_PIPELINES),
    )
