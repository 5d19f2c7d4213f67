"""``clarify-runner``: the command line.

``clarify-runner run``       run an analysis (no Docker needed)
``clarify-runner validate``  check a config, its dataset and its endpoint without running anything
``clarify-runner serve``     serve a model with the SageMaker inference contract (with
                             ``--explainer-config``: with online explanations)
``clarify-runner monitor``   a Model Monitor execution: bias or feature-attribution drift of
                             captured traffic against a baseline analysis.json
``clarify-runner cleanup``   remove shadow endpoints and staging folders of killed jobs

Exit codes (:mod:`analyzer.errors`): 0 success, 1 user error (config, data), 2 internal
error, 3 model or endpoint error, 4 platform error (network, AWS, Docker), 130/143 stopped by
SIGINT/SIGTERM. Errors also go to ``/opt/ml/output/message`` when that folder exists.

Nothing heavy is imported before the arguments are parsed (``--help`` answers at once).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from analyzer.errors import EXIT_OK, EXIT_USER_ERROR, ConfigError, JobStopped, StopEvent
from local_endpoint.cli import add_serve_arguments

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import AnalysisConfig

logger = logging.getLogger("clarify_runner")


class _ClarifyFormatter(logging.Formatter):
    """``2022-04-18 15:50:24,047 message`` like the real container; level shown for warnings."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno >= logging.WARNING:
            head, _, tail = text.partition(" ")
            date, _, rest = tail.partition(" ")
            return f"{head} {date} {record.levelname}: {rest}"
        return text


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not when the handler
    was made (so redirecting or capturing stderr later never hits a closed stream)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def setup_logging(level: str = "INFO") -> None:
    """Send log lines to stderr in the real container's format."""
    handler = _StderrHandler()
    handler.setFormatter(_ClarifyFormatter("%(asctime)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "matplotlib", "fontTools", "weasyprint"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


LOG_LEVEL_HELP = "DEBUG, INFO (default), WARNING or ERROR"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clarify-runner",
        description="Open-source drop-in for the SageMaker Clarify processing job.",
    )
    parser.add_argument("--log-level", default="INFO", help=LOG_LEVEL_HELP)
    # --log-level is accepted after the subcommand too; there it only overrides when given
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default=argparse.SUPPRESS, help=LOG_LEVEL_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run an analysis", parents=[common])
    run.add_argument("--config", required=True, help="analysis_config.json")
    run.add_argument("--data", help="dataset file, folder or s3:// URI (dataset_uri in the config wins)")
    run.add_argument(
        "--output", default="clarify-output", help="output folder or s3:// prefix (default: %(default)s)"
    )
    run.add_argument(
        "--endpoint-url", help="send every prediction to this container URL (e.g. http://127.0.0.1:8080)"
    )
    run.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "docker", "subprocess", "sagemaker"],
        help="how to start the shadow endpoint for predictor.model_name (default: auto)",
    )
    run.add_argument(
        "--models-file",
        help="offline model registry: JSON {model_name: {image, model_data_url, ...}} as a path, "
        "an s3:// URI or the JSON text itself",
    )
    run.add_argument(
        "--shap-estimator",
        default="clarify",
        choices=["clarify", "leverage"],
        help="clarify: identical to Clarify/shap.KernelExplainer (default); "
        "leverage: paired leverage sampling, more accurate per model call, NOT identical to Clarify",
    )
    run.add_argument(
        "--report-tolerance", type=float, default=0.1, help="highlight bias metrics this far from fair"
    )

    val = sub.add_parser(
        "validate", help="check config, data and endpoint without running the analysis", parents=[common]
    )
    val.add_argument("--config", required=True)
    val.add_argument("--data", help="dataset file, folder or s3:// URI")
    val.add_argument("--endpoint-url", help="container URL whose /ping must answer")

    clean = sub.add_parser(
        "cleanup",
        help="remove shadow endpoints and staging folders left by killed jobs",
        parents=[common],
    )
    clean.add_argument("--output", help="also remove staging folders of killed jobs in this output folder")

    serve = sub.add_parser(
        "serve", help="serve a model with the SageMaker inference contract", parents=[common]
    )
    add_serve_arguments(serve)
    add_explainer_arguments(serve)
    _add_monitor_parser(sub, common)
    return parser


