"""Shadow-endpoint names, formed like the real Clarify container's (clarify-contract.md 4.1).

Endpoint: ``<endpoint_name_prefix or "sm-clarify">-<model_name, truncated>-<epoch>-<4 hex>``,
at most 63 characters. Endpoint config: ``sm-clarify-config-<epoch>-<4 hex>``.
"""

from __future__ import annotations

import re
import secrets
import time

MAX_NAME = 63
DEFAULT_PREFIX = "sm-clarify"


def _clean(text: str) -> str:
    """Keep the characters SageMaker allows in names (``[a-zA-Z0-9-]``)."""
    return re.sub(r"[^a-zA-Z0-9-]", "-", text)


def endpoint_name(
    model_name: str, prefix: str | None = None, *, epoch: int | None = None, suffix: str | None = None
) -> str:
    """Name of the shadow endpoint for ``model_name`` (63 characters at most)."""
    epoch = int(time.time()) if epoch is None else epoch
    suffix = secrets.token_hex(2) if suffix is None else suffix
    tail = f"-{epoch}-{suffix}"
    head = _clean(prefix or DEFAULT_PREFIX)[: MAX_NAME - len(tail) - 1]
    room = MAX_NAME - len(head) - len(tail) - 1
    model = _clean(model_name)[: max(room, 0)]
    name = f"{head}-{model}{tail}" if model else f"{head}{tail}"
    return name


def endpoint_config_name(*, epoch: int | None = None, suffix: str | None = None) -> str:
    """Name of the shadow endpoint's endpoint config."""
    epoch = int(time.time()) if epoch is None else epoch
    suffix = secrets.token_hex(2) if suffix is None else suffix
    return f"{DEFAULT_PREFIX}-config-{epoch}-{suffix}"
