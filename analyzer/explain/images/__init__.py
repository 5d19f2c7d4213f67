"""Image explanations (``methods.shap.image_config``): Kernel SHAP over SLIC superpixels.

Typical use (the runner wires these; the model is an
:class:`analyzer.model_client.images.ImageModelClient`)::

    spec = ImageSpec.from_config(cfg)
    baseline = image_baseline(cfg.methods.shap.baseline)    # analyzer.datasets.images
    writer = ImageOutputWriter(output_dir, spec)
    result = explain_images(iter_images(dataset_uri), spec, client, baseline=baseline, on_image=writer.add)
    writer.close()                                        # explanations_shap/out.jsonl
    analysis["explanations"]["image_shap"] = image_section(result, results_path=...)

Pure computation lives in :mod:`.segments`, :mod:`.objects` and :mod:`.engine`; files
(heat maps, ``explanations_shap/out.jsonl``, segment maps) in :mod:`.outputs`.
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
from analyzer.explain.images.outputs import ImageOutputWriter, image_section, write_image_outputs
from analyzer.explain.images.spec import IMAGE_CLASSIFICATION, OBJECT_DETECTION, ImageSpec

__all__ = [
    "IMAGE_CLASSIFICATION",
    "OBJECT_DETECTION",
    "ExplainedTarget",
    "FunctionPredictor",
    "ImageBatch",
    "ImageExplanation",
    "ImageOutputWriter",
    "ImagePredictor",
    "ImageShapResult",
    "ImageSpec",
    "explain_image",
    "explain_images",
    "image_section",
    "write_image_outputs",
]
