"""Run the endpoint under uvicorn (uvloop + httptools), with one or several worker processes.

SIGTERM (what SageMaker sends on scale-in) makes uvicorn stop accepting connections,
finish the requests in flight and exit 0.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import uvicorn

from local_endpoint.app import MODEL_DIR_ENV
from local_endpoint.errors import ModelLoadError
from local_endpoint.settings import server_settings

#: Seconds a worker may take to answer uvicorn's health check. uvicorn's 5 s default killed and
#: restarted workers that were still importing scikit-learn on a loaded machine, over and over.
WORKER_HEALTHCHECK_SECONDS = 60


def default_workers() -> int:
    """``$SAGEMAKER_MODEL_SERVER_WORKERS``, else the number of CPUs (at most 4)."""
    value = server_settings().workers
    if value is not None:
        return max(1, value)
    return max(1, min(os.cpu_count() or 1, 4))


def check_model_dir(model_dir: Path) -> None:
    """Fail fast, before any worker starts, when ``model_dir`` cannot hold a model."""
    if not model_dir.is_dir():
        raise ModelLoadError(f"model folder {model_dir} does not exist")
    if not any(model_dir.iterdir()):
        raise ModelLoadError(f"model folder {model_dir} is empty")


def serve(
    model_dir: str | Path | None = None,
    *,
    host: str = "0.0.0.0",
    port: int | None = None,
    workers: int | None = None,
) -> None:
    """Serve the model(s) in ``model_dir`` until SIGTERM/SIGINT (blocks).

    ``model_dir`` defaults to ``/opt/ml/model``; ``port`` to ``$SAGEMAKER_BIND_TO_PORT`` or
    8080; ``workers`` to ``$SAGEMAKER_MODEL_SERVER_WORKERS`` or the CPU count (max 4).
    Raises :class:`~local_endpoint.errors.ModelLoadError` when the folder is missing or empty.
    """
    env = server_settings()
    model_dir = Path(model_dir or env.model_dir).resolve()
    check_model_dir(model_dir)
    port = port if port is not None else env.port
    workers = workers if workers is not None else default_workers()
    # Worker processes build their own app from the environment (uvicorn's factory mode).
    os.environ[MODEL_DIR_ENV] = str(model_dir)
    # One BLAS thread per worker: several workers share the cores already.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        "local_endpoint.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="auto",
        http="auto",
        access_log=False,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=30,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        log_level="info",
    )
