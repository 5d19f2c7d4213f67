"""The image's entrypoint: run as a SageMaker (Clarify) processing job, or ``serve`` a model.

Processing contract (users-and-contracts.md §2, clarify-contract.md §1), paths under
``/opt/ml`` (``$CLARIFY_RUNNER_OPT_ML`` in tests):

* config: the single JSON file in ``processing/input/config`` (any name), or the
  ``analysis_config`` input's ``LocalPath`` from ``config/processingjobconfig.json``;
* data: ``processing/input/data`` (the ``dataset`` input), unless ``dataset_uri`` is set;
* results: ``processing/output`` (SageMaker uploads it at the end of the job);
* failure: ``output/message`` (≤ 1 KB UTF-8) and a non-zero exit code (see
  :mod:`analyzer.errors`: 1 user error, 2 internal error, 3 model error, 4 platform error,
  128+N after signal N).

Outside SageMaker (``docker run``, ``docker compose``), ``--config``/``--data``/``--output``
(or ``CLARIFY_RUNNER_CONFIG``/``_DATA``/``_OUTPUT``) may name ``s3://`` URIs instead; an S3
output is uploaded only when the whole analysis succeeded.

SIGTERM/SIGINT: the job logs ``Signal 15 received, cleaning up``, sets the stop event, unwinds
(tearing down the shadow endpoint) and exits 128+N (:mod:`container.lifecycle`, shared with
``clarify-runner run``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.errors import EXIT_OK, ConfigError, JobStopped, NotSupportedError, StopEvent
from analyzer.settings import runner_settings

logger = logging.getLogger("clarify_runner.processing_job")


@dataclass(frozen=True)
class ContractPaths:
    """The SageMaker processing paths under one ``/opt/ml`` root."""

    root: Path

    @property
    def config_dir(self) -> Path:
        """``processing/input/config``: the ``analysis_config`` input."""
        return self.root / "processing" / "input" / "config"

    @property
    def data_dir(self) -> Path:
        """``processing/input/data``: the ``dataset`` input."""
        return self.root / "processing" / "input" / "data"

    @property
    def output_dir(self) -> Path:
        """``processing/output``: the ``analysis_result`` output."""
        return self.root / "processing" / "output"

    @property
    def job_config(self) -> Path:
        """``config/processingjobconfig.json`` (the CreateProcessingJob request)."""
        return self.root / "config" / "processingjobconfig.json"

    @property
    def resource_config(self) -> Path:
        """``config/resourceconfig.json`` (``current_host``, ``hosts``)."""
        return self.root / "config" / "resourceconfig.json"


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` when the file is absent."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return data


def _input_path(job_config: dict[str, Any] | None, input_name: str) -> Path | None:
    for item in (job_config or {}).get("ProcessingInputs") or []:
        if item.get("InputName") == input_name:
            local = (item.get("S3Input") or {}).get("LocalPath")
            return Path(local) if local else None
    return None


def _output_path(job_config: dict[str, Any] | None, output_name: str) -> Path | None:
    outputs = ((job_config or {}).get("ProcessingOutputConfig") or {}).get("Outputs") or []
    for item in outputs:
        if item.get("OutputName") == output_name:
            local = (item.get("S3Output") or {}).get("LocalPath")
            return Path(local) if local else None
    return None


def _output_s3_uri(job_config: dict[str, Any] | None, output_name: str) -> str | None:
    """The ``S3Uri`` of a processing output: where Clarify says the results are (``analysis.json``)."""
    outputs = ((job_config or {}).get("ProcessingOutputConfig") or {}).get("Outputs") or []
    for item in outputs:
        if item.get("OutputName") == output_name:
            uri = (item.get("S3Output") or {}).get("S3Uri")
            return str(uri) if uri else None
    return None


def _single_json(folder: Path) -> Path:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if len(files) == 1:
        return files[0]
    jsons = [p for p in files if p.suffix.lower() == ".json"]
    if len(jsons) == 1:
        return jsons[0]
    named = [p for p in jsons if p.name == "analysis_config.json"]
    if len(named) == 1:
        return named[0]
    if not files:
        raise ConfigError(f"No analysis config: {folder} is empty (the analysis_config input is required)")
    listing = ", ".join(str(p.relative_to(folder)) for p in files)
    raise ConfigError(f"Several files in {folder} ({listing}); expected one analysis config JSON file")


def find_config(paths: ContractPaths, job_config: dict[str, Any] | None = None) -> Path:
    """The analysis config file: from processingjobconfig.json's input, else the config folder."""
    local = _input_path(job_config, "analysis_config") or paths.config_dir
    if local.is_file():
        return local
    if local.is_dir():
        return _single_json(local)
    raise ConfigError(f"No analysis config: {local} does not exist (the analysis_config input is required)")


