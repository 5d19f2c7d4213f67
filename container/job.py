"""One analysis job, end to end: config → shadow endpoint → analysis → outputs.

This is the code path shared by ``clarify-runner run`` and the processing-job entrypoint.
It owns the things around the analysis: choosing where predictions go, staging outputs so
that a failed job leaves nothing that looks complete, and uploading to S3 at the very end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analyzer.config import AnalysisConfig, ensure_supported, load_config
from analyzer.endpoint import EndpointHandle
from analyzer.errors import UserError
from analyzer.output import ANALYSIS_FILE
from analyzer.runner import RunOptions, needs_model, run_analysis
from analyzer.storage import is_s3

logger = logging.getLogger(__name__)

SUCCESS_MESSAGE = "Completed: SageMaker XAI Analyzer ran successfully"
OPT_ML_ENV = "CLARIFY_RUNNER_OPT_ML"


def opt_ml_root() -> Path:
    """Root of the SageMaker container tree (``/opt/ml``; ``$CLARIFY_RUNNER_OPT_ML`` in tests)."""
    return Path(os.environ.get(OPT_ML_ENV, "/opt/ml"))


def write_exit_message(text: str, *, create: bool = False) -> Path | None:
    """Write ``text`` to ``<opt_ml>/output/message`` (at most 1 KB of UTF-8).

    SageMaker shows the first 1 KB as the job's ``ExitMessage``/``FailureReason``. The file
    is written only when the ``output`` folder exists (inside a container) or ``create`` is
    set. Returns the path written, or ``None``.
    """
    folder = opt_ml_root() / "output"
    if not folder.is_dir():
        if not create:
            return None
        folder.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    if len(data) > 1024:
        data = data[:1024].decode("utf-8", errors="ignore").encode("utf-8")
    path = folder / "message"
    path.write_bytes(data)
    return path


@contextlib.contextmanager
def _endpoint_for(
    cfg: AnalysisConfig,
    *,
    endpoint_url: str | None,
    backend: str,
    models_file: Path | None,
    stop_event: threading.Event | None,
) -> Iterator[EndpointHandle | None]:
    if not needs_model(cfg):
        yield None
        return
    if endpoint_url:
        logger.info("Sending every prediction to %s (--endpoint-url)", endpoint_url)
        yield EndpointHandle(urls=(endpoint_url.rstrip("/"),), description=endpoint_url)
        return
    if cfg.predictor is None:  # pragma: no cover - config validation rejects this earlier
        raise UserError("predictor is required for the requested methods")
    from container.endpoints import open_shadow_endpoint

    with open_shadow_endpoint(
        cfg.predictor, backend=backend, models_file=models_file, stop_event=stop_event
    ) as h:
        yield h


def _publish(staging: Path, output_dir: Path) -> list[Path]:
    """Move every staged file into ``output_dir``; ``analysis.json`` goes last."""
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name == ANALYSIS_FILE and p.parent == staging)
    moved = []
    for src in files:
        dst = output_dir / src.relative_to(staging)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        moved.append(dst)
    return moved


def run_job(
    config_path: str | os.PathLike[str],
    *,
    data_uri: str | None,
    output: str | os.PathLike[str],
    endpoint_url: str | None = None,
    backend: str = "auto",
    models_file: str | os.PathLike[str] | None = None,
    stop_event: threading.Event | None = None,
    shap_estimator: str = "clarify",
    report_tolerance: float = 0.1,
) -> dict[str, Any]:
    """Run one analysis and publish its outputs.

    Args:
        config_path: ``analysis_config.json``.
        data_uri: Dataset file, folder or ``s3://`` URI; ``dataset_uri`` in the config wins.
        output: Local folder or ``s3://`` prefix for ``analysis.json`` and the other files.
        endpoint_url: Send every prediction to this container URL instead of the endpoint or
            model that the config names.
        backend: Shadow-endpoint backend (``auto``, ``docker``, ``subprocess``, ``sagemaker``).
        models_file: Local model registry for offline use (see ``container.endpoints``).
        stop_event: Set by a signal handler to stop the job between steps.
        shap_estimator: ``clarify`` (identical to Clarify/shap) or ``paired`` (faster, not identical).
        report_tolerance: Bias metrics further than this from their fair value are highlighted.

    Returns:
        The analysis dict written to ``analysis.json``.

    Outputs are written to a staging folder first. Local outputs are moved into place only
    when the whole analysis succeeded, ``analysis.json`` last; S3 outputs are uploaded only
    then. A stale ``analysis.json`` from an earlier run in the same folder is removed first,
    so a failed run never leaves a complete-looking result behind.
    """
    cfg = load_config(config_path)
    ensure_supported(cfg)
    dataset_uri = cfg.dataset_uri or (str(data_uri) if data_uri is not None else None)
    if dataset_uri is None:
        raise UserError("No dataset: set dataset_uri in the analysis config or pass --data")

    output_s3 = is_s3(output)
    if output_s3:
        staging_parent = Path(tempfile.gettempdir())
    else:
        output_dir = Path(output)
        output_dir.mkdir(parents=True, exist_ok=True)
        stale = output_dir / ANALYSIS_FILE
        if stale.exists():
            logger.info("Removing %s left by an earlier run", stale)
            stale.unlink()
        staging_parent = output_dir
    staging = Path(tempfile.mkdtemp(prefix=".clarify-runner-staging-", dir=staging_parent))
    try:
        with contextlib.ExitStack() as stack:
            endpoint = stack.enter_context(
                _endpoint_for(
                    cfg,
                    endpoint_url=endpoint_url,
                    backend=backend,
                    models_file=Path(models_file) if models_file else None,
                    stop_event=stop_event,
                )
            )
            analysis = run_analysis(
                cfg,
                data_uri=dataset_uri,
                output_dir=staging,
                endpoint=endpoint,
                options=RunOptions(
                    shap_estimator=shap_estimator,
                    report_tolerance=report_tolerance,
                    stop_event=stop_event,
                    config_path=str(config_path),
                    release_endpoint=stack.close,
                ),
            )
        if output_s3:
            from container.s3 import upload_outputs

            upload_outputs(staging, str(output))
            logger.info("Uploaded analysis results to %s", output)
        else:
            _publish(staging, output_dir)
            logger.info("Analysis results are in %s", output_dir)
        return analysis
    finally:
        shutil.rmtree(staging, ignore_errors=True)
