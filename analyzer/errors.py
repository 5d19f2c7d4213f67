"""The error taxonomy of clarify-runner: what went wrong, whose move it is, and the exit code.

Every failure of a job is one of five kinds. :func:`failure_outcome` maps each to the
process exit code and the text written to ``/opt/ml/output/message`` (SageMaker shows its
first 1 KB as the job's ``FailureReason``); it is the only place where that mapping lives.

* :class:`UserError` (``ConfigError``, ``DatasetError``, ``NotSupportedError``): exit 1,
  ``ClientError: ...`` -- bad config, bad data, an unsupported feature: fix the input.
* :class:`ModelError`: exit 3, ``ClientError: ...`` -- the model or its endpoint failed, did
  not start, or answered something unusable: fix the model (it is the customer's, so
  SageMaker would call it a ClientError too).
* :class:`PlatformError`: exit 4, ``PlatformError: ...`` -- the environment failed: network,
  an endpoint that cannot be reached, AWS or Docker unavailable; often transient, worth a retry.
* any other exception (or :class:`InternalError`): exit 2, ``AlgorithmError: <type>: ...`` --
  a bug in clarify-runner.
* :class:`JobStopped`: exit 128+N (143 for SIGTERM, 130 for SIGINT), ``Stopped: ...`` -- the
  job was asked to stop and wrote no results.

Model and platform errors get their own exit codes so that a pipeline can tell "fix your
config" (1) from "fix your model" (3) from "try again" (4) without parsing the message.
The message of an error is what the user reads, so it names the key, column, record or
endpoint at fault and the fix.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 2
EXIT_MODEL_ERROR = 3
EXIT_PLATFORM_ERROR = 4

SUCCESS_MESSAGE = "Completed: SageMaker XAI Analyzer ran successfully"
STOPPED_MESSAGE = "the job was stopped and wrote no results"


class ClarifyRunnerError(Exception):
    """Base class of every error raised on purpose by clarify-runner."""

    exit_code = EXIT_INTERNAL_ERROR
    prefix = "AlgorithmError"


class UserError(ClarifyRunnerError):
    """A problem the user can fix in the input: configuration, data, an unsupported feature."""

    exit_code = EXIT_USER_ERROR
    prefix = "ClientError"


class ConfigError(UserError):
    """``analysis_config.json`` is not valid JSON, does not match the schema, or does not fit the data."""


class DatasetError(UserError):
    """The dataset does not match the configuration (missing column, bad record, ...)."""


class NotSupportedError(UserError):
    """A valid Clarify feature that clarify-runner does not implement yet."""


class ModelError(ClarifyRunnerError):
    """The model or its endpoint failed, did not start, or answered something that cannot be used."""

    exit_code = EXIT_MODEL_ERROR
    prefix = "ClientError"


class PlatformError(ClarifyRunnerError):
    """The environment failed: network, an unreachable endpoint, AWS or Docker not available."""

    exit_code = EXIT_PLATFORM_ERROR
    prefix = "PlatformError"


class MissingDependencyError(UserError):
    """A feature needs an optional package that is not installed (the message names the extra)."""


class InternalError(ClarifyRunnerError):
    """A bug in clarify-runner (exit code 2)."""


class JobStopped(BaseException):
    """The job was asked to stop (SIGTERM, SIGINT, or its stop event) before it finished.

    A ``BaseException``, like ``KeyboardInterrupt``, so that ``except Exception`` blocks in
    the analysis never swallow it. ``signum`` is the signal that asked for the stop, when known.
    """

    def __init__(self, signum: int | None = None) -> None:
        super().__init__(f"Signal {signum} received" if signum else "Stop requested")
        self.signum = signum


class StopEvent(threading.Event):
    """The job's stop flag: a ``threading.Event`` that also remembers which signal set it."""

    def __init__(self) -> None:
        super().__init__()
        self.signum: int | None = None

    def stop(self, signum: int | None = None) -> None:
        """Ask the job to stop (``signum``: the signal received, if any)."""
        if self.signum is None:
            self.signum = signum
        self.set()


def check_stop(stop_event: threading.Event | None) -> None:
    """Raise :class:`JobStopped` when ``stop_event`` is set (the one stop check of the code base)."""
    if stop_event is not None and stop_event.is_set():
        raise JobStopped(stop_event.signum if isinstance(stop_event, StopEvent) else None)


@dataclass(frozen=True)
class Outcome:
    """How a job ended: the process exit code and the ``/opt/ml/output/message`` text."""

    exit_code: int
    message: str


def failure_outcome(exc: BaseException, *, signum: int | None = None) -> Outcome:
    """The exit code and message for a job that ended with ``exc``.

    ``signum`` is the stop signal received, if any: once a stop was asked for, whatever
    exception the unwinding produced is reported as the stop.
    """
    if isinstance(exc, JobStopped) or signum is not None:
        number = (exc.signum if isinstance(exc, JobStopped) else None) or signum or signal.SIGTERM
        return Outcome(128 + int(number), f"Stopped: Signal {int(number)} received; {STOPPED_MESSAGE}")
    if isinstance(exc, KeyboardInterrupt):
        return Outcome(128 + signal.SIGINT, f"Stopped: interrupted; {STOPPED_MESSAGE}")
    if isinstance(exc, ClarifyRunnerError) and not isinstance(exc, InternalError):
        return Outcome(exc.exit_code, f"{exc.prefix}: {exc}")
    return Outcome(EXIT_INTERNAL_ERROR, f"AlgorithmError: {type(exc).__name__}: {exc}")