def find_data(paths: ContractPaths, job_config: dict[str, Any] | None = None) -> str | None:
    """The ``dataset`` input folder when it exists and holds files, else ``None``."""
    local = _input_path(job_config, "dataset") or paths.data_dir
    if local.is_file() or (local.is_dir() and any(p.is_file() for p in local.rglob("*"))):
        return str(local)
    return None


def log_hosts(resource_config: dict[str, Any] | None) -> bool:
    """Log the host lines of the real container; return whether this host is the leader."""
    if not resource_config:
        return True
    current = resource_config.get("current_host", "algo-1")
    hosts = list(resource_config.get("hosts") or [current])
    logger.info("This host is %s.", current)
    leader = current == hosts[0]
    logger.info("This host is the leader." if leader else "This host is not the leader.")
    logger.info("Number of hosts in the cluster is %d.", len(hosts))
    return leader


def check_single_host(resource_config: dict[str, Any] | None) -> None:
    """Stop a job of several hosts on every host: distributed (Spark) analysis is not implemented.

    A host that exited 0 while another still ran would let SageMaker (and SDK local mode, which
    then stops the others) report a job without ``analysis.json`` as completed.
    """
    hosts = list((resource_config or {}).get("hosts") or [])
    if len(hosts) > 1:
        raise NotSupportedError(
            f"This processing job has {len(hosts)} hosts ({', '.join(map(str, hosts))}; "
            f"instance_count={len(hosts)}), but clarify-runner analyses on a single host: Clarify's "
            "distributed (Spark) processing is not implemented. Run the job with instance_count=1; "
            "every host of this job stops with this error."
        )


def _parser() -> argparse.ArgumentParser:
    env = runner_settings()
    description = (__doc__ or "").split("\n")[0]
    p = argparse.ArgumentParser(prog="clarify-runner-processing-job", description=description)
    p.add_argument("--config", default=env.config, help="config file or s3:// URI")
    p.add_argument("--data", default=env.data, help="dataset file, folder or s3:// URI")
    p.add_argument("--output", default=env.output, help="output folder or s3:// prefix")
    p.add_argument(
        "--backend",
        default=env.endpoint_backend,
        choices=["auto", "docker", "subprocess", "sagemaker"],
        help="shadow endpoint backend (default: auto)",
    )
    p.add_argument(
        "--models-file",
        default=env.models_file,
        help="offline models file: a path, an s3:// URI or the JSON text",
    )
    p.add_argument("--shap-estimator", default=env.shap_estimator)
    p.add_argument("--log-level", default=env.log_level)
    return p


def _resolve_config(spec: str, workdir: Path) -> Path:
    if spec.startswith("s3://"):
        from container.s3 import download

        files = download(spec, workdir / "config")
        return files[0] if len(files) == 1 else _single_json(workdir / "config")
    path = Path(spec)
    return _single_json(path) if path.is_dir() else path


def _first_existing(*candidates: Path) -> str | None:
    return next((str(p) for p in candidates if p.exists()), None)


def run_monitoring(args: argparse.Namespace, paths: ContractPaths, stop_event: StopEvent) -> int:
    """A Model Monitor execution (``dataset_source`` is set): bias or feature-attribution drift.

    Inputs follow the Model Monitor container contract (``analyzer.settings.MONITOR_VARIABLES``):
    the captured data in ``dataset_source``, the ground truth in ``ground_truth_source`` (or
    ``processing/groundtruth``), the baseline ``analysis.json`` in ``baseline_constraints``, the
    outputs in ``output_path``; CloudWatch records go to ``/opt/ml/output/metrics/cloudwatch``
    when ``publish_cloudwatch_metrics`` is ``Enabled``. Violations do not fail the job.
    """
    from analyzer.monitor.capture import TimeWindow
    from analyzer.settings import monitor_settings
    from clarify_common.extras import missing_modules
    from container.monitor import MonitorAttributes, run_monitor

    env = monitor_settings()
    assert env.dataset_source is not None
    logger.info("Starting SageMaker Model Monitor (Clarify) monitoring execution")
    if env.dataset_format and "sagemakercapturejson" not in env.dataset_format.lower():
        raise NotSupportedError(
            f"dataset_format {env.dataset_format} is not supported yet: only captured endpoint data "
            "(sagemakerCaptureJson) is"
        )
    job_config = read_json(paths.job_config)
    if args.config:
        config = _resolve_config(args.config, Path(tempfile.mkdtemp(prefix="clarify-runner-monitor-config-")))
    else:
        config = find_config(paths, job_config)
    processing = paths.root / "processing"
    baseline = env.baseline_constraints or _first_existing(processing / "baseline" / "constraints")
    if baseline is None:
        raise ConfigError(
            "No baseline constraints: set baseline_constraints (the baselining job's analysis.json)"
        )
    output = env.output_path or args.output or str(paths.output_dir)
    ground_truth = env.ground_truth_source or _first_existing(
        processing / "groundtruth", processing / "input" / "groundtruth"
    )
    cloudwatch = paths.root / "output" / "metrics" / "cloudwatch" if env.publish_cloudwatch_metrics else None
    logger.info("Analysis config path: %s", config)
    logger.info("Captured data: %s", env.dataset_source)
    logger.info("Ground truth: %s; baseline: %s", ground_truth, baseline)
    logger.info("Analysis result path: %s", output)
    if env.problem_type:
        logger.info("Problem type: %s", env.problem_type)
    attributes = MonitorAttributes(
        features=env.features_attribute,
        inference=env.inference_attribute,
        probability=env.probability_attribute,
        probability_threshold=env.probability_threshold_attribute,
        ground_truth=env.ground_truth_attribute,
        exclude_features=tuple(
            f.strip() for f in (env.exclude_features_attribute or "").split(",") if f.strip()
        ),
    )
    window = TimeWindow.from_settings(
        env.start_time, env.end_time, env.start_time_offset, env.end_time_offset
    )
    run_monitor(
        config,
        captured=env.dataset_source,
        ground_truth=ground_truth,
        baseline=baseline,
        output=output,
        window=window,
        attributes=attributes,
        analysis_type=env.analysis_type,
        backend=args.backend,
        models_file=args.models_file,
        stop_event=stop_event,
        endpoint_name=env.endpoint_name,
        schedule_name=env.schedule_name,
        cloudwatch_dir=cloudwatch,
        report=not missing_modules("report"),
    )
    return EXIT_OK


