"""Image models for the local endpoint: a scikit-learn image classifier and a coloured-shape detector.

A model folder holds an ``image_model.json`` manifest (the file that makes the folder an image
model) and, for the classifier, a skops file:

* ``{"kind": "image_classifier", "estimator": "classifier.skops", "input_size": [24, 24],
  "classes": ["circle", "square", "triangle"]}`` — each image is resized to ``input_size``
  (width, height; Pillow's box filter), scaled to [0, 1] and flattened
  (:func:`classifier_features`), and the estimator's ``predict_proba`` gives the class
  probabilities. Train with the same function (``examples/shapes_images/make_example.py``).
* ``{"kind": "shape_detector", "classes": ["red", "green", "blue"], "min_value": 90,
  "min_margin": 60, "min_area": 30, "area_scale": 100}`` — finds saturated red, green and blue
  blobs (pixels whose strongest channel is at least ``min_value`` and beats the second by
  ``min_margin``; a 3×3 opening removes speckles; connected components of at least
  ``min_area`` pixels). Class id = colour index, score = ``area / (area + area_scale)`` (a
  partly hidden shape scores lower), box = the component's bounding box normalised by the image
  size. Pure numpy/scipy; deterministic.

Answers (``Accept``: ``application/json`` default, ``application/jsonlines``; the classifier
also ``text/csv``): one entry per image — the class probabilities, or the list of detections
``[class_id, score, x0, y0, x1, y1]`` sorted by score — as Clarify expects (spec §2.3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from scipy import ndimage

from local_endpoint.errors import NotAcceptable

MANIFEST = "image_model.json"
CLASSIFIER = "image_classifier"
DETECTOR = "shape_detector"
JSON = "application/json"
JSONLINES = "application/jsonlines"
CSV = "text/csv"


class ImageModel(Protocol):
    """What the endpoint needs from an image model."""

    kind: str
    classes: list[str]

    def predict(self, images: np.ndarray) -> list[Any]: ...


def classifier_features(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(n, H, W, 3) uint8 → (n, width*height*3) float64 in [0, 1]: box-filter resize to ``size``, flatten."""
    from PIL import Image

    width, height = size
    out = np.empty((len(images), height * width * 3), dtype=np.float64)
    for i, image in enumerate(images):
        small = Image.fromarray(np.ascontiguousarray(image)).resize((width, height), Image.Resampling.BOX)
        out[i] = np.asarray(small, dtype=np.float64).reshape(-1) / 255.0
    return out


@dataclass
class ImageClassifier:
    """A scikit-learn classifier over resized pixels (see the module docstring)."""

    estimator: Any
    input_size: tuple[int, int]
    classes: list[str]
    kind: str = CLASSIFIER

    def predict(self, images: np.ndarray) -> list[Any]:
        """Class probabilities, one list per image."""
        proba = np.asarray(self.estimator.predict_proba(classifier_features(images, self.input_size)))
        return proba.tolist()


@dataclass
class ShapeDetector:
    """Finds saturated red/green/blue blobs (see the module docstring)."""

    classes: list[str] = field(default_factory=lambda: ["red", "green", "blue"])
    min_value: int = 90
    min_margin: int = 60
    min_area: int = 30
    area_scale: float = 100.0
    kind: str = DETECTOR

    def colour_masks(self, images: np.ndarray) -> np.ndarray:
        """Bool (n, 3, H, W): pixels whose dominant channel is red, green or blue."""
        x = np.moveaxis(images, 3, 1).astype(np.int16)  # (n, 3, H, W), channels contiguous
        out = np.empty(x.shape, dtype=bool)
        for c in range(3):
            others = np.maximum(x[:, (c + 1) % 3], x[:, (c + 2) % 3])
            out[:, c] = (x[:, c] >= self.min_value) & (x[:, c] - others >= self.min_margin)
        return out

    def predict(self, images: np.ndarray) -> list[Any]:
        """Detections of each image, as lists of ``[class_id, score, x0, y0, x1, y1]`` sorted by score."""
        n, height, width = images.shape[:3]
        n_cls = len(self.classes)
        planes = self.colour_masks(images)[:, :n_cls].reshape(n * n_cls, height, width)
        # one 2-D problem per (image, colour) plane: the structures never connect planes
        square = np.ones((1, 3, 3), dtype=bool)
        cross = np.zeros((3, 3, 3), dtype=bool)
        cross[1] = ndimage.generate_binary_structure(2, 1)
        opened = ndimage.binary_opening(planes, structure=square)
        labels, count = ndimage.label(opened, structure=cross)
        rows: list[list[list[float]]] = [[] for _ in range(n)]
        if count:
            areas = np.bincount(labels.ravel(), minlength=count + 1)
            for k, box in enumerate(ndimage.find_objects(labels), start=1):
                if box is None or areas[k] < self.min_area:
                    continue
                plane, ys, xs = box
                image, cls = divmod(plane.start, n_cls)
                score = float(areas[k] / (areas[k] + self.area_scale))
                rows[image].append(
                    [
                        float(cls),
                        score,
                        xs.start / width,
                        ys.start / height,
                        xs.stop / width,
                        ys.stop / height,
                    ]
                )
        return [sorted(r, key=lambda d: -d[1]) for r in rows]


def load_image_model(manifest: str | Path) -> ImageModel:
    """Load the image model described by an ``image_model.json`` manifest (see the module docstring)."""
    manifest = Path(manifest)
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{manifest}: not a readable JSON manifest: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{manifest}: the manifest must be a JSON object")
    kind = doc.get("kind")
    classes = [str(c) for c in doc.get("classes", [])]
    if kind == CLASSIFIER:
        import skops.io as sio

        path = manifest.parent / str(doc.get("estimator", "classifier.skops"))
        untrusted = sio.get_untrusted_types(file=path)
        if untrusted:
            raise ValueError(
                f"{path.name} holds types skops does not trust by default: {', '.join(untrusted)}"
            )
        estimator = sio.load(path, trusted=[])
        width, height = (int(v) for v in doc.get("input_size", (24, 24)))
        return ImageClassifier(estimator, (width, height), classes)
    if kind == DETECTOR:
        keys = ("min_value", "min_margin", "min_area", "area_scale")
        return ShapeDetector(
            classes=classes or ["red", "green", "blue"], **{k: doc[k] for k in keys if k in doc}
        )
    raise ValueError(f"{manifest}: kind must be {CLASSIFIER!r} or {DETECTOR!r}, got {kind!r}")


def respond(model: ImageModel, images: np.ndarray, accept: str) -> tuple[bytes, str]:
    """Run ``model`` on ``images`` and encode the answers for ``accept`` (``*/*``/empty → JSON)."""
    out_type = accept if accept and accept != "*/*" else JSON
    entries = model.predict(images)
    if out_type == JSON:
        return json.dumps(entries).encode("utf-8"), JSON
    if out_type in (JSONLINES, "application/x-jsonlines"):
        return "".join(json.dumps(e) + "\n" for e in entries).encode("utf-8"), out_type
    if out_type == CSV and model.kind == CLASSIFIER:
        lines = [",".join(repr(float(v)) for v in entry) for entry in entries]
        return ("\n".join(lines) + "\n").encode("utf-8"), CSV
    supported = f"{JSON}, {JSONLINES}" + (f", {CSV}" if model.kind == CLASSIFIER else "")
    raise NotAcceptable(f"Accept {accept!r} is not supported by this {model.kind}; use {supported}")
