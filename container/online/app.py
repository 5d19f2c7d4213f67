"""The explainer's ASGI app: SageMaker's serving routes, answered with explanations.

* ``GET /ping``: 200 when the model answers (always for an in-process model).
* ``POST /invocations``: the container contract. The answer is ``application/json``
  (:mod:`container.online.explainer`); a bad request is a 400 with a plain-text message; a
  model failure on the original request is passed on with the model's status and body.
* ``POST /endpoints/{name}/invocations``: the runtime API route, answering errors as the
  service does: ``400 ValidationError`` for a bad request and ``424 ModelError`` (with
  ``OriginalStatusCode``/``OriginalMessage``) for a model failure.

The request header ``X-Amzn-SageMaker-Enable-Explanations`` (InvokeEndpoint's
``EnableExplanations``) overrides the config's expression for that request;
``X-Amzn-SageMaker-Custom-Attributes`` and ``X-Amzn-SageMaker-Target-Model`` are passed to the
model. Explanations run in a worker thread so that ``/ping`` stays responsive.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analyzer.errors import ConfigError, ModelError
from analyzer.settings import runner_settings
from container.online.config import ExplainerSettings, load_explainer_config
from container.online.explainer import (
    ENABLE_EXPLANATIONS_HEADER,
    ExplainerRequestError,
    ModelInvocationError,
    OnlineExplainer,
)
from container.online.transport import ModelEndpoint

log = logging.getLogger("clarify_runner.online")

CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"
TARGET_MODEL = "x-amzn-sagemaker-target-model"
#: InvokeEndpoint's largest request body (6 MB).
MAX_REQUEST_BYTES = 6 * 1024 * 1024


class _TooLarge(Exception):
    pass


def read_baseline(settings: ExplainerSettings) -> str:
    """The baseline's text: ``ShapBaseline``, or the object at ``ShapBaselineUri`` (file or ``s3://``)."""
    config = settings.shap.ShapBaselineConfig
    if config.ShapBaseline is not None:
        return config.ShapBaseline
    assert config.ShapBaselineUri is not None  # the config requires one of the two
    from analyzer.storage import read_bytes

    data = read_bytes(config.ShapBaselineUri)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        uri = config.ShapBaselineUri
        raise ConfigError(f"ShapBaselineUri {uri}: not UTF-8 text ({exc.reason})") from None


def build_explainer(
    config: str | Path | ExplainerSettings,
    *,
    model_dir: str | Path | None = None,
    model_url: str | None = None,
) -> OnlineExplainer:
    """An :class:`OnlineExplainer` for a config (file, JSON text or parsed) and a model.

    Exactly one of ``model_dir`` (served in-process) and ``model_url`` (a remote container) is given.
    """
    settings = config if isinstance(config, ExplainerSettings) else load_explainer_config(config)
    if (model_dir is None) == (model_url is None):
        raise ValueError("give the model as a folder or as an endpoint URL, not both or neither")
    baseline = read_baseline(settings)
    if model_url is not None:
        model = ModelEndpoint.remote(model_url)
    else:
        model = ModelEndpoint.in_process(model_dir or "")
    return OnlineExplainer(settings, model, baseline)


def _validation_error(message: str) -> Response:
    return Response(
        json.dumps({"__type": "ValidationError", "message": message}),
        status_code=400,
        media_type="application/json",
        headers={"x-amzn-ErrorType": "ValidationError"},
    )


def _model_error(status: int, message: str) -> Response:
    kind = "client" if status < 500 else "server"
    doc = {
        "__type": "ModelError",
        "message": f"Received {kind} error ({status}) from primary with message \"{message}\". "
        "See the endpoint log for more information.",
        "OriginalStatusCode": status,
        "OriginalMessage": message,
    }
    return Response(
        json.dumps(doc),
        status_code=424,
        media_type="application/json",
        headers={"x-amzn-ErrorType": "ModelError"},
    )


def create_explainer_app(explainer: OnlineExplainer, max_request_bytes: int = MAX_REQUEST_BYTES) -> Starlette:
    """The ASGI app serving ``explainer`` (closed when the app shuts down)."""

    async def ping(request: Request) -> Response:
        ok = await run_in_threadpool(explainer.model.ping)
        return Response(b"", status_code=200 if ok else 503)

    async def _explain(request: Request) -> Response:
        declared = request.headers.get("content-length")
        limit = max_request_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _TooLarge(f"request body of {declared} bytes is over the limit of {limit} bytes")
        body = await request.body()
        if len(body) > limit:
            raise _TooLarge(f"request body of {len(body)} bytes is over the limit of {limit} bytes")
        h = request.headers
        answer = await run_in_threadpool(
            explainer.invoke,
            body,
            h.get("content-type"),
            h.get("accept"),
            enable_explanations=h.get(ENABLE_EXPLANATIONS_HEADER),
            custom_attributes=h.get(CUSTOM_ATTRIBUTES),
            target_model=h.get(TARGET_MODEL),
        )
        return Response(answer.body, media_type=answer.content_type, headers=answer.headers)

    async def invocations(request: Request) -> Response:
        try:
            return await _explain(request)
        except _TooLarge as exc:
            return Response(str(exc), status_code=413, media_type="text/plain")
        except ExplainerRequestError as exc:
            return Response(exc.message, status_code=400, media_type="text/plain")
        except ModelInvocationError as exc:
            reply = exc.reply
            kind = reply.headers.get("content-type", "text/plain")
            return Response(reply.body, status_code=reply.status, media_type=kind)
        except ModelError as exc:
            log.error("explanation failed: %s", exc)
            return Response(str(exc), status_code=500, media_type="text/plain")
        except Exception as exc:  # noqa: BLE001 - a bug must not take the server down
            log.exception("unexpected error")
            return Response(f"internal error: {type(exc).__name__}: {exc}", status_code=500)

    async def runtime_invocations(request: Request) -> Response:
        try:
            return await _explain(request)
        except (_TooLarge, ExplainerRequestError) as exc:
            return _validation_error(exc.message if isinstance(exc, ExplainerRequestError) else str(exc))
        except ModelInvocationError as exc:
            return _model_error(exc.reply.status, exc.reply.text())
        except ModelError as exc:
            log.error("explanation failed: %s", exc)
            return _model_error(500, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must not take the server down
            log.exception("unexpected error")
            return _model_error(500, f"internal error: {type(exc).__name__}: {exc}")

    routes = [
        Route("/ping", ping, methods=["GET", "POST"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/endpoints/{name}/invocations", runtime_invocations, methods=["POST"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        explainer.close()

    return Starlette(routes=routes, lifespan=lifespan)


def app_from_env() -> Starlette:
    """uvicorn factory: the explainer for ``$CLARIFY_RUNNER_EXPLAINER_CONFIG`` in front of
    ``$CLARIFY_RUNNER_EXPLAINER_MODEL_URL``, else the model folder ``$CLARIFY_RUNNER_MODEL_DIR``."""
    from local_endpoint.settings import server_settings

    if not logging.getLogger().handlers:  # worker processes start with bare logging
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env = runner_settings()
    if env.explainer_config is None:
        raise ConfigError("CLARIFY_RUNNER_EXPLAINER_CONFIG is not set")
    url = env.explainer_model_url
    explainer = build_explainer(
        env.explainer_config, model_url=url, model_dir=None if url else server_settings().model_dir
    )
    log.info("explainer in front of %s", explainer.model.description)
    return create_explainer_app(explainer)
