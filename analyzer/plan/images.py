"""Image SHAP (``dataset_type: application/x-image`` + ``methods.shap.image_config``) in the plan.

:class:`ImageShapJob` holds every setting of an image explanation job, resolved with Clarify's
defaults (contract §2.4, spec §2.2): ``num_segments`` 20, ``segment_compactness`` 5,
``feature_extraction_method`` ``"segmentation"``, ``max_objects`` 3, ``iou_threshold`` 0.5,
``context`` 1.0 and the top-level ``probability_threshold`` 0.5. :func:`plan_image_job` finds
every problem that can be found without the images and the model, so ``clarify-runner
validate`` reports them before any endpoint starts: a missing or unknown ``model_type``, values
out of range, a tabular ``baseline``, a request or response format images cannot use, methods
that need tabular data, a missing ``image`` extra. :func:`image_dataset_plan` is the dataset
part of the plan (no columns: the images are listed when the dataset is loaded).

Imports other than the standard library and :mod:`analyzer.plan.defaults` happen inside the
functions: :mod:`analyzer.plan.model` imports this module and must stay pure data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analyzer.plan.defaults import DEFAULT_PROBABILITY_THRESHOLD, DEFAULT_USE_LOGIT

if TYPE_CHECKING:  # pragma: no cover
    from analyzer.config import AnalysisConfig
    from analyzer.plan.model import ClientSettings, DatasetPlan

__all__ = [
    "IMAGE_DATASET_TYPE",
    "ImageShapJob",
    "image_dataset_plan",
    "is_image_job",
    "plan_image_job",
]

IMAGE_DATASET_TYPE = "application/x-image"
IMAGE_CLASSIFICATION = "IMAGE_CLASSIFICATION"
OBJECT_DETECTION = "OBJECT_DETECTION"
#: ``image_config`` defaults (Clarify's, contract §2.4).
DEFAULT_NUM_SEGMENTS = 20
DEFAULT_SEGMENT_COMPACTNESS = 5.0
DEFAULT_FEATURE_EXTRACTION_METHOD = "segmentation"
DEFAULT_MAX_OBJECTS = 3
DEFAULT_IOU_THRESHOLD = 0.5
DEFAULT_CONTEXT = 1.0
#: Request formats an image model can take (spec §2.3): one image per request, or an N×H×W×3 batch.
IMAGE_CONTENT_TYPES = ("image/jpeg", "image/png", "application/x-npy")
#: Response formats the image client parses (detections need JSON or JSON Lines).
_CLASSIFY_ACCEPT_TYPES = ("application/json", "application/jsonlines", "text/csv")
_DETECT_ACCEPT_TYPES = ("application/json", "application/jsonlines")
_KEY = "methods.shap.image_config"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageShapJob:
    """``methods.shap`` with ``image_config``: Kernel SHAP over SLIC superpixels of each image.

    ``baseline_uri`` is the mask image (``None``: Clarify's white noise). ``num_samples`` is
    the number of coalitions per explained image or object (``None``: ``2M + 2048`` capped at
    ``2^M - 2``). ``use_logit`` applies to classification scores only. ``label_headers`` names
    the classes (IC: one per score; OD: indexed by class id).
    """

    model_type: str
    num_segments: int = DEFAULT_NUM_SEGMENTS
    segment_compactness: float = DEFAULT_SEGMENT_COMPACTNESS
    feature_extraction_method: str = DEFAULT_FEATURE_EXTRACTION_METHOD
    max_objects: int = DEFAULT_MAX_OBJECTS
    iou_threshold: float = DEFAULT_IOU_THRESHOLD
    context: float = DEFAULT_CONTEXT
    probability_threshold: float = DEFAULT_PROBABILITY_THRESHOLD
    num_samples: int | None = None
    seed: int | None = None
    use_logit: bool = DEFAULT_USE_LOGIT
    baseline_uri: str | None = None
    label_headers: tuple[str, ...] | None = None

    @property
    def needs_model(self) -> bool:
        """Image SHAP always calls the model."""
        return True

    @property
    def is_detection(self) -> bool:
        """True for ``OBJECT_DETECTION``."""
        return self.model_type == OBJECT_DETECTION


def is_image_job(cfg: AnalysisConfig) -> bool:
    """Whether ``cfg`` asks for image explanations (image dataset or ``image_config``)."""
    shap = cfg.methods.shap
    return cfg.dataset_type.lower() == IMAGE_DATASET_TYPE or (
        shap is not None and shap.image_config is not None
    )


def image_dataset_plan(cfg: AnalysisConfig, data_uri: str) -> DatasetPlan:
    """The dataset part of an image job's plan: where the images are; no columns."""
    from analyzer.plan.model import DatasetPlan

    return DatasetPlan(
        uri=data_uri,
        dataset_type=IMAGE_DATASET_TYPE,
        headers=None,
        features=None,
        label_expression=None,
        predicted_label_expression=None,
        hint_names=(),
        columns=(),
        feature_columns=(),
    )


def _in_range(value: float, low: float, high: float) -> bool:
    return low <= value <= high


def plan_image_job(
    cfg: AnalysisConfig, client: ClientSettings | None, problems: list[str]
) -> ImageShapJob | None:
    """The :class:`ImageShapJob` of ``cfg``, or ``None`` with every problem appended to ``problems``."""
    from analyzer.extras import MissingExtraError, require

    found: list[str] = []
    shap = cfg.methods.shap
    image = shap.image_config if shap is not None else None
    if cfg.dataset_type.lower() != IMAGE_DATASET_TYPE:
        found.append(f"{_KEY}: needs dataset_type {IMAGE_DATASET_TYPE}, not {cfg.dataset_type}")
    for key in ("pre_training_bias", "post_training_bias", "pdp", "asymmetric_shapley_value"):
        if getattr(cfg.methods, key) is not None:
            found.append(f"methods.{key}: not available for dataset_type {IMAGE_DATASET_TYPE} (images)")
    if shap is None or image is None:
        if shap is not None:
            found.append(f"{_KEY}: required for dataset_type {IMAGE_DATASET_TYPE} (set its model_type)")
        problems += found
        return None
    if image.debug is not None:
        log.warning("%s.debug is an undocumented SDK schema key; it is ignored", _KEY)
    try:
        require("image", "Image explanations (dataset_type application/x-image)")
    except MissingExtraError as exc:
        found.append(str(exc))
    model_type = image.model_type
    if model_type is None:
        found.append(f"{_KEY}.model_type: required, IMAGE_CLASSIFICATION or OBJECT_DETECTION")
    elif model_type not in (IMAGE_CLASSIFICATION, OBJECT_DETECTION):
        found.append(
            f"{_KEY}.model_type: Clarify SHAP only supports object detection and image classification "
            "methods. Please set model_type to OBJECT_DETECTION or IMAGE_CLASSIFICATION."
        )

    def pick(value: float | int | None, default: float | int) -> float | int:
        return default if value is None else value

    num_segments = int(pick(image.num_segments, DEFAULT_NUM_SEGMENTS))
    compactness = float(pick(image.segment_compactness, DEFAULT_SEGMENT_COMPACTNESS))
    method = image.feature_extraction_method or DEFAULT_FEATURE_EXTRACTION_METHOD
    max_objects = int(pick(image.max_objects, DEFAULT_MAX_OBJECTS))
    iou = float(pick(image.iou_threshold, DEFAULT_IOU_THRESHOLD))
    context = float(pick(image.context, DEFAULT_CONTEXT))
    threshold = float(pick(cfg.probability_threshold, DEFAULT_PROBABILITY_THRESHOLD))
    if num_segments < 1:
        found.append(f"{_KEY}.num_segments: must be at least 1, got {num_segments}")
    if compactness <= 0:
        found.append(f"{_KEY}.segment_compactness: must be greater than 0, got {compactness:g}")
    if method != DEFAULT_FEATURE_EXTRACTION_METHOD:
        found.append(f"{_KEY}.feature_extraction_method: {method!r} is not supported; use 'segmentation'")
    if max_objects < 1:
        found.append(f"{_KEY}.max_objects: must be at least 1, got {max_objects}")
    if not _in_range(iou, 0.0, 1.0):
        found.append(f"{_KEY}.iou_threshold: must be between 0 and 1, got {iou:g}")
    if not _in_range(context, 0.0, 1.0):
        found.append(f"{_KEY}.context: must be between 0 and 1, got {context:g}")
    if not _in_range(threshold, 0.0, 1.0):
        found.append(f"probability_threshold: must be between 0 and 1 for images, got {threshold:g}")
    if shap.baseline is not None and not isinstance(shap.baseline, str):
        found.append(
            f"methods.shap.baseline: for dataset_type {IMAGE_DATASET_TYPE} give the S3 URI (or path) of a "
            f"mask image, not {type(shap.baseline).__name__}; leave it out for Clarify's white-noise baseline"
        )
    if shap.num_clusters is not None:
        found.append("methods.shap.num_clusters: not used for images (the baseline is a mask image)")
    if client is not None:
        if client.content_type not in IMAGE_CONTENT_TYPES:
            found.append(
                f"predictor.content_type: {client.content_type} cannot carry images; "
                f"use one of {', '.join(IMAGE_CONTENT_TYPES)}"
            )
        accepted = _DETECT_ACCEPT_TYPES if model_type == OBJECT_DETECTION else _CLASSIFY_ACCEPT_TYPES
        if client.response_type not in accepted:
            found.append(
                f"predictor.accept_type: {client.response_type} cannot carry "
                f"{'object detections' if model_type == OBJECT_DETECTION else 'class scores'}; "
                f"use one of {', '.join(accepted)}"
            )
    if found or model_type is None:
        problems += found
        return None
    headers = cfg.predictor.label_headers if cfg.predictor is not None else None
    return ImageShapJob(
        model_type=model_type,
        num_segments=num_segments,
        segment_compactness=compactness,
        feature_extraction_method=method,
        max_objects=max_objects,
        iou_threshold=iou,
        context=context,
        probability_threshold=threshold,
        num_samples=shap.num_samples,
        seed=shap.seed,
        use_logit=DEFAULT_USE_LOGIT if shap.use_logit is None else shap.use_logit,
        baseline_uri=shap.baseline if isinstance(shap.baseline, str) else None,
        label_headers=tuple(str(h) for h in headers) if headers else None,
    )
