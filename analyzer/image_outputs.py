"""Image explanation outputs: heat-map JPEGs, per-superpixel values, segment maps, analysis.json.

The output side of :mod:`analyzer.explain.images` (which computes and writes nothing).

Files (relative to the job's output folder):

* ``shap_<stem>.jpeg`` — IMAGE_CLASSIFICATION: the heat map of the predicted class (the
  class with the highest score on the original image). Clarify's IC file names are not
  public; this follows its OD pattern.
* ``shap_<stem>_box<k>_object.jpeg`` — OBJECT_DETECTION: the heat map of the k-th explained
  object (k = 1 for the highest score), and ``<stem>_objects.jpeg``: the image with every
  explained object's box — the names Clarify's OD notebook shows (spec §2.4).
* ``explanations_shap/out.jsonl`` — the per-superpixel SHAP values, one JSON object per image
  (Clarify's name and layout for images are UNVERIFIED; this one follows its text
  ``out.jsonl``: an ``explanations`` list whose ``attributions`` hold one ``attribution`` list
  per superpixel with a ``description``)::

      {"image": "cats/001.jpg", "model_type": "IMAGE_CLASSIFICATION", "height": 224, "width": 224,
       "num_segments": 19, "segments": "explanations_shap/segments/cats_001.png",
       "labels": ["bird", "cat", "dog"],
       "explanations": [{"feature_name": "cats/001.jpg", "data_type": "image",
                         "prediction": [0.1, 0.8, 0.1], "expected_value": [0.3, 0.4, 0.3],
                         "heatmap": "shap_cats_001.jpeg",
                         "attributions": [{"attribution": [0.01, 0.12, -0.02],
                                           "description": {"segment": 0, "pixels": 2650}}, ...]}]}

  For OD there is one ``explanations`` entry per object (``feature_name`` ``box<k>``, an
  ``object`` with ``class_id``, ``label``, ``score``, ``bounding_box``) with one value per attribution.
* ``explanations_shap/segments/<stem>.png`` — the superpixel map: a 16-bit greyscale PNG whose
  pixel value is the superpixel index used in ``out.jsonl``.

The analysis.json section (``explanations.image_shap``; Clarify's CV ``analysis.json`` is
UNVERIFIED) summarises each image and points to ``out.jsonl`` with
``explanation_results_path``, as Clarify's time-series section does.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.errors import InternalError
from analyzer.explain.images.engine import ExplainedTarget, ImageExplanation, ImageShapResult
from analyzer.explain.images.records import ImageRecord
from analyzer.explain.images.spec import ImageSpec
from analyzer.extras import require
from analyzer.image_heatmaps import heatmap_jpeg, objects_jpeg
from analyzer.output import atomic_write_bytes, atomic_write_text, to_json_compatible

SHAP_DIR = "explanations_shap"
LOCAL_FILE = f"{SHAP_DIR}/out.jsonl"
SEGMENTS_DIR = f"{SHAP_DIR}/segments"
SECTION = "image_shap"


def heatmap_name(stem: str, rank: int = 0) -> str:
    """``shap_<stem>.jpeg`` (classification) or ``shap_<stem>_box<rank>_object.jpeg`` (object ``rank``)."""
    return f"shap_{stem}.jpeg" if rank == 0 else f"shap_{stem}_box{rank}_object.jpeg"


def objects_name(stem: str) -> str:
    """``<stem>_objects.jpeg``: the explained objects' boxes."""
    return f"{stem}_objects.jpeg"


def segments_name(stem: str) -> str:
    """``explanations_shap/segments/<stem>.png``: the superpixel map."""
    return f"{SEGMENTS_DIR}/{stem}.png"


def shown_class(explanation: ImageExplanation, target: ExplainedTarget) -> int:
    """The output a heat map shows: the predicted class (IC) or the object's only column (OD)."""
    if target.rank:
        return 0
    return int(np.argmax(target.prediction))


def _object_info(target: ExplainedTarget, spec: ImageSpec) -> dict[str, Any]:
    det = target.detection if target.detection is not None else np.zeros(6)
    return {
        "class_id": int(det[0]),
        "label": spec.label(int(det[0])),
        "score": float(det[1]),
        "bounding_box": [float(v) for v in det[2:6]],
    }


def local_record(explanation: ImageExplanation, spec: ImageSpec) -> dict[str, Any]:
    """The ``out.jsonl`` object of one image (see the module docstring)."""
    pixels = np.bincount(explanation.segments.ravel(), minlength=explanation.num_segments)
    entries = []
    for target in explanation.targets:
        entry: dict[str, Any] = {
            "feature_name": f"box{target.rank}" if target.rank else explanation.name,
            "data_type": "image",
        }
        if target.rank:
            entry["object"] = _object_info(target, spec)
        entry["prediction"] = target.prediction.tolist()
        entry["expected_value"] = target.expected_value.tolist()
        entry["heatmap"] = heatmap_name(explanation.stem, target.rank)
        entry["attributions"] = [
            {
                "attribution": target.values[j].tolist(),
                "description": {"segment": j, "pixels": int(pixels[j])},
            }
            for j in range(explanation.num_segments)
        ]
        entries.append(entry)
    record: dict[str, Any] = {
        "image": explanation.name,
        "model_type": spec.model_type,
        "height": explanation.height,
        "width": explanation.width,
        "num_segments": explanation.num_segments,
        "segments": segments_name(explanation.stem),
    }
    if spec.label_headers is not None:
        record["labels"] = list(spec.label_headers)
    record["explanations"] = entries
    return record


