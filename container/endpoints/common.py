"""Helpers shared by the shadow-endpoint backends: readiness polling and settings."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

from analyzer import settings
from analyzer.errors import ModelError, check_stop
from analyzer.settings import runner_settings

logger = logging.getLogger(__name__)

__all__ = ["LOAD_ERROR_HEADER", "attr", "check_stop", "start_timeout", "wait_for_ping"]

#: ``local_endpoint``'s /ping header when its model failed to load (``local_endpoint.app``;
#: a test checks the two agree). Its body is the server's own error text.
LOAD_ERROR_HEADER = "X-Clarify-Runner-Load-Error"


def start_timeout() -> float:
    """Seconds to wait for a shadow endpoint to become ready (``$CLARIFY_RUNNER_ENDPOINT_TIMEOUT``)."""
    return runner_settings().endpoint_timeout


def attr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` for config objects and plain dicts alike; ``default`` when absent or None."""
    value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return default if value is None else value


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def wait_for_ping(
    urls: Sequence[str],
    *,
    what: str,
    timeout: float | None = None,
    stop_event: threading.Event | None = None,
    alive: Callable[[], str | None] | None = None,
    logs: Callable[[], str] | None = None,
    interval: float = 0.2,
) -> float:
    """Poll ``<url>/ping`` of every URL until each answers 200; return the seconds waited.

    ``alive`` returns an error text when the server died (its log, say); that raises
    :class:`ModelError` at once instead of waiting for the timeout. So does a /ping answered
    with :data:`LOAD_ERROR_HEADER` (a model server reporting its load error; the message is
    the server's text). ``logs`` gives the server's log for the timeout message.
    """
    timeout = start_timeout() if timeout is None else timeout
    start = time.monotonic()
    waiting = list(urls)
    with requests.Session() as session:
        while waiting:
            check_stop(stop_event)
            if alive is not None:
                problem = alive()
                if problem:
                    raise ModelError(f"{what} stopped before it answered /ping:\n{problem}")
            still = []
            for url in waiting:
                try:
                    resp = session.get(url + "/ping", timeout=2)
                except requests.RequestException:
                    still.append(url)
                    continue
                if resp.status_code != 200 and resp.headers.get(LOAD_ERROR_HEADER):
                    raise ModelError(f"{what} failed to start: {resp.text[:2000]}")
                if resp.status_code != 200:
                    still.append(url)
            waiting = still
            if not waiting:
                break
            if time.monotonic() - start > timeout:
                tail = _tail(logs() if logs is not None else "")
                raise ModelError(
                    f"{what} did not answer /ping within {timeout:g} seconds "
                    f"(${settings.ENDPOINT_TIMEOUT.name})" + (f"; its log ends:\n{tail}" if tail else "")
                )
            if stop_event is not None:
                stop_event.wait(interval)
            else:
                time.sleep(interval)
    return time.monotonic() - start
