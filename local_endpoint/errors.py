"""Errors of the local endpoint: each carries the HTTP status code it answers with.

``local_endpoint`` depends on nothing in ``analyzer`` or ``container``, so these are its own
types. Callers map them: ``clarify-runner serve`` and the image's ``serve`` role exit 1 on a
:class:`ModelLoadError` (the model folder is the user's), the analyzer's model client sees the
status codes.
"""

from __future__ import annotations


class EndpointError(Exception):
    """Base class: a request the endpoint refuses, or a model it cannot load.

    ``status`` is the HTTP status code sent back.
    """

    status = 500

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The text sent as the response body."""
        return str(self.args[0]) if self.args else self.__class__.__name__


class BadRequest(EndpointError):
    """Unparsable body, wrong feature count, missing target model header (400)."""

    status = 400


class ModelNotFound(EndpointError):
    """``X-Amzn-SageMaker-Target-Model`` names a model that is not in the model folder (404)."""

    status = 404


class NotAcceptable(EndpointError):
    """The ``Accept`` type cannot be produced (406)."""

    status = 406


class PayloadTooLarge(EndpointError):
    """The request body is over the configured limit (413)."""

    status = 413


class UnsupportedMediaType(EndpointError):
    """The ``Content-Type`` cannot be parsed (415)."""

    status = 415


class ModelFailure(EndpointError):
    """The model raised or answered the wrong number of rows (500)."""

    status = 500


class ModelLoadError(EndpointError):
    """The model folder holds no loadable model, or the model file is broken (500).

    Raised at start-up (the server then exits 1) or, for a model of a multi-model folder
    loaded on first use, answered as a :class:`ModelFailure` naming the target model.
    """

    status = 500
