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
from analyzer.settings import runner_settings
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
    models_file: str | None,
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


#: What a run publishes into its output folder (besides a report named in the config).
PUBLISHED_NAMES = ("analysis.json", "explanations_shap", "asymmetric_shapley_value", "report.ipynb",
                   "report.html", "report.pdf")


def _prepare_output_dir(output_dir: Path) -> None:
    """Create ``output_dir`` and check it is a writable folder (:class:`UserError` otherwise)."""
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"Output {output_dir} is a file, not a folder; pass a folder to --output")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output_dir):
            pass
    except OSError as exc:
        raise UserError(f"Output folder {output_dir} is not writable: {exc.strerror or exc}") from None


def _published_names(cfg: AnalysisConfig) -> list[str]:
    names = list(PUBLISHED_NAMES)
    if cfg.methods.report is not None and cfg.methods.report.name:
        names += [f"{cfg.methods.report.name}.{ext}" for ext in ("ipynb", "html", "pdf")]
    return names


def _remove_stale_outputs(output_dir: Path, cfg: AnalysisConfig) -> None:
    """Remove what an earlier run published in ``output_dir``, so that after this run the folder
    holds only this run's results (and a failed run leaves nothing that looks complete)."""
    for name in _published_names(cfg):
        path = output_dir / name
        if path.is_dir() and not path.is_symlink():
            logger.info("Removing %s left by an earlier run", path)
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            logger.info("Removing %s left by an earlier run", path)
            path.unlink()


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
    results_uri: str | None = None,
) -> dict[str, Any]:
    """Run one analysis and publish its outputs.

    Args:
        config_path: ``analysis_config.json``.
        data_uri: Dataset file, folder or ``s3://`` URI; ``dataset_uri`` in the config wins.
        output: Local folder or ``s3://`` prefix for ``analysis.json`` and the other files.
        endpoint_url: Send every prediction to this container URL instead of the endpoint or
            model that the config names.
        backend: Shadow-endpoint backend (``auto``, ``docker``, ``subprocess``, ``sagemaker``).
        models_file: Model registry for offline use: a path, an ``s3://`` URI or the JSON text
            (see ``container.endpoints.models``).
        stop_event: Set by a signal handler to stop the job between steps.
        shap_estimator: ``clarify`` (identical to Clarify/shap) or ``leverage`` (not identical).
        report_tolerance: Bias metrics further than this from their fair value are highlighted.
        results_uri: Where the outputs end up, as written into ``analysis.json`` result paths
            (the processing job's ``analysis_result`` S3 URI); default: ``output``.

    Returns:
        The analysis dict written to ``analysis.json``.

    Order (Clarify's): a stale ``analysis.json`` is removed, the plan is built from the config
    and the dataset header, so a config problem fails the job before the data is loaded or an
    endpoint started; then the dataset is loaded;
    only then does the shadow endpoint start. Outputs are written to a staging folder first.
    Local outputs are moved into place only when the whole analysis succeeded,
    ``analysis.json`` last; S3 outputs are uploaded only then. What an earlier run published
    in the same folder (``analysis.json``, ``explanations_shap/``, the report) and the staging
    folders of killed jobs are removed first, so the folder ends up holding only this run's
    results, and a failed run never leaves a complete-looking result behind. The output
    destination is checked first (a writable folder; an S3 bucket that exists and accepts
    writes), before anything is loaded.
    """
    from container.orphans import remove_orphans, staging_prefix

    cfg = load_config(config_path)
    output_s3 = is_s3(str(output))
    if output_s3:
        from container.s3 import check_output_prefix, remove_published

        check_output_prefix(str(output))  # a missing bucket fails now, not after the analysis
        remove_published(str(output), _published_names(cfg))
        staging_parent = Path(tempfile.gettempdir())
    else:
        output_dir = Path(output)
        _prepare_output_dir(output_dir)
        remove_orphans(output_dir=output_dir, processes=False)  # staging of killed jobs
        _remove_stale_outputs(output_dir, cfg)
        staging_parent = output_dir
    env = runner_settings()
    options = PlanOptions(
        shap_estimator,
        report_tolerance,
        request_timeout=env.request_timeout,
        max_retries=env.max_retries,
        model_deadline=env.model_deadline,
    )
    plan = plan_job(cfg, data_uri, options)
    from analyzer.preload import preload_for

    # report and SHAP libraries import while data loads and the endpoint starts; when the
    # endpoint already runs, once the first model request is sent (start-up stays quick)
    running = bool(endpoint_url) or (plan.model is not None and plan.model.target.endpoint_name is not None)
    preload_for(cfg, after_first_request=running)
    # the heavy modules (pandas, numpy) only once the plan holds: a config problem fails at once
    from analyzer.datasets.loader import load_planned, stream_planned
    from analyzer.runner import RunOptions, execute_plan

    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(), dir=staging_parent))
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
                    models_file=str(models_file) if models_file else None,
                    stop_event=stop_event,
                )
            )
            analysis = execute_plan(
                plan,
                dataset,
                output_dir=staging,
                endpoint=endpoint,
                options=RunOptions(
                    stop_event=stop_event,
                    release_endpoint=stack.close,
                    results_uri=results_uri or (str(output) if output_s3 else str(Path(output).resolve())),
                    output_location=str(output) if output_s3 else str(output_dir),
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
