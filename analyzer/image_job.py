"""The image SHAP job: runs an :class:`~analyzer.plan.images.ImageShapJob` of the analysis plan.

Glue between the I/O parts (images read one at a time from the dataset location, the mask
image, the model over HTTP or the SageMaker runtime, the output files) and the pure engine
(:mod:`analyzer.explain.images`). Each image's heat maps and segment map are written as soon
as it is explained (its pixels are not kept); ``explanations_shap/out.jsonl`` is written at
the end, and the ``explanations.image_shap`` section of ``analysis.json`` is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.datasets.images import image_baseline, iter_images
from analyzer.explain.images import ImageExplanation, ImagePredictor, ImageRecord, ImageSpec, explain_images
from analyzer.image_outputs import LOCAL_FILE, ImageOutputWriter, image_section
from analyzer.plan.images import ImageShapJob

log = logging.getLogger(__name__)

__all__ = ["ImageShapRun", "image_spec", "run_image_shap"]


def image_spec(job: ImageShapJob) -> ImageSpec:
    """The engine's settings for the plan's image job."""
    return ImageSpec(
        model_type=job.model_type,
        num_segments=job.num_segments,
        segment_compactness=job.segment_compactness,
        feature_extraction_method=job.feature_extraction_method,
        max_objects=job.max_objects,
        iou_threshold=job.iou_threshold,
        context=job.context,
        probability_threshold=job.probability_threshold,
        num_samples=job.num_samples,
        seed=job.seed,
        use_logit=job.use_logit,
        label_headers=job.label_headers,
    )


@dataclass
class ImageShapRun:
    """What one image SHAP run produced: the ``analysis.json`` section and the files written."""

    section: dict[str, Any]
    files: list[Path]


def run_image_shap(
    job: ImageShapJob,
    dataset_uri: str,
    names: list[str],
    model: ImagePredictor,
    output_dir: Path,
    *,
    results_path: str | None = None,
    after_image: Callable[[], None] | None = None,
) -> ImageShapRun:
    """Explain the images ``names`` at ``dataset_uri`` with ``model``; write their files into ``output_dir``.

    ``results_path`` is where ``out.jsonl`` is published (default: its path relative to the
    output folder); ``after_image`` runs after each image (e.g. to stop between images).
    """
    spec = image_spec(job)
    baseline = image_baseline(job.baseline_uri)
    log.info(
        "Image SHAP: %s, %d image(s), %d superpixels requested, compactness %g, baseline %s",
        job.model_type,
        len(names),
        job.num_segments,
        job.segment_compactness,
        job.baseline_uri or "white noise",
    )
    writer = ImageOutputWriter(output_dir, spec)

    def on_image(record: ImageRecord, explanation: ImageExplanation) -> None:
        writer.add(record, explanation)
        if after_image is not None:
            after_image()

    result = explain_images(
        iter_images(dataset_uri, names), spec, model, baseline=baseline, on_image=on_image
    )
    files = writer.close()
    log.info(
        "Explained %d image(s) with %d model rows in %d requests, %.2f s",
        len(result.images),
        result.model_rows,
        result.model_calls,
        result.seconds,
    )
    return ImageShapRun(image_section(result, results_path=results_path or LOCAL_FILE), files)
