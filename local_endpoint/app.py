"""The ASGI application: SageMaker inference-container routes over a :class:`ModelRegistry`.

Routes:

* ``GET /ping`` — 200 once the model is loaded. It carries the header
  ``X-Clarify-Runner-Accept: application/x-npy``: clarify-runner's model client sends the
  binary ``application/x-npy`` format only to endpoints that advertise it, and CSV to
  any other (third-party) image. It also carries ``X-Clarify-Runner-Same-Answer: text/csv``:
  the same rows sent as ``text/csv`` or as ``application/x-npy`` reach the model as the same
  float matrix (both are decoded here, by one server), so the client may switch to the
  binary format without first probing both with a sample (saves two requests at start-up).
* ``POST /invocations`` — the container contract (``Content-Type``, ``Accept``,
  ``X-Amzn-SageMaker-Custom-Attributes`` echoed back, ``X-Amzn-SageMaker-Target-Model``).
* ``POST /endpoints/{name}/invocations`` — the SageMaker *runtime* API route, so that
  ``boto3.client("sagemaker-runtime").invoke_endpoint`` with
  ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` pointed here works. Failures are answered as
  the service does: HTTP 424 ``ModelError`` with ``OriginalStatusCode``/``OriginalMessage``.
* ``GET /execution-parameters`` — as the XGBoost container (batch transform hints).

Successful invocations carry a ``Server-Timing`` header (``read``, ``parse``, ``predict``,
``encode``, in milliseconds) so a client can tell model time from transport time.

Requests whose body is at most ``CLARIFY_RUNNER_INLINE_MAX_BYTES`` (default 256 KiB) are
computed on the event loop (a thread hand-off would cost more than they do); larger ones
and first-use model loads run in a worker thread so that ``/ping`` stays responsive.

Environment: ``MAX_CONTENT_LENGTH`` (request limit in bytes, default 6291456 = 6 MiB),
``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``, ``SAGEMAKER_INFERENCE_OUTPUT`` (see
:mod:`local_endpoint.encode`), ``CLARIFY_RUNNER_MODEL_FLAVOR`` / ``CLARIFY_RUNNER_MODEL_FILE``
(see :mod:`local_endpoint.models`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from local_endpoint import encode as enc
from local_endpoint import settings as settings_module
from local_endpoint.decode import NPY, decode, media_type
from local_endpoint.errors import BadRequest, EndpointError, ModelFailure, PayloadTooLarge
from local_endpoint.image_serving import infer_images
from local_endpoint.registry import ModelRegistry
from local_endpoint.text_input import decode_text_records

log = logging.getLogger("local_endpoint")

DEFAULT_MODEL_DIR = str(settings_module.MODEL_DIR.default)
MODEL_DIR_ENV = settings_module.MODEL_DIR.name
ADVERTISE_HEADER = "X-Clarify-Runner-Accept"
#: Request types whose answers equal the binary format's for the same numeric rows.
SAME_ANSWER_HEADER = "X-Clarify-Runner-Same-Answer"
PING_HEADERS = {ADVERTISE_HEADER: NPY, SAME_ANSWER_HEADER: "text/csv"}
#: Header of a ``/ping`` answer when the model failed to load (the body is the error).
LOAD_ERROR_HEADER = "X-Clarify-Runner-Load-Error"
CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"
TARGET_MODEL = "x-amzn-sagemaker-target-model"


class Settings:
    """Per-process settings read once from the environment (:mod:`local_endpoint.settings`)."""

    def __init__(self) -> None:
        env = settings_module.server_settings()
        self.max_content_length = env.max_content_length
        self.default_accept = media_type(env.default_accept) or None
        self.output_keys = enc.parse_output_keys(env.inference_output)
        self.inline_max_bytes = env.inline_max_bytes


def _check_features(model_n: int | None, X: np.ndarray) -> None:
    if model_n is not None and X.shape[1] != model_n:
        raise BadRequest(f"each record has {X.shape[1]} features, but the model expects {model_n}")


_NOT_A_NUMBER = re.compile(r"could not convert string to float: '(.*)'")
_MISSING = re.compile(r"contains NaN|NaN values|missing values", re.IGNORECASE)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value == ""


def bad_cell(X: np.ndarray, exc: Exception) -> str | None:
    """The request cell that made the model fail, when the failure is a cell it cannot read.

    A numeric model given text (``40,abc,35``) or an empty cell (``40,,35``) raises while
    converting or checking its input; that is a bad request (400) naming the record and
    column, not a model failure (500). ``None`` when the error is not of that kind.
    """
    text = str(exc)
    if X.ndim != 2:
        return None
    hits: np.ndarray | list[np.ndarray]
    match = _NOT_A_NUMBER.search(text)
    if match is not None:
        value = match.group(1)
        if value == "":
            hits = np.argwhere(np.vectorize(_is_missing, otypes=[bool])(X)) if X.dtype == object else []
            what = "the cell is empty"
        else:
            hits = np.argwhere(np.vectorize(lambda v: isinstance(v, str) and v.strip() == value,
                                            otypes=[bool])(X)) if X.dtype == object else []
            what = f"{value!r} is not a number"
    elif _MISSING.search(text) and X.dtype.kind in "fO":
        hits = np.argwhere(np.vectorize(_is_missing, otypes=[bool])(X))
        what = "the cell is empty (the model cannot take missing values)"
    else:
        return None
    if len(hits) == 0:
        return None
    row, col = (int(v) + 1 for v in hits[0])
    more = f" ({len(hits) - 1} more such cell(s))" if len(hits) > 1 else ""
    return (
        f"record {row}, column {col} (counting from 1): {what}{more}; the model raised "
        f"{type(exc).__name__}: {text}"
    )


def infer(
    registry: ModelRegistry,
    settings: Settings,
    body: bytes | bytearray,
    content_type: str | None,
    accept: str | None,
    target: str | None,
    timings: dict[str, float] | None = None,
) -> tuple[bytes, str]:
    """Decode, predict and encode one request; returns ``(body, response content type)``.

    When ``timings`` is given, the seconds spent in ``parse``, ``predict`` and ``encode``
    are stored in it.
    """
    kind = media_type(content_type)
    model = registry.get(target)
    if model.flavor == "image":
        return infer_images(model.estimator, body, kind, media_type(accept), timings)
    out_type = enc.choose_accept(accept, kind, settings.default_accept)
    if model.flavor == "forecaster":  # DeepAR-style JSON in and out (local_endpoint.forecasting)
        from local_endpoint.forecasting import infer_forecast

        return infer_forecast(model.estimator, body, kind, out_type, timings)
    t0 = time.perf_counter()
    X = (
        decode(body, content_type)
        if model.text_input is None
        else decode_text_records(body, content_type, model.text_input)
    )
    _check_features(model.n_features, X)
    t1 = time.perf_counter()
    try:
        prediction = model.predict(X)
    except Exception as exc:  # noqa: BLE001 - any model failure is reported to the caller
        cell = bad_cell(X, exc)
        if cell is not None:  # the client's data, not the model, is at fault: 400
            raise BadRequest(cell) from exc
        raise ModelFailure(f"the model raised {type(exc).__name__}: {exc}") from exc
    if prediction.n != X.shape[0]:
        raise ModelFailure(f"the model returned {prediction.n} rows for {X.shape[0]} records")
    t2 = time.perf_counter()
    selected = enc.select(prediction, settings.output_keys)
    payload = enc.encode(selected, out_type, settings.output_keys is not None)
    if timings is not None:
        timings.update(parse=t1 - t0, predict=t2 - t1, encode=time.perf_counter() - t2)
    return payload, out_type


async def _read_body(request: Request, limit: int) -> bytes | bytearray:
    """The request body, refused with 413 once it passes ``limit`` bytes.

    With a ``Content-Length`` the chunks are copied into one writable buffer as they
    arrive (one copy; the x-npy decoder then uses it in place).
    """
    declared = request.headers.get("content-length")
    size = int(declared) if declared is not None and declared.isdigit() else None
    if size is not None and size > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes is over the limit of {limit} bytes")
    if size is not None:
        buffer = bytearray(size)
        view = memoryview(buffer)
        pos = 0
        async for chunk in request.stream():
            end = pos + len(chunk)
            if end > size:  # the server stops at Content-Length; a guard all the same
                raise BadRequest(f"request body is longer than its Content-Length of {size} bytes")
            view[pos:end] = chunk
            pos = end
        view.release()
        if pos < size:
            del buffer[pos:]
        return buffer
    chunks = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(model_dir: str | Path | None = None) -> Starlette:
    """Build the ASGI app serving the model(s) in ``model_dir`` (default ``/opt/ml/model``).

    The model of a single-model folder is loaded here, so the app answers ``/ping`` only
    once it is ready; models of a multi-model folder are loaded on first use.
    """
    model_dir = Path(model_dir) if model_dir else settings_module.server_settings().model_dir
    registry = ModelRegistry(model_dir)
    settings = Settings()

    if registry.default is not None:
        m = registry.default
        log.info("loaded %s model %s (%s features)", m.flavor, m.path, m.n_features)
    else:
        log.info("model folder %s: one model per name, loaded on first use: %s", model_dir, registry.names())

    async def ping(request: Request) -> Response:
        return Response(b"", status_code=200, headers=PING_HEADERS)

    async def execution_parameters(request: Request) -> Response:
        doc = {
            "MaxConcurrentTransforms": 1,
            "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": max(1, settings.max_content_length // (1024 * 1024)),
        }
        return Response(json.dumps(doc), media_type="application/json")

    async def _handle(request: Request) -> Response:
        headers = request.headers
        t0 = time.perf_counter()
        body = await _read_body(request, settings.max_content_length)
        timings = {"read": time.perf_counter() - t0}
        args = (
            registry,
            settings,
            body,
            headers.get("content-type"),
            headers.get("accept"),
            headers.get(TARGET_MODEL),
            timings,
        )
        if len(body) <= settings.inline_max_bytes and registry.is_loaded(headers.get(TARGET_MODEL)):
            # Small requests run on the event loop: a thread hand-off costs more than they do.
            payload, out_type = infer(*args)
        else:
            # Large requests and first-use model loads run in a thread, so /ping stays responsive.
            payload, out_type = await run_in_threadpool(infer, *args)
        extra = {"Server-Timing": ", ".join(f"{k};dur={v * 1e3:.3f}" for k, v in timings.items())}
        custom = headers.get(CUSTOM_ATTRIBUTES)
        if custom is not None:
            extra["X-Amzn-SageMaker-Custom-Attributes"] = custom
        return Response(payload, media_type=out_type, headers=extra)

    async def invocations(request: Request) -> Response:
        try:
            return await _handle(request)
        except EndpointError as exc:
            if exc.status >= 500:
                log.error("invocation failed: %s", exc.message)
            return Response(exc.message, status_code=exc.status, media_type="text/plain")
        except Exception as exc:  # noqa: BLE001 - a bug must not take the server down
            log.exception("unexpected error")
            return Response(f"internal error: {type(exc).__name__}: {exc}", status_code=500)

    async def runtime_invocations(request: Request) -> Response:
        try:
            try:
                return await _handle(request)
            except EndpointError:
                raise
            except Exception as exc:  # noqa: BLE001 - a bug must not take the server down
                log.exception("unexpected error")
                raise ModelFailure(f"internal error: {type(exc).__name__}: {exc}") from exc
        except EndpointError as exc:
            if isinstance(exc, PayloadTooLarge):
                return Response(
                    json.dumps({"__type": "ValidationError", "message": exc.message}),
                    status_code=400,
                    media_type="application/json",
                    headers={"x-amzn-ErrorType": "ValidationError"},
                )
            kind = "client" if exc.status < 500 else "server"
            doc: dict[str, str | int] = {
                "__type": "ModelError",
                "message": f"Received {kind} error ({exc.status}) from primary with message "
                f'"{exc.message}". See the endpoint log for more information.',
                "OriginalStatusCode": exc.status,
                "OriginalMessage": exc.message,
            }
            return Response(
                json.dumps(doc),
                status_code=424,
                media_type="application/json",
                headers={"x-amzn-ErrorType": "ModelError"},
            )

    routes = [
        Route("/ping", ping, methods=["GET", "POST"]),
        Route("/execution-parameters", execution_parameters, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/endpoints/{name}/invocations", runtime_invocations, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def failed_app(reason: str) -> Starlette:
    """An app for a model that failed to load: every route answers HTTP 500 with ``reason``.

    ``/ping`` carries :data:`LOAD_ERROR_HEADER`, so a caller waiting for readiness stops at
    once and shows the server's own error, instead of waiting for a timeout while uvicorn
    restarts a worker that crashes on every start.
    """
    text = f"the model failed to load: {reason}"

    async def failing(request: Request) -> Response:
        return Response(text, status_code=500, media_type="text/plain", headers={LOAD_ERROR_HEADER: "1"})

    routes = [
        Route("/ping", failing, methods=["GET", "POST"]),
        Route("/invocations", failing, methods=["POST"]),
        Route("/endpoints/{name}/invocations", failing, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def app_from_env() -> Starlette:
    """uvicorn factory: the app for the folder named by ``CLARIFY_RUNNER_MODEL_DIR``.

    A model that fails to load gives :func:`failed_app` (the error is logged and answered on
    every route) rather than a worker that dies and is restarted forever.
    """
    if not logging.getLogger().handlers:  # worker processes start with bare logging
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return create_app(settings_module.server_settings().model_dir)
    except Exception as exc:  # noqa: BLE001 - any load failure is reported, not restarted
        reason = exc.message if isinstance(exc, EndpointError) else f"{type(exc).__name__}: {exc}"
        log.error("the model failed to load: %s", reason)
        return failed_app(reason)
