"""What an image explanation computes: :class:`ImageSpec`, the engine's typed settings.

The analysis plan resolves and checks the config (:mod:`analyzer.plan.images`, which names
the keys at fault); the job builds an :class:`ImageSpec` from the plan's ``ImageShapJob``.
The checks here guard the engine's own invariants (``ValueError``) for direct callers.
Defaults are Clarify's (contract §2.4, spec §2.2): ``num_segments`` 20,
``segment_compactness`` 5, ``feature_extraction_method`` ``"segmentation"``, ``max_objects``
3, ``iou_threshold`` 0.5, ``context`` 1.0, ``probability_threshold`` 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_CLASSIFICATION = "IMAGE_CLASSIFICATION"
OBJECT_DETECTION = "OBJECT_DETECTION"
MODEL_TYPES = (IMAGE_CLASSIFICATION, OBJECT_DETECTION)
FEATURE_EXTRACTION_METHODS = ("segmentation",)


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
            raise ValueError(
                f"model_type must be OBJECT_DETECTION or IMAGE_CLASSIFICATION, got {self.model_type!r}"
            )
        if self.num_segments < 1:
            raise ValueError(f"num_segments must be at least 1, got {self.num_segments}")
        if self.segment_compactness <= 0:
            raise ValueError(
                f"segment_compactness must be greater than 0, got {self.segment_compactness}"
            )
        if self.feature_extraction_method not in FEATURE_EXTRACTION_METHODS:
            raise ValueError(
                f"feature_extraction_method {self.feature_extraction_method!r} is not supported; "
                f"use {', '.join(FEATURE_EXTRACTION_METHODS)}"
            )
        if self.max_objects < 1:
            raise ValueError(f"max_objects must be at least 1, got {self.max_objects}")
        if not 0.0 <= self.iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be between 0 and 1, got {self.iou_threshold}")
        if not 0.0 <= self.context <= 1.0:
            raise ValueError(f"context must be between 0 and 1, got {self.context}")
        if not 0.0 <= self.probability_threshold <= 1.0:
            raise ValueError(
                f"probability_threshold must be between 0 and 1, got {self.probability_threshold}"
            )
        if self.num_samples is not None and self.num_samples < 1:
            raise ValueError(f"num_samples must be at least 1, got {self.num_samples}")

    @property
    def is_detection(self) -> bool:
        """True for ``OBJECT_DETECTION``."""
        return self.model_type == OBJECT_DETECTION

    def label(self, index: int) -> str:
        """The name of class ``index``: ``label_headers[index]``, else ``label<index>``."""
        if self.label_headers is not None and 0 <= index < len(self.label_headers):
            return self.label_headers[index]
        return f"label{index}"
