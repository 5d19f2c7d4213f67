"""Command line: ``python -m local_endpoint serve [--model-dir D] [--port P] [--host H] [--workers N]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also reusable by ``clarify-runner serve``)."""
    parser = argparse.ArgumentParser(
        prog="python -m local_endpoint",
        description="SageMaker-compatible model server (GET /ping, POST /invocations).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the model folder over HTTP")
    add_serve_arguments(serve)
    return parser


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--model-dir``, ``--port``, ``--host`` and ``--workers`` to ``parser``."""
    parser.add_argument("--model-dir", default=None, help="model folder (default /opt/ml/model)")
    parser.add_argument("--port", type=int, default=None, help="default $SAGEMAKER_BIND_TO_PORT or 8080")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default $SAGEMAKER_MODEL_SERVER_WORKERS or the CPU count, max 4)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    from local_endpoint.errors import ModelLoadError
    from local_endpoint.server import serve

    try:
        serve(args.model_dir, host=args.host, port=args.port, workers=args.workers)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
