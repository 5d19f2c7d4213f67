"""Helpers shared by the shadow-endpoint backends: readiness polling and settings."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

from analyzer.errors import ModelError, check_stop
from analyzer.settings import runner_settings

logger = logging.getLogger(__name__)

__all__ = ["attr", "check_stop", "start_timeout", "wait_for_ping"]


def start_timeout() -> float:
    """Seconds to wait for a shadow endpoint to become ready (``$CLARIFY_RUNNER_ENDPOINT_TIMEOUT``)."""
    return runner_settings().endpoint_timeout


def attr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` for config objects and plain dicts alike; ``default`` when absent or None."""
    value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return default if value is None else value


def wait_for_ping(
    urls: Sequence[str],
    *,
    what: str,
    timeout: float | None = None,
    stop_event: threading.Event | None = None,
    alive: Callable[[], str | None] | None = None,
    interval: float = 0.2,
) -> float:
    """Poll ``<url>/ping`` of every URL until each answers 200; return the seconds waited.

    ``alive`` returns an error text when the server died (its log, say); that raises
    :class:`ModelError` at once instead of waiting for the timeout.
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
                    ok = session.get(url + "/ping", timeout=2).status_code == 200
                except requests.RequestException:
                    ok = False
                if not ok:
                    still.append(url)
            waiting = still
            if not waiting:
                break
            if time.monotonic() - start > timeout:
                raise ModelError(f"{what} did not answer /ping within {timeout:.0f} seconds")
            if stop_event is not None:
                stop_event.wait(interval)
            else:
                time.sleep(interval)
    return time.monotonic() - start