def add_explainer_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--explainer-config`` and ``--model-url`` (online explainability) to a serve parser."""
    parser.add_argument(
        "--explainer-config",
        default=None,
        help="ClarifyExplainerConfig JSON file: answer invocations with Kernel SHAP explanations "
        "(default $CLARIFY_RUNNER_EXPLAINER_CONFIG)",
    )
    parser.add_argument(
        "--model-url",
        default=None,
        help="with --explainer-config: front this model container URL instead of serving --model-dir "
        "(default $CLARIFY_RUNNER_EXPLAINER_MODEL_URL)",
    )


def serve_with_args(args: argparse.Namespace) -> None:
    """Serve the model, or the explainer in front of it when an explainer config is given."""
    from analyzer.settings import runner_settings

    env = runner_settings()
    config = args.explainer_config or env.explainer_config
    if config is None:
        if args.model_url:
            raise ConfigError("--model-url needs --explainer-config: it names the model the explainer fronts")
        from local_endpoint.server import serve

        serve(args.model_dir, host=args.host, port=args.port, workers=args.workers)
        return
    from container.online.server import serve_explainer

    serve_explainer(
        config,
        model_dir=args.model_dir,
        model_url=args.model_url or env.explainer_model_url,
        host=args.host,
        port=args.port,
        workers=args.workers,
    )


def _add_monitor_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    mon = sub.add_parser(
        "monitor",
        help="Model Monitor execution: bias / feature-attribution drift against a baseline",
        parents=[common],
    )
    mon.add_argument("--config", required=True, help="monitoring analysis config (the SDK's ConfigUri file)")
    mon.add_argument("--captured", required=True, help="data-capture folder or s3:// prefix")
    mon.add_argument("--ground-truth", help="ground-truth folder or s3:// prefix (bias drift)")
    mon.add_argument(
        "--baseline", required=True, help="the baselining job's analysis.json (file, folder, s3://)"
    )
    mon.add_argument("--output", default="monitor-output", help="output folder or s3:// prefix")
    mon.add_argument("--kind", choices=["auto", "bias", "explainability"], default="auto",
                     help="auto: explainability when the config has methods.shap, else bias")  # fmt: skip
    mon.add_argument("--start-time", help="window start, ISO 8601 (default: no bound)")
    mon.add_argument("--end-time", help="window end, ISO 8601 (default: no bound)")
    mon.add_argument("--start-offset", help="offset of the window start, e.g. --start-offset=-PT2H")
    mon.add_argument("--end-offset", help="offset of the window end, e.g. --end-offset=-PT1H")
    mon.add_argument("--features-attribute", help="JMESPath of the features in JSON captured input")
    mon.add_argument(
        "--inference-attribute", help="predicted label in the captured output (index or JMESPath)"
    )
    mon.add_argument("--probability-attribute", help="score in the captured output (index or JMESPath)")
    mon.add_argument("--probability-threshold-attribute", type=float, help="score threshold (default 0.5)")
    mon.add_argument("--ground-truth-attribute", help="JMESPath of the label in JSON ground truth")
    mon.add_argument("--exclude-features", default="", help="comma-separated features to leave out")
    mon.add_argument("--ndcg-threshold", type=float, default=0.9, help="attribution drift alert threshold")
    mon.add_argument("--cloudwatch-metrics", help="write CloudWatch metric records into this folder")
    mon.add_argument("--endpoint-name", help="monitored endpoint (CloudWatch dimension)")
    mon.add_argument("--schedule-name", help="monitoring schedule (CloudWatch dimension)")
    mon.add_argument("--endpoint-url", help="explainability: send SHAP predictions to this container URL")
    mon.add_argument("--backend", default="auto", choices=["auto", "docker", "subprocess", "sagemaker"])
    mon.add_argument("--models-file", help="offline model registry for predictor.model_name")
    mon.add_argument("--report", action="store_true", help="also write report.{ipynb,html,pdf}")


def _cmd_run(args: argparse.Namespace) -> int:
    """Run the job like the processing job does: SIGTERM/SIGINT stop it cleanly (143/130)."""
    from container.job import run_job
    from container.lifecycle import cleanup_endpoints, report_failure, report_success, stop_on_signals

    stop_event = StopEvent()
    with stop_on_signals(stop_event) as guard:
        try:
            logger.info("Starting clarify-runner analysis")
            logger.info("Analysis config path: %s", args.config)
            logger.info("Analysis result path: %s", args.output)
            run_job(
                args.config,
                data_uri=args.data,
                output=args.output,
                endpoint_url=args.endpoint_url,
                backend=args.backend,
                models_file=args.models_file,
                stop_event=stop_event,
                shap_estimator=args.shap_estimator,
                report_tolerance=args.report_tolerance,
            )
            return report_success()
        except (Exception, JobStopped, KeyboardInterrupt) as exc:
            guard.shielded = True
            return report_failure(exc, stop_event)
        finally:
            guard.shielded = True
            cleanup_endpoints()


def _cmd_monitor(args: argparse.Namespace) -> int:
    """A monitoring execution; exit 0 with or without violations (like Model Monitor)."""
    from analyzer.monitor.capture import TimeWindow
    from container.lifecycle import cleanup_endpoints, report_failure, report_success, stop_on_signals
    from container.monitor import MonitorAttributes, run_monitor

    stop_event = StopEvent()
    with stop_on_signals(stop_event) as guard:
        try:
            result = run_monitor(
                args.config,
                captured=args.captured,
                ground_truth=args.ground_truth,
                baseline=args.baseline,
                output=args.output,
                window=TimeWindow.from_settings(
                    args.start_time, args.end_time, args.start_offset, args.end_offset
                ),
                attributes=MonitorAttributes(
                    features=args.features_attribute,
                    inference=args.inference_attribute,
                    probability=args.probability_attribute,
                    probability_threshold=args.probability_threshold_attribute,
                    ground_truth=args.ground_truth_attribute,
                    exclude_features=tuple(f.strip() for f in args.exclude_features.split(",") if f.strip()),
                ),
                kind=None if args.kind == "auto" else args.kind,
                endpoint_url=args.endpoint_url,
                backend=args.backend,
                models_file=args.models_file,
                stop_event=stop_event,
                endpoint_name=args.endpoint_name,
                schedule_name=args.schedule_name,
                cloudwatch_dir=args.cloudwatch_metrics,
                ndcg_threshold=args.ndcg_threshold,
                report=args.report,
            )
            print(f"{result.status}: {len(result.violations)} violation(s) in {result.records} records")
            for v in result.violations:
                print(f"- {v.get('facet', v.get('label'))} {v['metric_name']}: {v['description']}")
            return report_success()
        except (Exception, JobStopped, KeyboardInterrupt) as exc:
            guard.shielded = True
            return report_failure(exc, stop_event)
        finally:
            guard.shielded = True
            cleanup_endpoints()


def validate_problems(config: str, data: str | None, endpoint_url: str | None) -> list[str]:
    """Every problem found in a config, its dataset and its endpoint (empty when all is well).

    Config problems and data problems are reported together: the parts of the config that
    are valid are still checked against the dataset (header, column roles, then the rows).
    """
    import json

    from analyzer.config import config_problems, load_config, partial_config, unsupported_features
    from analyzer.errors import ConfigError

    try:
        raw_text = Path(config).read_bytes()
    except OSError as exc:
        return [f"Cannot read the analysis config {config}: {exc.strerror}"]
    try:
        raw = json.loads(raw_text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        try:
            load_config(raw_text)
        except ConfigError as exc:
            return [str(exc)]
        raise
    problems = list(config_problems(raw))
    cfg = partial_config(raw)
    if cfg is None:
        return problems  # nothing usable is left to check the data against
    unsupported = unsupported_features(cfg)
    problems += unsupported
    data_uri = cfg.dataset_uri or data
    if data_uri is None:
        problems.append("No dataset: set dataset_uri in the analysis config or pass --data")
    elif not unsupported:
        problems += [p for p in _data_problems(cfg, data_uri) if p not in problems]
    if endpoint_url:
        problems += _ping_problems(endpoint_url)
    return problems


def _data_problems(cfg: AnalysisConfig, data_uri: str) -> list[str]:
    """Problems of the dataset against ``cfg``: header and roles (the plan), then the rows."""
    from analyzer.datasets.header import read_header
    from analyzer.datasets.loader import load_planned
    from analyzer.errors import UserError
    from analyzer.plan.build import build_plan, plan_problems
    from analyzer.plan.dataset import plan_dataset

    try:
        header = read_header(cfg, data_uri)
        problems = plan_problems(cfg, header, data_uri)
        if problems:
            return problems
        if cfg.time_series_data_config is not None:  # the rows: items, series, static baselines
            from analyzer.plan.build import build_plan

            load_planned(build_plan(cfg, header, data_uri).dataset)
            return []
        dataset, column_problems = plan_dataset(cfg, header, data_uri)
        if dataset is not None and not column_problems:
            loaded = load_planned(dataset)
            problems = _role_problems(cfg, header, data_uri, loaded.frame)
            if cfg.methods.shap is not None and cfg.methods.shap.text_config is not None:
                from analyzer.text_job import text_data_problems

                problems += text_data_problems(build_plan(cfg, header, data_uri), loaded)
            return problems
    except UserError as exc:
        return [str(exc)]
    return []


def _role_problems(cfg: AnalysisConfig, header: Any, data_uri: str, frame: Any) -> list[str]:
    """Label and facet values against the loaded rows (``label_values_or_threshold: ["yes"]`` on
    a 0/1 label): the bias rules applied with one cheap metric, as ``run`` would apply them."""
    from analyzer.bias import FacetSpec, bias_section
    from analyzer.errors import UserError
    from analyzer.plan.build import build_plan
    from analyzer.plan.model import BiasJob

    try:
        plan = build_plan(cfg, header, data_uri)
    except UserError:
        return []  # reported by the plan checks
    job = plan.job(BiasJob)
    if job is None:
        return []
    try:
        bias_section(
            frame,
            stage="pre_training",
            label=job.label,
            label_values_or_threshold=list(job.label_values_or_threshold),
            facets=[FacetSpec(f.column, list(f.value_or_threshold) if f.value_or_threshold else None)
                    for f in job.facets],
            methods=["CI"],
        )
    except UserError as exc:
        return [str(exc)]
    return []


def _ping_problems(url: str) -> list[str]:
    import requests

    try:
        resp = requests.get(url.rstrip("/") + "/ping", timeout=5)
    except requests.RequestException as exc:
        return [f"Endpoint {url} does not answer /ping: {exc.__class__.__name__}: {exc}"]
    if resp.status_code != 200:
        return [f"Endpoint {url} answered /ping with HTTP {resp.status_code}: {resp.text[:200]}"]
    return []


def _cmd_validate(args: argparse.Namespace) -> int:
    problems = validate_problems(args.config, args.data, args.endpoint_url)
    if problems:
        print(f"{len(problems)} problem(s) found in {args.config}:")
        for i, p in enumerate(problems, 1):
            print(f"{i}. {p}")
        return EXIT_USER_ERROR
    print(f"{args.config}: OK (config, dataset" + (", endpoint" if args.endpoint_url else "") + ")")
    return EXIT_OK


def _cmd_cleanup(args: argparse.Namespace) -> int:
    """Remove what killed jobs left behind: endpoints whose job is gone, their staging folders."""
    from container.endpoints.docker_backend import docker_available, docker_client
    from container.orphans import remove_orphans

    client = docker_client(timeout=30) if docker_available() else None
    try:
        removed = remove_orphans(
            docker_client=client, output_dir=Path(args.output) if args.output else None
        )
    finally:
        if client is not None:
            client.close()
    for what in removed:
        print(f"removed {what}")
    print(f"{len(removed)} orphan(s) removed")
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    serve_with_args(args)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``clarify-runner`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    setup_logging(args.log_level)
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "monitor":
        return _cmd_monitor(args)
    handlers = {"validate": _cmd_validate, "serve": _cmd_serve, "cleanup": _cmd_cleanup}
    try:
        return handlers[args.command](args)
    except (Exception, KeyboardInterrupt) as exc:  # last-resort handler: report, never a bare traceback
        from container.lifecycle import report_failure

        return report_failure(exc)


def console_main() -> None:  # pragma: no cover - the console script
    """The ``clarify-runner`` command: :func:`main`, then exit (at once after a stop)."""
    from container.lifecycle import exit_process

    exit_process(main())


if __name__ == "__main__":  # pragma: no cover
    console_main()
