"""Where predictions go: the handle that the job passes to the model client.

A handle names either one or more container base URLs (a shadow endpoint made of local
containers or a ``local_endpoint`` subprocess, or a user's ``--endpoint-url``) or a
SageMaker endpoint name (invoked through the ``sagemaker-runtime`` API).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EndpointHandle:
    """A model endpoint that answers the SageMaker inference contract.

    Attributes:
        urls: Base URLs (``http://host:port``) of the endpoint's replicas; requests go to
            ``<url>/invocations``. Empty when ``endpoint_name`` is used.
        endpoint_name: Name of a SageMaker endpoint, invoked with ``InvokeEndpoint``.
        region: AWS region for ``endpoint_name`` (default: boto3's).
        description: What the endpoint is, for logs and the report.
    """

    urls: tuple[str, ...] = ()
    endpoint_name: str | None = None
    region: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if bool(self.urls) == bool(self.endpoint_name):
            raise ValueError("EndpointHandle needs exactly one of urls or endpoint_name")