def run(args: argparse.Namespace, stop_event: StopEvent) -> int:
    """Resolve the contract paths and run the analysis; return the exit code.

    With the Model Monitor contract's ``dataset_source`` set, the job is a monitoring
    execution (:func:`run_monitoring`); otherwise an ordinary Clarify (or baselining) job.
    """
    from analyzer.settings import monitor_settings
    from container.job import opt_ml_root, run_job

    paths = ContractPaths(opt_ml_root())
    if monitor_settings().dataset_source:
        return run_monitoring(args, paths, stop_event)
    logger.info("Starting SageMaker Clarify Processing job")
    job_config = read_json(paths.job_config)
    resource_config = read_json(paths.resource_config)
    with tempfile.TemporaryDirectory(prefix="clarify-runner-job-") as tmp:
        config = _resolve_config(args.config, Path(tmp)) if args.config else find_config(paths, job_config)
        output = args.output or str(_output_path(job_config, "analysis_result") or paths.output_dir)
        logger.info("Analysis config path: %s", config)
        logger.info("Analysis result path: %s", output)
        log_hosts(resource_config)
        check_single_host(resource_config)
        run_job(
            config,
            data_uri=args.data or find_data(paths, job_config),
            output=output,
            backend=args.backend,
            models_file=args.models_file,
            stop_event=stop_event,
            shap_estimator=args.shap_estimator,
            results_uri=None if args.output else _output_s3_uri(job_config, "analysis_result"),
        )
    return EXIT_OK


def processing_main(argv: Sequence[str]) -> int:
    """The processing-job role: run, map errors to exit codes and ``/opt/ml/output/message``."""
    from container.cli import setup_logging
    from container.lifecycle import cleanup_endpoints, report_failure, report_success, stop_on_signals

    args = _parser().parse_args(list(argv))
    setup_logging(args.log_level)
    stop_event = StopEvent()
    with stop_on_signals(stop_event) as guard:
        try:
            run(args, stop_event)
            return report_success()
        except (Exception, JobStopped, KeyboardInterrupt) as exc:
            guard.shielded = True
            return report_failure(exc, stop_event, create_message=True, full_traceback=True)
        finally:
            guard.shielded = True
            cleanup_endpoints()


def _drop_privileges() -> None:
    """When root and ``$CLARIFY_RUNNER_SERVE_USER`` names a user, become that user."""
    user = runner_settings().serve_user
    if not user or os.geteuid() != 0:
        return
    import pwd

    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        return
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
    os.environ["HOME"] = pw.pw_dir


def serve_main(argv: Sequence[str]) -> int:
    """The model-server role (``serve``): local_endpoint on ``/opt/ml/model``, port 8080; the online
    explainer in front of it when ``$CLARIFY_RUNNER_EXPLAINER_CONFIG`` is set."""
    from container.cli import add_explainer_arguments, serve_with_args
    from local_endpoint.cli import add_serve_arguments

    p = argparse.ArgumentParser(prog="serve")
    add_serve_arguments(p)
    add_explainer_arguments(p)
    args = p.parse_args(list(argv))
    _drop_privileges()
    serve_with_args(args)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entrypoint: ``serve [...]`` serves a model; anything else runs the processing job."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve"]:
        return serve_main(args[1:])
    return processing_main(args)


if __name__ == "__main__":
    from container.lifecycle import exit_process

    exit_process(main())