def image_section(result: ImageShapResult, results_path: str | None = None) -> dict[str, Any]:
    """The value of ``explanations.image_shap`` for analysis.json.

    ``results_path`` is where ``out.jsonl`` ends up (e.g. ``s3://<output>/explanations_shap/out.jsonl``);
    without it the path relative to the output folder is written.
    """
    spec = result.spec
    images = []
    for exp in result.images:
        item: dict[str, Any] = {"image": exp.name, "num_segments": exp.num_segments}
        if not spec.is_detection:
            target = exp.targets[0]
            k = shown_class(exp, target)
            item["predicted_label"] = spec.label(k)
            item["score"] = float(target.prediction[k])
            item["expected_value"] = float(target.expected_value[k])
            item["heatmap"] = heatmap_name(exp.stem)
        else:
            item["objects"] = [
                {
                    "box": t.rank,
                    **_object_info(t, spec),
                    "expected_value": float(t.expected_value[0]),
                    "heatmap": heatmap_name(exp.stem, t.rank),
                }
                for t in exp.targets
            ]
            item["objects_image"] = objects_name(exp.stem)
        images.append(item)
    return {
        "model_type": spec.model_type,
        "num_segments": spec.num_segments,
        "segment_compactness": spec.segment_compactness,
        **(
            {"max_objects": spec.max_objects, "iou_threshold": spec.iou_threshold, "context": spec.context}
            if spec.is_detection
            else {}
        ),
        "explanation_results_path": results_path or LOCAL_FILE,
        "images": images,
    }


def segments_png(segments: np.ndarray) -> bytes:
    """The superpixel map (H, W) as a 16-bit greyscale PNG."""
    require("image")
    from PIL import Image

    if segments.max(initial=0) > np.iinfo(np.uint16).max:
        raise InternalError(f"{segments.max()} superpixels do not fit a 16-bit PNG")
    buffer = io.BytesIO()
    Image.fromarray(segments.astype(np.uint16)).save(buffer, format="PNG")
    return buffer.getvalue()


def image_files(record: ImageRecord, explanation: ImageExplanation, spec: ImageSpec) -> dict[str, bytes]:
    """Every file of one image: relative path → content (heat maps, objects image, segment map)."""
    files: dict[str, bytes] = {segments_name(explanation.stem): segments_png(explanation.segments)}
    for target in explanation.targets:
        k = shown_class(explanation, target)
        if target.rank:
            info = _object_info(target, spec)
            title = f"{explanation.name}: box {target.rank}, {info['label']} (score {info['score']:.3f})"
            box = info["bounding_box"]
        else:
            title = f"{explanation.name}: {spec.label(k)} (score {target.prediction[k]:.3f})"
            box = None
        files[heatmap_name(explanation.stem, target.rank)] = heatmap_jpeg(
            record.array, explanation.segments, target.values[:, k], title, box
        )
    if spec.is_detection:
        infos = [_object_info(t, spec) for t in explanation.targets]
        files[objects_name(explanation.stem)] = objects_jpeg(
            record.array,
            [i["bounding_box"] for i in infos],
            [
                f"box{t.rank} {i['label']} {i['score']:.2f}"
                for t, i in zip(explanation.targets, infos, strict=True)
            ],
            f"{explanation.name}: {len(infos)} object(s) explained",
        )
    return files


class ImageOutputWriter:
    """Writes each image's files as soon as it is explained, and ``out.jsonl`` at :meth:`close`."""

    def __init__(self, output_dir: str | Path, spec: ImageSpec) -> None:
        self.output_dir = Path(output_dir)
        self.spec = spec
        self.lines: list[str] = []
        self.written: list[Path] = []

    def add(self, record: ImageRecord, explanation: ImageExplanation) -> list[Path]:
        """Write the heat maps and segment map of one image; remember its ``out.jsonl`` line."""
        if record.name != explanation.name:
            raise InternalError(f"image {record.name} given for the explanation of {explanation.name}")
        paths = [
            atomic_write_bytes(self.output_dir / rel, data)
            for rel, data in image_files(record, explanation, self.spec).items()
        ]
        self.lines.append(json.dumps(to_json_compatible(local_record(explanation, self.spec))))
        self.written.extend(paths)
        return paths

    def close(self) -> list[Path]:
        """Write ``explanations_shap/out.jsonl``; returns every file written."""
        text = "".join(line + "\n" for line in self.lines)
        self.written.append(atomic_write_text(self.output_dir / LOCAL_FILE, text))
        return list(self.written)


def write_image_outputs(
    output_dir: str | Path, result: ImageShapResult, images: Iterable[ImageRecord]
) -> list[Path]:
    """Write every output file of ``result``; ``images`` are the same images again (matched by name)."""
    by_name = {exp.name: exp for exp in result.images}
    writer = ImageOutputWriter(output_dir, result.spec)
    for record in images:
        explanation = by_name.pop(record.name, None)
        if explanation is not None:
            writer.add(record, explanation)
    if by_name:
        raise InternalError(f"no image given for the explanation(s) of {', '.join(sorted(by_name))}")
    return writer.close()
