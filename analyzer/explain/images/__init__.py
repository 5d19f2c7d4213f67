"""Image explanations (``methods.shap.image_config``): Kernel SHAP over SLIC superpixels.

Pure computation: superpixels (:mod:`.segments`), detections and IoU matching
(:mod:`.objects`), Kernel SHAP per image or object (:mod:`.engine`), input records and
baselines (:mod:`.records`). The job that runs it from the analysis plan is
:mod:`analyzer.image_job` (images from :mod:`analyzer.datasets.images`, the model through
:class:`analyzer.model_client.images.ImageModelClient`); heat maps, ``explanations_shap/out.jsonl``
and the ``analysis.json`` section are written by :mod:`analyzer.image_outputs`.
"""

from analyzer.explain.images.engine import (
    ExplainedTarget,
    FunctionPredictor,
    ImageBatch,
    ImageExplanation,
    ImagePredictor,
    ImageShapResult,
    explain_image,
    explain_images,
)
from analyzer.explain.images.records import ImageRecord
from analyzer.explain.images.spec import IMAGE_CLASSIFICATION, OBJECT_DETECTION, ImageSpec

__all__ = [
    "IMAGE_CLASSIFICATION",
    "OBJECT_DETECTION",
    "ExplainedTarget",
    "FunctionPredictor",
    "ImageBatch",
    "ImageExplanation",
    "ImagePredictor",
    "ImageRecord",
    "ImageShapResult",
    "ImageSpec",
    "explain_image",
    "explain_images",
]
