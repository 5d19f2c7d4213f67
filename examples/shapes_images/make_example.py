"""Generate the shapes example: a small image set, the two image models, and the analysis configs.

Writes (all deterministic, a few seconds on a CPU):

* ``images/classification/*.png`` — 96x96 images of one red, green or blue shape on a grey
  textured background; ``images/detection/*.png`` — 128x128 images with two or three shapes;
* ``<model-dir>/classifier/`` — the colour classifier (logistic regression over 8x8 box-resized
  pixels, saved with skops, plus ``image_model.json``), trained on 300 generated images;
* ``<model-dir>/detector/`` — the manifest of the coloured-shape detector;
* ``<model-dir>/models.json`` — the models file that maps the configs' ``model_name``
  (``shapes-classifier``, ``shapes-detector``) to those folders, for ``clarify-runner run
  --models-file``;
* ``analysis_config_classification.json`` / ``analysis_config_detection.json`` — Clarify
  configs (``dataset_type: application/x-image``, ``methods.shap.image_config``).

Both models are served by ``local_endpoint`` (``python -m local_endpoint serve --model-dir
<model-dir>/classifier``); they accept ``image/jpeg``, ``image/png`` and ``application/x-npy``.
The drawing and training code is shared with the tests (``tests/_image_models.py``).

Usage: python make_example.py [--model-dir model]; then, for example::

    clarify-runner run --config examples/shapes_images/analysis_config_detection.json \
        --data examples/shapes_images/images/detection --output out/shapes_detection \
        --backend subprocess --models-file model/models.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))  # the test helpers
from _image_models import (  # noqa: E402
    COLOURS,
    SHAPES,
    detection_image,
    jittered,
    shape_image,
    write_image_classifier_dir,
    write_shape_detector_dir,
)

HERE = Path(__file__).resolve().parent
LABELS = list(COLOURS)

CLASSIFICATION_CONFIG = {
    "dataset_type": "application/x-image",
    "methods": {
        "shap": {
            "num_samples": 500,
            "seed": 0,
            "image_config": {
                "model_type": "IMAGE_CLASSIFICATION",
                "num_segments": 20,
                "segment_compactness": 5,
            },
        },
        "report": {"name": "report", "title": "Shapes: image classification explanations"},
    },
    "predictor": {
        "model_name": "shapes-classifier",
        "instance_type": "local",
        "initial_instance_count": 1,
        "content_type": "application/x-npy",
        "label_headers": LABELS,
    },
}

DETECTION_CONFIG = {
    "dataset_type": "application/x-image",
    "probability_threshold": 0.5,
    "methods": {
        "shap": {
            "num_samples": 500,
            "seed": 0,
            "image_config": {
                "model_type": "OBJECT_DETECTION",
                "max_objects": 3,
                "context": 1.0,
                "iou_threshold": 0.5,
                "num_segments": 20,
                "segment_compactness": 5,
            },
        },
        "report": {"name": "report", "title": "Shapes: object detection explanations"},
    },
    "predictor": {
        "model_name": "shapes-detector",
        "instance_type": "local",
        "initial_instance_count": 1,
        "content_type": "application/x-npy",
        "label_headers": LABELS,
    },
}


def write_images(folder: Path) -> list[Path]:
    """The example's image set (classification and detection)."""
    rng = np.random.default_rng(2024)
    written = []
    for i, (shape, colour) in enumerate(zip(SHAPES * 2, LABELS + LABELS[::-1], strict=True)):
        image = shape_image(rng, 96, shape, jittered(rng, COLOURS[colour]))
        written.append(_save(image, folder / "classification" / f"{colour}_{shape}_{i}.png"))
    scenes = [
        [("circle", "red"), ("square", "blue")],
        [("triangle", "green"), ("circle", "blue"), ("square", "red")],
        [("square", "green"), ("triangle", "red")],
    ]
    for i, objects in enumerate(scenes):
        image, _ = detection_image(rng, 128, objects)
        written.append(_save(image, folder / "detection" / f"scene_{i}.png"))
    return written


def write_models_file(model_dir: Path) -> Path:
    """``<model_dir>/models.json``: the configs' model names → the model folders (relative paths)."""
    table = {
        CLASSIFICATION_CONFIG["predictor"]["model_name"]: {"model_data_url": "classifier"},  # type: ignore[index]
        DETECTION_CONFIG["predictor"]["model_name"]: {"model_data_url": "detector"},  # type: ignore[index]
    }
    path = model_dir / "models.json"
    path.write_text(json.dumps(table, indent=4) + "\n", encoding="utf-8")
    return path


def _save(image: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=str(HERE / "model"))
    args = parser.parse_args()
    images = write_images(HERE / "images")
    model_dir = Path(args.model_dir)
    write_image_classifier_dir(model_dir / "classifier")
    write_shape_detector_dir(model_dir / "detector")
    write_models_file(model_dir)
    for name, config in (
        ("analysis_config_classification.json", CLASSIFICATION_CONFIG),
        ("analysis_config_detection.json", DETECTION_CONFIG),
    ):
        (HERE / name).write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")
    print(f"wrote {len(images)} images under {HERE / 'images'}, models under {model_dir}")


if __name__ == "__main__":
    main()
