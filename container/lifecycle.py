"""How a job starts and ends, for ``clarify-runner run`` and the processing-job entrypoint alike.

* :func:`stop_on_signals`: the one stop mechanism. The first SIGTERM/SIGINT logs
  ``Signal 15 received, cleaning up`` (Clarify's line), sets the job's :class:`StopEvent` and
  raises :class:`analyzer.errors.JobStopped` in the main thread, which unwinds the job (context
  managers stop the shadow endpoint and remove the staging folder). Worker threads see the
  event at their next :func:`analyzer.errors.check_stop`.
* :func:`report_failure` / :func:`report_success`: log the outcome, write
  ``/opt/ml/output/message`` and return the exit code, using
  :func:`analyzer.errors.failure_outcome` (the one place that maps errors to codes and texts).
* :func:`cleanup_endpoints`: tear down whatever a shadow-endpoint backend left running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import NoReturn

from analyzer.errors import (
    EXIT_INTERNAL_ERROR,
    EXIT_OK,
    SUCCESS_MESSAGE,
    JobStopped,
    StopEvent,
    failure_outcome,
)
from analyzer.settings import runner_settings

logger = logging.getLogger("clarify_runner")

__all__ = [
    "SUCCESS_MESSAGE",
    "SignalGuard",
    "cleanup_endpoints",
    "exit_process",
    "opt_ml_root",
    "report_failure",
    "report_success",
    "stop_on_signals",
    "write_exit_message",
]


def opt_ml_root() -> Path:
    """Root of the SageMaker container tree (``/opt/ml``; ``$CLARIFY_RUNNER_OPT_ML`` in tests)."""
    return runner_settings().opt_ml


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


class SignalGuard:
    """Turns the first SIGTERM/SIGINT into :class:`JobStopped` in the main thread.

    Set :attr:`shielded` while cleaning up: later signals then only set the stop event.
    """

    def __init__(self, stop_event: StopEvent) -> None:
        self.stop_event = stop_event
        self.raised = False
        self.shielded = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler: log, set the stop event, and unwind the main thread once."""
        logger.info("Signal %d received, cleaning up", signum)
        self.stop_event.stop(signum)
        if not self.raised and not self.shielded:
            self.raised = True
            raise JobStopped(signum)


@contextlib.contextmanager
def stop_on_signals(stop_event: StopEvent) -> Iterator[SignalGuard]:
    """Install the SIGTERM/SIGINT handlers for the duration of a job (main thread only)."""
    guard = SignalGuard(stop_event)
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    previous = {s: signal.signal(s, guard.handle) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield guard
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def report_success() -> int:
    """Log Clarify's success line; return exit code 0."""
    logger.info("exit_message: %s", SUCCESS_MESSAGE)
    return EXIT_OK


def report_failure(
    exc: BaseException,
    stop_event: StopEvent | None = None,
    *,
    create_message: bool = False,
    full_traceback: bool = False,
) -> int:
    """Log ``exc``, write ``/opt/ml/output/message`` and return the exit code.

    ``full_traceback`` logs the traceback of every failure (the processing job does, like
    Clarify); otherwise only internal errors get one. ``create_message`` creates the
    ``output`` folder if needed (the processing job always writes the message).
    """
    signum = stop_event.signum if stop_event is not None and stop_event.is_set() else None
    if signum is None and stop_event is not None and stop_event.is_set():
        signum = signal.SIGTERM
    outcome = failure_outcome(exc, signum=signum)
    stopped = outcome.exit_code > 128
    if outcome.exit_code == EXIT_INTERNAL_ERROR:
        logger.error("Internal error:\n%s", "".join(traceback.format_exception(exc)).rstrip())
    elif not stopped:
        if full_traceback:
            logger.error("%s", "".join(traceback.format_exception(exc)).rstrip())
        logger.error("%s", outcome.message)
    logger.info("exit_message: %s", outcome.message)
    try:
        write_exit_message(outcome.message, create=create_message)
    except OSError as err:
        logger.warning("Could not write the exit message: %s", err)
    return outcome.exit_code


def exit_process(code: int) -> NoReturn:
    """End the process with ``code``; after a stop (128+N), at once.

    A stopped job has already stopped its endpoint, removed its staging folder and written
    its message; what may remain are model requests blocked on a stalled endpoint, which the
    interpreter would otherwise wait for (up to the request timeout) before exiting.
    """
    if code > 128:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def cleanup_endpoints() -> None:
    """Tear down anything a shadow-endpoint backend left running (never raises)."""
    registry = sys.modules.get("container.endpoints.registry")
    if registry is not None:  # a backend was used by this process
        registry.cleanup_all()
    backend = sys.modules.get("container.endpoints.docker_backend")
    if backend is not None:  # Docker was used by this process: remove its labelled leftovers
        with contextlib.suppress(Exception):
            backend.remove_leftovers()
