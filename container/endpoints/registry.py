"""Process-wide record of what the shadow-endpoint backends started and not yet stopped.

Every backend registers an undo callable as soon as it has started something (a container,
a subprocess, an endpoint) and removes it once it has torn it down. The processing job calls
:func:`cleanup_all` at exit, so even a teardown cut short (a second signal, an error inside a
``finally``) leaves nothing running.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pending: dict[int, tuple[str, Callable[[], None]]] = {}
_ids = itertools.count()


def register(what: str, undo: Callable[[], None]) -> int:
    """Record ``undo`` (which stops ``what``); return a token for :func:`done`."""
    token = next(_ids)
    with _lock:
        _pending[token] = (what, undo)
    return token


def done(token: int) -> None:
    """Forget the undo of ``token`` (the resource was torn down)."""
    with _lock:
        _pending.pop(token, None)


def pending() -> list[str]:
    """Descriptions of what is still running."""
    with _lock:
        return [what for what, _ in _pending.values()]


def cleanup_all() -> int:
    """Run every pending undo (newest first); return how many ran. Errors are logged."""
    with _lock:
        items = sorted(_pending.items(), reverse=True)
        _pending.clear()
    for _, (what, undo) in items:
        try:
            logger.info("Cleaning up %s", what)
            undo()
        except Exception as exc:  # noqa: BLE001 - keep cleaning the rest
            logger.warning("Could not clean up %s: %s", what, exc)
    return len(items)
