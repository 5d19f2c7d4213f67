"""Generated images of coloured shapes, and small image model folders, for tests and examples.

* :func:`shape_image` draws one shape (circle, square or triangle) on a light grey textured
  background; :func:`classification_set` draws a labelled set.
* :func:`write_image_classifier_dir` trains a scikit-learn logistic regression on
  :func:`~local_endpoint.image_models.classifier_features` of generated images (which colour
  is the shape: red, green or blue?) and writes ``classifier.skops`` + ``image_model.json``.
* :func:`write_shape_detector_dir` writes the manifest of the coloured-shape detector.

Everything is deterministic for a given seed and runs on CPU in a few seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from local_endpoint.image_models import CLASSIFIER, DETECTOR, MANIFEST, classifier_features

SHAPES = ("circle", "square", "triangle")
#: The detector's classes, in class-id order, and the colours the examples draw them with.
COLOURS = {"red": (215, 35, 40), "green": (35, 180, 55), "blue": (40, 65, 215)}


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A light grey, slightly textured (unsaturated) background (H, W, 3) uint8."""
    grey = rng.normal(175.0, 4.0, size=(height, width, 1))
    tint = rng.normal(0.0, 1.5, size=(height, width, 3))
    return np.clip(grey + tint, 0, 255).astype(np.uint8)


def draw_shape(
    image: np.ndarray, kind: str, colour: tuple[int, int, int], centre: tuple[float, float], radius: float
) -> tuple[float, float, float, float]:
    """Draw a filled shape onto ``image`` in place; returns its box ``(x0, y0, x1, y1)`` in pixels."""
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    cx, cy = centre
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    if kind == "circle":
        draw.ellipse(box, fill=colour)
    elif kind == "square":
        draw.rectangle(box, fill=colour)
    elif kind == "triangle":
        draw.polygon([(cx, cy - radius), (cx + radius, cy + radius), (cx - radius, cy + radius)], fill=colour)
    else:
        raise ValueError(f"unknown shape {kind!r}; use one of {', '.join(SHAPES)}")
    image[...] = np.asarray(canvas)
    return box


def random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A saturated colour: one strong channel, the others weaker."""
    strong = int(rng.integers(170, 240))
    others = rng.integers(10, 110, size=2)
    channels = [strong, int(others[0]), int(others[1])]
    order = rng.permutation(3)
    return (channels[order[0]], channels[order[1]], channels[order[2]])


def shape_image(
    rng: np.random.Generator, size: int, kind: str, colour: tuple[int, int, int] | None = None
) -> np.ndarray:
    """A size×size image with one shape of a random position, size and (unless given) colour."""
    image = background(rng, size, size)
    radius = float(rng.uniform(0.2, 0.32) * size)
    centre = (float(rng.uniform(radius, size - radius)), float(rng.uniform(radius, size - radius)))
    draw_shape(image, kind, colour or random_colour(rng), centre, radius)
    return image


def jittered(
    rng: np.random.Generator, colour: tuple[int, int, int], spread: int = 25
) -> tuple[int, int, int]:
    """``colour`` with each channel moved by up to ``spread``."""
    moved = np.clip(np.array(colour) + rng.integers(-spread, spread + 1, size=3), 0, 255)
    return (int(moved[0]), int(moved[1]), int(moved[2]))


def classification_set(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (n, size, size, 3) of one random shape each, and their class: the shape's colour.

    Classes index :data:`COLOURS` (red, green, blue); colours are jittered a little.
    """
    rng = np.random.default_rng(seed)
    palette = list(COLOURS.values())
    labels = rng.integers(0, len(palette), size=n)
    shapes = rng.integers(0, len(SHAPES), size=n)
    images = np.stack(
        [
            shape_image(rng, size, SHAPES[s], jittered(rng, palette[k]))
            for k, s in zip(labels, shapes, strict=True)
        ]
    )
    return images, labels


def detection_image(
    rng: np.random.Generator, size: int, objects: list[tuple[str, str]]
) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """An image with ``objects`` ``(shape, colour name)`` placed left to right, and their boxes."""
    image = background(rng, size, size)
    boxes = []
    slot = size / max(len(objects), 1)
    for i, (kind, colour) in enumerate(objects):
        radius = float(min(slot * 0.38, size * 0.3) * rng.uniform(0.8, 1.0))
        cx = slot * (i + 0.5)
        cy = float(rng.uniform(radius + 1, size - radius - 1))
        boxes.append(draw_shape(image, kind, COLOURS[colour], (cx, cy), radius))
    return image, boxes


def write_image_classifier_dir(
    folder: str | Path,
    *,
    n_train: int = 300,
    size: int = 64,
    input_size: tuple[int, int] = (8, 8),
    seed: int = 0,
) -> Path:
    """Train the colour classifier (logistic regression over resized pixels) and write its folder."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = classification_set(n_train, size, seed)
    estimator = LogisticRegression(C=1.0, max_iter=1000)
    estimator.fit(classifier_features(images, input_size), labels)
    sio.dump(estimator, folder / "classifier.skops")
    manifest = {
        "kind": CLASSIFIER,
        "estimator": "classifier.skops",
        "input_size": list(input_size),
        "classes": list(COLOURS),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def write_shape_detector_dir(folder: str | Path, **settings: float) -> Path:
    """Write the coloured-shape detector's model folder (``settings`` override its thresholds)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"kind": DETECTOR, "classes": list(COLOURS), **settings}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder
