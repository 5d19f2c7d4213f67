"""One analysis job, end to end: config → plan → dataset → shadow endpoint → analysis → outputs.

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
from analyzer.errors import SUCCESS_MESSAGE, UserError, check_stop
from analyzer.extras import require
from analyzer.plan.build import PlanOptions, build_plan
from analyzer.plan.defaults import DEFAULT_REPORT_TOLERANCE, DEFAULT_SHAP_ESTIMATOR
from analyzer.plan.model import AnalysisPlan
from analyzer.storage import is_s3
from container.lifecycle import opt_ml_root, write_exit_message

logger = logging.getLogger(__name__)

__all__ = ["SUCCESS_MESSAGE", "opt_ml_root", "plan_job", "run_job", "write_exit_message"]


def plan_job(
    cfg: AnalysisConfig, data_uri: str | None, options: PlanOptions | None = None
) -> AnalysisPlan:
    """Check ``cfg`` is supported, read the dataset header and build the plan (no data, no model).

    Raises a :class:`UserError` for every problem found without the data rows or the model.
    """
    from analyzer.datasets.header import read_header

    ensure_supported(cfg)
    if cfg.methods.report is not None:  # before anything runs, not after the whole analysis
        require("report")
    dataset_uri = cfg.dataset_uri or (str(data_uri) if data_uri is not None else None)
    if dataset_uri is None:
        raise UserError("No dataset: set dataset_uri in the analysis config or pass --data")
    return build_plan(cfg, read_header(cfg, dataset_uri), dataset_uri, options)


@contextlib.contextmanager
def _endpoint_for(
    plan: AnalysisPlan,
    *,
    endpoint_url: str | None,
    backend: str,
    models_file: Path | None,
    stop_event: threading.Event | None,
) -> Iterator[EndpointHandle | None]:
    if not plan.needs_model or plan.model is None:
        yield None
        return
    if endpoint_url:
        logger.info("Sending every prediction to %s (--endpoint-url)", endpoint_url)
        yield EndpointHandle(urls=(endpoint_url.rstrip("/"),), description=endpoint_url)
        return
    from container.endpoints import open_shadow_endpoint

    with open_shadow_endpoint(
        plan.model.target, backend=backend, models_file=models_file, stop_event=stop_event
    ) as h:
        yield h


def _publish(staging: Path, output_dir: Path) -> list[Path]:
    """Move every staged file into ``output_dir``; ``analysis.json`` goes last."""
    from analyzer.output import ANALYSIS_FILE

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
    shap_estimator: str = DEFAULT_SHAP_ESTIMATOR,
    report_tolerance: float = DEFAULT_REPORT_TOLERANCE,
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
        shap_estimator: ``clarify`` (identical to Clarify/shap) or ``leverage`` (not identical).
        report_tolerance: Bias metrics further than this from their fair value are highlighted.

    Returns:
        The analysis dict written to ``analysis.json``.

    Order (Clarify's): a stale ``analysis.json`` is removed, the plan is built from the config
    and the dataset header, so a config problem fails the job before the data is loaded or an
    endpoint started; then the dataset is loaded;
    only then does the shadow endpoint start. Outputs are written to a staging folder first.
    Local outputs are moved into place only when the whole analysis succeeded,
    ``analysis.json`` last; S3 outputs are uploaded only then. A stale ``analysis.json`` from
    an earlier run in the same folder is removed first, so a failed run never leaves a
    complete-looking result behind.
    """
    from analyzer.output import ANALYSIS_FILE

    cfg = load_config(config_path)
    output_s3 = is_s3(str(output))
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
    plan = plan_job(cfg, data_uri, PlanOptions(shap_estimator, report_tolerance))
    from analyzer.preload import preload_for

    # report and SHAP libraries import while data loads and the endpoint starts; when the
    # endpoint already runs, once the first model request is sent (start-up stays quick)
    running = bool(endpoint_url) or (plan.model is not None and plan.model.target.endpoint_name is not None)
    preload_for(cfg, after_first_request=running)
    # the heavy modules (pandas, numpy) only once the plan holds: a config problem fails at once
    from analyzer.datasets.loader import load_planned, stream_planned
    from analyzer.runner import RunOptions, execute_plan

    staging = Path(tempfile.mkdtemp(prefix=".clarify-runner-staging-", dir=staging_parent))
    try:
        logger.info("Running Python / Pandas based analyzer.")
        dataset = stream_planned(plan.dataset) if plan.streams_dataset else load_planned(plan.dataset)
        check_stop(stop_event)
        with contextlib.ExitStack() as stack:
            endpoint = stack.enter_context(
                _endpoint_for(
                    plan,
                    endpoint_url=endpoint_url,
                    backend=backend,
                    models_file=Path(models_file) if models_file else None,
                    stop_event=stop_event,
                )
            )
            analysis = execute_plan(
                plan,
                dataset,
                output_dir=staging,
                endpoint=endpoint,
                options=RunOptions(stop_event=stop_event, release_endpoint=stack.close),
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
