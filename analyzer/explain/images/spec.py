"""What an image explanation job computes: :class:`ImageSpec`, resolved and validated from the config.

Defaults are Clarify's (contract §2.4, spec §2.2): ``num_segments`` 20,
``segment_compactness`` 5, ``feature_extraction_method`` ``"segmentation"``, ``max_objects``
3, ``iou_threshold`` 0.5, ``context`` 1.0, top-level ``probability_threshold`` 0.5.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analyzer.errors import ConfigError

if TYPE_CHECKING:
    from analyzer.config import AnalysisConfig

log = logging.getLogger(__name__)

IMAGE_CLASSIFICATION = "IMAGE_CLASSIFICATION"
OBJECT_DETECTION = "OBJECT_DETECTION"
MODEL_TYPES = (IMAGE_CLASSIFICATION, OBJECT_DETECTION)
FEATURE_EXTRACTION_METHODS = ("segmentation",)
_KEY = "methods.shap.image_config"


@dataclass(frozen=True)
class ImageSpec:
    """Resolved ``methods.shap.image_config`` plus the SHAP and predictor settings images use.

    ``label_headers`` names the model's classes (IC: one per score; OD: indexed by class id).
    ``num_samples`` is the number of coalitions per explained image or object (None: shap's
    default ``2M + 2048``, capped at ``2^M - 2``). ``use_logit`` applies to classification
    scores only (a detection that is not found has score 0, which has no logit).
    """

    model_type: str
    num_segments: int = 20
    segment_compactness: float = 5.0
    feature_extraction_method: str = "segmentation"
    max_objects: int = 3
    iou_threshold: float = 0.5
    context: float = 1.0
    probability_threshold: float = 0.5
    num_samples: int | None = None
    seed: int | None = None
    use_logit: bool = False
    label_headers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.model_type not in MODEL_TYPES:
            raise ConfigError(
                "Clarify SHAP only supports object detection and image classification methods. "
                "Please set model_type to OBJECT_DETECTION or IMAGE_CLASSIFICATION."
                f" ({_KEY}.model_type is {self.model_type!r})"
            )
        if self.num_segments < 1:
            raise ConfigError(f"{_KEY}.num_segments must be at least 1, got {self.num_segments}")
        if self.segment_compactness <= 0:
            raise ConfigError(
                f"{_KEY}.segment_compactness must be greater than 0, got {self.segment_compactness}"
            )
        if self.feature_extraction_method not in FEATURE_EXTRACTION_METHODS:
            raise ConfigError(
                f"{_KEY}.feature_extraction_method {self.feature_extraction_method!r} is not supported; "
                f"use {', '.join(FEATURE_EXTRACTION_METHODS)}"
            )
        if self.max_objects < 1:
            raise ConfigError(f"{_KEY}.max_objects must be at least 1, got {self.max_objects}")
        if not 0.0 <= self.iou_threshold <= 1.0:
            raise ConfigError(f"{_KEY}.iou_threshold must be between 0 and 1, got {self.iou_threshold}")
        if not 0.0 <= self.context <= 1.0:
            raise ConfigError(f"{_KEY}.context must be between 0 and 1, got {self.context}")
        if not 0.0 <= self.probability_threshold <= 1.0:
            raise ConfigError(
                f"probability_threshold must be between 0 and 1, got {self.probability_threshold}"
            )
        if self.num_samples is not None and self.num_samples < 1:
            raise ConfigError(f"methods.shap.num_samples must be at least 1, got {self.num_samples}")

    @property
    def is_detection(self) -> bool:
        """True for ``OBJECT_DETECTION``."""
        return self.model_type == OBJECT_DETECTION

    def label(self, index: int) -> str:
        """The name of class ``index``: ``label_headers[index]``, else ``label<index>``."""
        if self.label_headers is not None and 0 <= index < len(self.label_headers):
            return self.label_headers[index]
        return f"label{index}"

    @classmethod
    def from_config(cls, cfg: AnalysisConfig) -> ImageSpec:
        """The spec of ``cfg`` (``methods.shap.image_config`` must be present)."""
        shap = cfg.methods.shap
        image = shap.image_config if shap is not None else None
        if shap is None or image is None:
            raise ConfigError(f"{_KEY} is required for image explanations")
        if image.model_type is None:
            raise ConfigError(f"{_KEY}.model_type is required: IMAGE_CLASSIFICATION or OBJECT_DETECTION")
        if image.debug is not None:
            log.warning("%s.debug is not used (an undocumented SDK schema key); it is ignored", _KEY)
        predictor = cfg.predictor
        headers = predictor.label_headers if predictor is not None else None

        def pick(value: float | int | None, default: float | int) -> float | int:
            return default if value is None else value

        return cls(
            model_type=image.model_type,
            num_segments=int(pick(image.num_segments, 20)),
            segment_compactness=float(pick(image.segment_compactness, 5.0)),
            feature_extraction_method=image.feature_extraction_method or "segmentation",
            max_objects=int(pick(image.max_objects, 3)),
            iou_threshold=float(pick(image.iou_threshold, 0.5)),
            context=float(pick(image.context, 1.0)),
            probability_threshold=float(cfg.effective_probability_threshold),
            num_samples=shap.num_samples,
            seed=shap.seed,
            use_logit=shap.effective_use_logit,
            label_headers=tuple(str(h) for h in headers) if headers else None,
        )
