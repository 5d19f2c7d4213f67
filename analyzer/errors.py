"""Exception types shared by every part of clarify-runner.

The CLI maps them to exit codes: :class:`UserError` (bad config, bad data, a model that
answers badly) exits 1, anything else exits 2. The message of a :class:`UserError` is
what the user reads in the log and in ``/opt/ml/output/message``, so it must name the
key, column or record that caused it.
"""

from __future__ import annotations


class ClarifyRunnerError(Exception):
    """Base class of every error raised on purpose by clarify-runner."""


class UserError(ClarifyRunnerError):
    """A problem the user can fix: bad configuration, bad data, bad model output."""

    exit_code = 1


class ConfigError(UserError):
    """``analysis_config.json`` is not valid JSON or does not match the schema."""


class DatasetError(UserError):
    """The dataset does not match the configuration (missing column, bad record, ...)."""


class ModelError(UserError):
    """The model endpoint failed or answered something that cannot be used."""


class NotSupportedError(UserError):
    """A valid Clarify feature that clarify-runner does not implement yet."""


class MissingDependencyError(UserError):
    """A feature needs an optional package that is not installed (the message names the extra)."""


class InternalError(ClarifyRunnerError):
    """A bug in clarify-runner (exit code 2)."""

    exit_code = 2
