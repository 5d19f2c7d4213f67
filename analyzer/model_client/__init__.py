"""Model client: serialize rows, call the model endpoint, parse predictions.

Public API::

    from analyzer.model_client import ModelClient, HttpTransport, SageMakerRuntimeTransport
"""

from analyzer.model_client.client import FALLBACK_MESSAGE, ClientStats, ModelClient
from analyzer.model_client.labels import scores_to_labels
from analyzer.model_client.transport import (
    HttpTransport,
    Reply,
    SageMakerRuntimeTransport,
    Transport,
    TransportError,
)

__all__ = [
    "FALLBACK_MESSAGE",
    "ClientStats",
    "HttpTransport",
    "ModelClient",
    "Reply",
    "SageMakerRuntimeTransport",
    "Transport",
    "TransportError",
    "scores_to_labels",
]
