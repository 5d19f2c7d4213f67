"""Run the explainer under uvicorn: ``clarify-runner serve --explainer-config F``.

The config is checked (and the baseline read) before any worker starts, so an invalid config
stops the command at once with the API's message; each worker then builds its own explainer
from the environment (uvicorn's factory mode), as ``local_endpoint``'s workers do.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import uvicorn

from analyzer.settings import EXPLAINER_CONFIG, EXPLAINER_MODEL_URL
from container.online.app import read_baseline
from container.online.config import load_explainer_config
from local_endpoint.app import MODEL_DIR_ENV
from local_endpoint.server import WORKER_HEALTHCHECK_SECONDS, check_model_dir, default_workers
from local_endpoint.settings import server_settings


def serve_explainer(
    config: str | Path,
    *,
    model_dir: str | Path | None = None,
    model_url: str | None = None,
    host: str = "0.0.0.0",
    port: int | None = None,
    workers: int | None = None,
) -> None:
    """Serve the explainer for ``config`` in front of ``model_url`` or the models in ``model_dir``.

    ``model_dir`` defaults to ``/opt/ml/model``, ``port`` to ``$SAGEMAKER_BIND_TO_PORT`` or
    8080, ``workers`` to ``$SAGEMAKER_MODEL_SERVER_WORKERS`` or the CPU count (max 4).

    Raises:
        ConfigError: the config is invalid (the API's message) or its baseline unreadable.
        ModelLoadError: no model in ``model_dir``.
    """
    settings = load_explainer_config(config)
    read_baseline(settings)
    env = server_settings()
    text = str(config)
    os.environ[EXPLAINER_CONFIG.name] = text if text.lstrip().startswith("{") else str(Path(text).resolve())
    if model_url:
        os.environ[EXPLAINER_MODEL_URL.name] = model_url
    else:
        os.environ.pop(EXPLAINER_MODEL_URL.name, None)
        folder = Path(model_dir or env.model_dir).resolve()
        check_model_dir(folder)
        os.environ[MODEL_DIR_ENV] = str(folder)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        "container.online.app:app_from_env",
        factory=True,
        host=host,
        port=port if port is not None else env.port,
        workers=workers if workers is not None else default_workers(),
        access_log=False,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=30,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        log_level="info",
    )
