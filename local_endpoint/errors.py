"""HTTP-level errors of the local endpoint: each carries the status code it answers with."""

from __future__ import annotations


class EndpointError(Exception):
    """A request the endpoint refuses; ``status`` is the HTTP status code sent back."""

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
