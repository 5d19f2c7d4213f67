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

from analyzer.errors import EXIT_OK, ConfigError, JobStopped, StopEvent
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
    p.add_argument("--models-file", default=env.models_file, help="offline models file")
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


def run(args: argparse.Namespace, stop_event: StopEvent) -> int:
    """Resolve the contract paths and run the analysis; return the exit code."""
    from container.job import opt_ml_root, run_job

    paths = ContractPaths(opt_ml_root())
    logger.info("Starting SageMaker Clarify Processing job")
    job_config = read_json(paths.job_config)
    resource_config = read_json(paths.resource_config)
    with tempfile.TemporaryDirectory(prefix="clarify-runner-job-") as tmp:
        config = _resolve_config(args.config, Path(tmp)) if args.config else find_config(paths, job_config)
        output = args.output or str(_output_path(job_config, "analysis_result") or paths.output_dir)
        logger.info("Analysis config path: %s", config)
        logger.info("Analysis result path: %s", output)
        if not log_hosts(resource_config):
            logger.info("Only the leader runs the analysis; nothing to do on this host.")
            return EXIT_OK
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
    """The model-server role (``serve``): local_endpoint on ``/opt/ml/model``, port 8080."""
    from local_endpoint.cli import add_serve_arguments

    p = argparse.ArgumentParser(prog="serve")
    add_serve_arguments(p)
    args = p.parse_args(list(argv))
    _drop_privileges()
    from local_endpoint.server import serve

    serve(args.model_dir, host=args.host, port=args.port, workers=args.workers)
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
