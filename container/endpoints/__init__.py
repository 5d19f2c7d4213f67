"""The shadow endpoint: where a processing job's predictions come from.

``open_shadow_endpoint(predictor, ...)`` is the one entry point. For ``predictor.endpoint_name``
it uses that endpoint as it is (never deleted). For ``predictor.model_name`` it starts a shadow
endpoint with one of three interchangeable backends and always tears it down afterwards:

* ``docker``: ``initial_instance_count`` containers of the model's image run with ``serve`` on
  a private network (local use, docker compose);
* ``subprocess``: ``python -m local_endpoint serve`` processes on 127.0.0.1 (no Docker);
* ``sagemaker``: CreateEndpointConfig + CreateEndpoint, invoked through sagemaker-runtime (what
  runs inside a real SageMaker processing job, which has no Docker socket).

``backend="auto"`` (or ``$CLARIFY_RUNNER_ENDPOINT_BACKEND``) picks ``sagemaker`` inside a real
SageMaker processing job without a Docker socket, ``docker`` when an engine answers, else
``subprocess``. Multi-instance (Spark) jobs would open one endpoint per host the same way.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from analyzer import settings
from analyzer.endpoint import EndpointHandle
from analyzer.errors import ConfigError
from analyzer.extras import require
from analyzer.plan.model import EndpointTarget
from analyzer.settings import runner_settings
from container.endpoints.common import attr
from container.endpoints.naming import endpoint_name

logger = logging.getLogger(__name__)

BACKENDS = ("docker", "subprocess", "sagemaker")
BACKEND_ENV = settings.BACKEND.name

__all__ = ["BACKENDS", "choose_backend", "in_sagemaker_job", "open_shadow_endpoint"]


def in_sagemaker_job(opt_ml: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``processingjobconfig.json`` names a real SageMaker job (an ``arn:`` job ARN).

    SDK local mode writes the job name as ``ProcessingJobArn``; that is not an ARN.
    """
    root = Path(opt_ml) if opt_ml else runner_settings().opt_ml
    try:
        cfg = json.loads((root / "config" / "processingjobconfig.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(cfg, dict) and str(cfg.get("ProcessingJobArn") or "").startswith("arn:")


def choose_backend(requested: str = "auto", *, opt_ml: str | os.PathLike[str] | None = None) -> str:
    """Resolve ``auto`` (or ``$CLARIFY_RUNNER_ENDPOINT_BACKEND``) to one of :data:`BACKENDS`."""
    from container.endpoints.docker_backend import docker_available

    if requested == "auto":
        requested = runner_settings().endpoint_backend
    if requested != "auto":
        if requested not in BACKENDS:
            raise ConfigError(
                f"unknown endpoint backend {requested!r}; use one of auto, {', '.join(BACKENDS)}"
            )
        if requested == "docker":
            require("docker", "The Docker shadow-endpoint backend (--backend docker)")
        return requested
    has_docker = docker_available()
    if in_sagemaker_job(opt_ml) and not has_docker:
        return "sagemaker"
    return "docker" if has_docker else "subprocess"


@contextlib.contextmanager
def open_shadow_endpoint(
    predictor: EndpointTarget,
    *,
    backend: str = "auto",
    models_file: str | Path | None = None,
    stop_event: threading.Event | None = None,
) -> Iterator[EndpointHandle]:
    """Yield an :class:`EndpointHandle` for ``predictor``; tear down what was started on exit.

    Args:
        predictor: The plan's endpoint target (``model_name``, ``endpoint_name``,
            ``endpoint_name_prefix``, ``initial_instance_count``, ``instance_type``,
            ``accelerator_type``, named as in analysis_config.json's ``predictor``).
        backend: ``auto``, ``docker``, ``subprocess`` or ``sagemaker``.
        models_file: Models file for offline use: a path, an ``s3://`` URI or the JSON text (see
            :mod:`container.endpoints.models`).
        stop_event: When set, waiting for the endpoint stops (raises :class:`analyzer.errors.JobStopped`).
    """
    from container.endpoints.sagemaker_backend import use_existing_endpoint

    existing = attr(predictor, "endpoint_name")
    if existing:
        with use_existing_endpoint(existing, stop_event=stop_event) as handle:
            yield handle
        return
    model_name = attr(predictor, "model_name")
    if not model_name:
        raise ConfigError("predictor needs model_name or endpoint_name to get predictions")
    count = int(attr(predictor, "initial_instance_count", 1))
    if count < 1:
        raise ConfigError(f"predictor.initial_instance_count must be at least 1, got {count}")
    chosen = choose_backend(backend)
    name = endpoint_name(model_name, attr(predictor, "endpoint_name_prefix"))
    logger.info("Spinning up shadow endpoint")
    with _open_backend(chosen, name, model_name, predictor, count, models_file, stop_event) as handle:
        logger.info("Endpoint ready.")
        yield handle


@contextlib.contextmanager
def _open_backend(
    chosen: str,
    name: str,
    model_name: str,
    predictor: EndpointTarget,
    count: int,
    models_file: str | Path | None,
    stop_event: threading.Event | None,
) -> Iterator[EndpointHandle]:
    if chosen == "sagemaker":
        from container.endpoints.sagemaker_backend import open_sagemaker_endpoint

        with open_sagemaker_endpoint(
            name,
            model_name,
            count=count,
            instance_type=attr(predictor, "instance_type"),
            accelerator_type=attr(predictor, "accelerator_type"),
            stop_event=stop_event,
        ) as handle:
            yield handle
        return
    from container.endpoints.models import resolve_model

    spec = resolve_model(model_name, models_file)
    if chosen == "docker":
        from container.endpoints.docker_backend import open_docker_endpoint

        logger.info("Creating endpoint: '%s' (%d Docker container(s))", name, count)
        logger.info("Using endpoint name: %s", name)
        with open_docker_endpoint(name, spec, count=count, stop_event=stop_event) as handle:
            yield handle
    else:
        from container.endpoints.subprocess_backend import open_subprocess_endpoint

        logger.info("Creating endpoint: '%s' (%d local_endpoint process(es))", name, count)
        logger.info("Using endpoint name: %s", name)
        with open_subprocess_endpoint(name, spec, count=count, stop_event=stop_event) as handle:
            yield handle
