"""Every default of an analysis, in one place (pure constants and rules, no imports).

Where Clarify's sources disagree, the choice and its reason are written next to the value.
The plan builder (:mod:`analyzer.plan.build`) applies these; nothing downstream has a default
of its own for a configured setting.
"""

from __future__ import annotations

#: ``probability_threshold``: score > threshold gives the positive label (spec §2.1).
DEFAULT_PROBABILITY_THRESHOLD = 0.5
#: ``methods.shap.agg_method``.
DEFAULT_AGG_METHOD = "mean_abs"
#: ``methods.shap.use_logit``.
DEFAULT_USE_LOGIT = False
#: ``methods.shap.save_local_shap_values`` when the key is absent. Clarify's analysis-config
#: documentation (the container's contract, also its Model Monitor page) says false; the SDK
#: writes the key explicitly (true by default), so SDK jobs still get ``out.csv``. A config
#: written by hand without the key gets what the container documents: no ``out.csv``.
DEFAULT_SAVE_LOCAL_SHAP_VALUES = False
#: ``--shap-estimator``: the Clarify-identical Kernel SHAP replay (``leverage``: faster to
#: converge, NOT identical to Clarify).
SHAP_ESTIMATORS = ("clarify", "leverage")
DEFAULT_SHAP_ESTIMATOR = "clarify"
#: ``methods.pdp.grid_resolution`` (the SDK's ``PDPConfig`` default; the PDP notebook says 20).
DEFAULT_GRID_RESOLUTION = 15
#: ``methods.pdp.top_k_features``.
DEFAULT_TOP_K_FEATURES = 10
#: ``methods.report.name``.
DEFAULT_REPORT_NAME = "report"
#: ``methods.report.title`` (DOC-2023).
DEFAULT_REPORT_TITLE = "SageMaker Analysis Report"
#: ``--report-tolerance``: bias metrics further than this from their fair value are highlighted.
DEFAULT_REPORT_TOLERANCE = 0.1
#: Name of the predicted-label column taken from ``predicted_label_dataset_uri`` when
#: ``predicted_label`` is not given and the side dataset has several columns.
DEFAULT_PREDICTED_LABEL_NAME = "predicted_label"

# Model client limits (the processing schema has no key for them, spec §2.8).
#: SageMaker's InvokeEndpoint payload limit.
DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: SageMaker's InvokeEndpoint time limit, in seconds.
DEFAULT_REQUEST_TIMEOUT = 60.0
#: Retries of one request after a connection error, a timeout, 429 or 5xx.
DEFAULT_MAX_RETRIES = 5
#: Seconds all model calls of one job may take together (SageMaker's default
#: ``MaxRuntimeInSeconds`` of a processing job).
DEFAULT_MODEL_DEADLINE = 86400.0
#: First and largest wait between retries, in seconds.
DEFAULT_RETRY_BACKOFF = 0.2
DEFAULT_MAX_BACKOFF = 10.0

_TABULAR_REQUEST_TYPES = ("text/csv", "application/jsonlines", "application/json")
_RESPONSE_TYPES = ("text/csv", "application/jsonlines", "application/json")


def request_content_type(content_type: str | None, dataset_type: str) -> str | None:
    """``predictor.content_type``, else the dataset type (``image/jpeg`` for images).

    ``None`` when it cannot be derived (Parquet or capture-JSON dataset without ``content_type``).
    """
    if content_type is not None:
        return content_type.lower()
    dataset_type = dataset_type.lower()
    if dataset_type in _TABULAR_REQUEST_TYPES:
        return dataset_type
    if dataset_type == "application/x-image":
        return "image/jpeg"
    return None


def default_accept_type(content_type: str | None) -> str | None:
    """The response type when ``accept_type`` is absent: the request type (JSON for x-npy and images)."""
    if content_type is None:
        return None
    content_type = content_type.lower()
    if content_type in _RESPONSE_TYPES:
        return content_type
    if content_type == "application/x-npy" or content_type.startswith("image/"):
        return "application/json"
    return None


def response_accept_type(accept_type: str | None, content_type: str | None) -> str | None:
    """``predictor.accept_type``, else :func:`default_accept_type` of the request type."""
    return accept_type.lower() if accept_type is not None else default_accept_type(content_type)
