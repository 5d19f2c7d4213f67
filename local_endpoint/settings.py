"""Every environment variable the model server reads, in one place.

:data:`VARIABLES` lists them (name, default, meaning; the README's table is checked against
it) and :func:`server_settings` reads them into a typed, frozen :class:`ServerSettings`.
The environment is read at each call (worker processes and tests see the current values).
This module imports nothing from ``analyzer``: the model server stands alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["VARIABLES", "EnvVar", "ServerSettings", "server_settings"]


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: its name, default (as text, ``None``: unset) and meaning."""

    name: str
    default: str | None
    meaning: str


MODEL_DIR = EnvVar("CLARIFY_RUNNER_MODEL_DIR", "/opt/ml/model", "Model server: the model folder.")
PORT = EnvVar("SAGEMAKER_BIND_TO_PORT", "8080", "Model server: the port to listen on.")
WORKERS = EnvVar(
    "SAGEMAKER_MODEL_SERVER_WORKERS",
    None,
    "Model server: worker processes (default: the CPU count, at most 4).",
)
MAX_CONTENT_LENGTH = EnvVar(
    "MAX_CONTENT_LENGTH", str(6 * 1024 * 1024), "Model server: largest request body, in bytes (413 above)."
)
DEFAULT_ACCEPT = EnvVar(
    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT",
    None,
    "Model server: response type when a request has no `Accept`.",
)
INFERENCE_OUTPUT = EnvVar(
    "SAGEMAKER_INFERENCE_OUTPUT",
    None,
    "Model server: what a classifier returns, e.g. `predicted_label,probability` (XGBoost container keys).",
)
INLINE_MAX_BYTES = EnvVar(
    "CLARIFY_RUNNER_INLINE_MAX_BYTES",
    str(256 * 1024),
    "Model server: requests up to this size are predicted on the event loop (no thread hop).",
)
MODEL_FLAVOR = EnvVar(
    "CLARIFY_RUNNER_MODEL_FLAVOR", None, "Model server: force the model flavour (sklearn, xgboost, lightgbm)."
)
MODEL_FILE = EnvVar(
    "CLARIFY_RUNNER_MODEL_FILE", None, "Model server: the model file to load inside the folder."
)
SKOPS_TRUSTED = EnvVar(
    "CLARIFY_RUNNER_SKOPS_TRUSTED",
    None,
    "Model server: comma-separated types a `.skops` model may hold beyond skops' defaults (`*`: all).",
)

#: Every variable read by ``local_endpoint``, in README order.
VARIABLES: tuple[EnvVar, ...] = (
    MODEL_DIR, PORT, WORKERS, MAX_CONTENT_LENGTH, DEFAULT_ACCEPT, INFERENCE_OUTPUT, INLINE_MAX_BYTES,
    MODEL_FLAVOR, MODEL_FILE, SKOPS_TRUSTED,
)  # fmt: skip


@dataclass(frozen=True)
class ServerSettings:
    """The typed values of :data:`VARIABLES` (``None``: unset and without default)."""

    model_dir: Path
    port: int
    workers: int | None
    max_content_length: int
    default_accept: str | None
    inference_output: str | None
    inline_max_bytes: int
    model_flavor: str | None
    model_file: str | None
    skops_trusted: frozenset[str]


def _text(env: Mapping[str, str], var: EnvVar) -> str | None:
    value = env.get(var.name)
    return value if value else var.default


def _int(env: Mapping[str, str], var: EnvVar) -> int | None:
    text = _text(env, var)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"Environment variable {var.name} must be an integer, got {text!r}") from None


def _required_int(env: Mapping[str, str], var: EnvVar) -> int:
    value = _int(env, var)
    assert value is not None, f"{var.name} has no default"
    return value


def server_settings(environ: Mapping[str, str] | None = None) -> ServerSettings:
    """Read :data:`VARIABLES` from ``environ`` (default: ``os.environ``)."""
    env = os.environ if environ is None else environ
    trusted = _text(env, SKOPS_TRUSTED) or ""
    return ServerSettings(
        model_dir=Path(_text(env, MODEL_DIR) or "/opt/ml/model"),
        port=_required_int(env, PORT),
        workers=_int(env, WORKERS),
        max_content_length=_required_int(env, MAX_CONTENT_LENGTH),
        default_accept=_text(env, DEFAULT_ACCEPT),
        inference_output=_text(env, INFERENCE_OUTPUT),
        inline_max_bytes=_required_int(env, INLINE_MAX_BYTES),
        model_flavor=(_text(env, MODEL_FLAVOR) or "").strip().lower() or None,
        model_file=_text(env, MODEL_FILE),
        skops_trusted=frozenset(t.strip() for t in trusted.split(",") if t.strip()),
    )
