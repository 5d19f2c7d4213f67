"""Import, in a background thread, the libraries a job will need later, while it waits for its endpoint.

A job spends its first seconds waiting for the shadow endpoint to answer ``/ping``; its own
process is idle then. The report's libraries (matplotlib, WeasyPrint, Jinja2, nbformat: about
1.5 s of imports) and the explanations' (scikit-learn's KMeans for the SHAP baseline: about a
second) would otherwise be imported on the critical path, when the report and SHAP phases start.
:func:`preload_for` starts one daemon thread that imports them; a later ``import`` of a module
the thread is importing waits for it (Python's per-module import locks) and then finds it loaded.
A module that fails to import is skipped silently: the real import later raises the error
where it belongs (for example :class:`analyzer.extras.MissingExtraError` first).

When the endpoint is already running (``--endpoint-url``, an existing ``endpoint_name``) there
is no wait to fill, and importing in the background would slow the start-up path by taking the
interpreter lock from it; :func:`preload_for` with ``after_first_request=True`` makes the thread
wait until the model client has sent its first request (:func:`first_request_sent`), then
import while the job waits for model answers.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable
from typing import Protocol

log = logging.getLogger(__name__)

__all__ = [
    "EXPLAIN_MODULES",
    "REPORT_MODULES",
    "TEXT_MODULES",
    "first_request_sent",
    "TIME_SERIES_MODULES",
    "modules_for",
    "preload",
    "preload_for",
]

#: Set once this process has sent its first model request.
_FIRST_REQUEST = threading.Event()

#: What the report needs (``methods.report``).
REPORT_MODULES = (
    "matplotlib.figure",
    "matplotlib.font_manager",
    "jinja2",
    "nbformat",
    "weasyprint",
    "analyzer.report.document",
    "analyzer.report.html_render",
    "analyzer.report.notebook",
    "analyzer.report.pdf_render",
)
#: What SHAP and PDP need (``methods.shap``, ``methods.pdp``).
EXPLAIN_MODULES = ("analyzer.explain",)
#: What text SHAP needs besides (``methods.shap.text_config``): spaCy takes seconds to import.
TEXT_MODULES = ("analyzer.text_job", "spacy")
#: What time-series explanations need (``methods.asymmetric_shapley_value``): the estimator,
#: the forecast client and their numba/scikit-learn imports, about 2 s.
TIME_SERIES_MODULES = ("analyzer.time_series",)
#: The report's time-series section (``methods.report`` with time series).
TIME_SERIES_REPORT_MODULES = ("analyzer.report.time_series",)


class _Methods(Protocol):
    @property
    def shap(self) -> object | None: ...

    @property
    def pdp(self) -> object | None: ...

    @property
    def report(self) -> object | None: ...


class _Config(Protocol):
    @property
    def methods(self) -> _Methods: ...


def first_request_sent() -> None:
    """Called by the model client when its first request is on its way (idempotent)."""
    _FIRST_REQUEST.set()


def _import_all(modules: tuple[str, ...], after: threading.Event | None = None) -> None:
    if after is not None:
        after.wait()
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the real import raises it later, where it belongs
            log.debug("preload: %s not imported (%s: %s)", name, type(exc).__name__, exc)


def preload(modules: Iterable[str], after: threading.Event | None = None) -> threading.Thread:
    """Start a daemon thread that imports ``modules`` in order (once ``after`` is set, if given);
    returns it (already started)."""
    thread = threading.Thread(
        target=_import_all, args=(tuple(modules), after), name="clarify-runner-preload", daemon=True
    )
    thread.start()
    return thread


def modules_for(cfg: _Config) -> list[str]:
    """The modules the methods of ``cfg`` will import (explanations first: they run first)."""
    methods = cfg.methods
    modules: list[str] = []
    if methods.shap is not None or methods.pdp is not None:
        modules += EXPLAIN_MODULES
    if getattr(methods.shap, "text_config", None) is not None:
        modules += TEXT_MODULES
    time_series = getattr(methods, "asymmetric_shapley_value", None) is not None
    if time_series:
        modules += TIME_SERIES_MODULES
    if methods.report is not None:
        modules += REPORT_MODULES
        if time_series:
            modules += TIME_SERIES_REPORT_MODULES
    return modules


def preload_for(cfg: _Config, *, after_first_request: bool = False) -> threading.Thread | None:
    """Start importing what the methods of ``cfg`` need; call it before starting the endpoint.

    ``after_first_request``: wait for the model client's first request before importing (the
    endpoint is already up, so the start-up path is not slowed down).
    """
    modules = modules_for(cfg)
    if not modules:
        return None
    return preload(modules, _FIRST_REQUEST if after_first_request else None)
